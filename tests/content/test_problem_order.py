"""A file's problem is the same at every start: with several unknown fields, the one named does not
follow the process's hash seed (marshmallow gathers unknown keys as a set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from pathlib import Path
from feedsvc.content import load_index
index = load_index(sys.argv[1])
print(json.dumps([[p.path, p.field, p.message] for p in index.problems]))
"""


def test_the_unknown_field_named_is_the_same_whatever_the_hash_seed(site: Any) -> None:
    front = "title: T\ndate: 2021-04-01\ncategories: [statements]\nzeta: 1\ndraf: true\nalpha: 2\nmid: 3\n"
    site.raw("typos.md", f"---\n{front}---\nBody.\n")
    seen = set()
    for seed in range(8):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(site.root)],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        seen.add(json.dumps(json.loads(out)))
    assert len(seen) == 1, seen
    (problem,) = json.loads(seen.pop())
    assert problem[:2] == ["posts/typos.md", "alpha"]  # the unknown keys by name
