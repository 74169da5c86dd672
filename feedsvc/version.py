"""The release number, from one source: ``version`` in pyproject.toml's ``[project]`` table (a leaf).

Run from its tree (a checkout, or an editable install), feedsvc reads that table itself, so
the number can never be stale; installed from a wheel, there is no pyproject.toml beside
the package and the installed distribution's metadata carries the same number.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

#: pyproject.toml of the tree this package sits in (absent in an installed wheel).
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def read_version(pyproject: Path = PYPROJECT) -> str:
    """The tree's ``[project] version`` when ``pyproject`` is feedsvc's, else the installed metadata's."""
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        project = {}
    if project.get("name") == "feedsvc" and isinstance(project.get("version"), str):
        return str(project["version"])
    return metadata.version("feedsvc")


__version__ = read_version()
