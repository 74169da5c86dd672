"""docs/design.md's "Layout" tree and the package agree: every module is named there, every name there exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"


def layout_block(text: str) -> str:
    """The first fenced block under the ``## Layout`` heading."""
    section = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "docs/design.md has no '## Layout' section"
    block = re.search(r"^```\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Layout section has no ``` block"
    return block.group(1)


def documented(block: str) -> set[str]:
    """Repository paths the tree names: one entry a line, two spaces of indent per level, dirs end in '/'."""
    stack: list[str] = []
    paths = set()
    for number, line in enumerate(block.splitlines(), 1):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        depth, odd = divmod(indent, 2)
        assert not odd and depth <= len(stack), f"Layout line {number}: bad indent: {line!r}"
        name = line.split()[0]
        del stack[depth:]
        paths.add("".join(stack) + name)
        if name.endswith("/"):
            stack.append(name)
    return paths


def undocumented(package: Path, named: set[str]) -> set[str]:
    """Modules (``__init__.py`` aside) and package directories under ``package`` that ``named`` leaves out."""
    root = package.parent
    wanted = {
        p.relative_to(root).as_posix() for p in package.rglob("*.py") if p.name != "__init__.py" and "__pycache__" not in p.parts
    }
    wanted |= {p.parent.relative_to(root).as_posix() + "/" for p in package.rglob("__init__.py")}
    return wanted - named


def test_every_module_is_in_the_layout() -> None:
    assert undocumented(ROOT / "feedsvc", documented(layout_block(DESIGN.read_text()))) == set()


def test_every_path_in_the_layout_exists() -> None:
    named = documented(layout_block(DESIGN.read_text()))
    assert {"feedsvc/", "feedsvc/content/live.py", "feedsvc/outbox/fediverse/inbox.py"} <= named
    assert {p for p in named if not (ROOT / p).exists() or p.endswith("/") != (ROOT / p).is_dir()} == set()


def test_a_module_added_without_its_line_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / "feedsvc"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__.py", "a.py", "new.py", "sub/__init__.py", "sub/b.py"):
        (pkg / name).write_text("")
    block = "feedsvc/  the package\n  a.py  one\n  sub/  two\n    b.py  three\n"
    assert undocumented(pkg, documented(block)) == {"feedsvc/new.py"}
    assert undocumented(pkg, documented(block.replace("  sub/  two\n    b.py  three\n", ""))) == {
        "feedsvc/new.py",
        "feedsvc/sub/",
        "feedsvc/sub/b.py",
    }


def test_a_bad_indent_is_refused() -> None:
    with pytest.raises(AssertionError, match="bad indent"):
        documented("feedsvc/  the package\n      a.py  too deep\n")
