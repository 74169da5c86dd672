"""``flask activitypub status``: followers by server, each inbox's pending deliveries, last success and error."""

from __future__ import annotations

import time
from collections import defaultdict

import click
from flask.cli import AppGroup

from . import followers
from .delivery import KIND
from .state import fediverse

activitypub_cli = AppGroup("activitypub", help="The fediverse actors: followers and deliveries.")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else "never"


@activitypub_cli.command("status")
def status_command() -> None:
    """Print followers by server, and each inbox's pending count, last success and last error."""
    q = fediverse().queue
    with q.lock:
        rows = followers.of(q.conn)
    by_server: dict[str, list[followers.Follower]] = defaultdict(list)
    for f in rows:
        by_server[f.server].append(f)
    click.echo(f"followers: {len(rows)}")
    for server in sorted(by_server):
        click.echo(f"server {server}: {len(by_server[server])} follower(s)")
        for f in by_server[server]:
            click.echo(f"  {f.follower} follows @{f.actor} (inbox {f.inbox})")
    inboxes = [s for s in q.status() if s.kind == KIND]
    if not inboxes:
        click.echo("no deliveries yet")
    for s in inboxes:
        line = f"inbox {s.dest}: pending {s.depth}, last success {_when(s.last_success)}, last error {s.last_error or 'none'}" + (
            f" at {_when(s.last_error_at)}" if s.last_error else ""
        )
        click.echo(line)
