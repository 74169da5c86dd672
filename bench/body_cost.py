"""CPU to parse one post body of N bytes of one character, through ``flask content check``.

Usage: ``python bench/body_cost.py [KiB,...]`` (default 64,256,1024). Each case is a
content directory with site.yaml and one post whose body is the character repeated;
the figure is the CPU time of the ``content check`` child (user + system), minus that
of the same check over a one-byte body (start-up, imports). Linear parsing means the
1024 KiB figure is about four times the 256 KiB one for every character.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = """title: Bench
base_url: https://bench.example.org
id_authority: bench.example.org,2024
author: Bench
categories: {news: {title: News, description: News}}
"""
CASES = {"&": "&", "U+00A0": "\u00a0", "<": "<", "mixed": "Caf\u00e9 & bar \u00a0<b>x</b> 1 < 2 && "}


def check_cpu(body: str) -> tuple[float, int]:
    """(CPU seconds of one ``content check`` over a post with this body, its exit code)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "site.yaml").write_text(SITE, encoding="utf-8")
        (root / "posts").mkdir()
        (root / "posts" / "p.md").write_text(
            f"---\ntitle: P\ndate: 2024-01-01\ncategories: [news]\n---\n{body}\n", encoding="utf-8"
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "feedsvc", "content", "check", str(root)],
            cwd=ROOT,
            env={**os.environ, "FEEDSVC_CONTENT_DIR": str(root)},
            capture_output=True,
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), proc.returncode


def main() -> None:
    """Print one line per (size, character)."""
    sizes = [int(k) * 1024 for k in (sys.argv[1] if len(sys.argv) > 1 else "64,256,1024").split(",")]
    base, _ = check_cpu("x")
    print(f"start-up: {base:.2f} s CPU (subtracted)")
    for size in sizes:
        for name, unit in CASES.items():
            # between two letters: the front matter splitter strips whitespace (U+00A0 too) at the ends
            body = "x" + (unit * (size // len(unit.encode()) + 1)).encode()[:size].decode("utf-8", "ignore") + "x"
            cpu, code = check_cpu(body)
            print(f"{size // 1024:6d} KiB {name:7s} {max(cpu - base, 0):7.2f} s CPU  exit {code}", flush=True)


if __name__ == "__main__":
    main()
