"""`flask --app feedsvc export OUTDIR [--jobs N] [--precompress]`."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .exporter import run_export


@click.command("export")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=None, help="Processes (default: CPU count).")
@click.option("--precompress", is_flag=True, help="Also write feedsvc's gzip (.gz) and Brotli (.br) bytes.")
@with_appcontext
def export_cmd(outdir: Path, jobs: int | None, precompress: bool) -> None:
    """Write every feed, archive, API page, OPML, ICS, HTML page, sitemap and oEmbed answer into OUTDIR, plus nginx.conf."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    t0 = time.monotonic()
    doc = run_export(app, outdir, jobs or os.cpu_count() or 1, precompress)
    wall = time.monotonic() - t0
    n = len(doc["documents"])
    click.echo(
        f"exported {n} documents and {len(doc['redirects'])} redirects to {outdir} in {wall:.1f}s "
        f"({n / max(wall, 1e-6):.0f} files/s); nginx config: {outdir / 'nginx.conf'}",
        err=True,
    )
    sys.stdout.flush()


def init_app(app: Flask) -> None:
    """Register the `export` command."""
    app.cli.add_command(export_cmd)
