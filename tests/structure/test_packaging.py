"""pyproject.toml's [project] table: the one release number, and requirements.txt as the dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import feedsvc
from feedsvc import version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_version_is_the_projects() -> None:
    assert feedsvc.__version__ == version.read_version() == PROJECT["version"]


def test_an_installed_package_reads_its_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Installed from a wheel, no pyproject.toml of feedsvc's sits beside the package.
    monkeypatch.setattr(version.metadata, "version", lambda name: {"feedsvc": "9.8.7"}[name])
    assert version.read_version(tmp_path / "pyproject.toml") == "9.8.7"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other"\nversion = "0.1"\n')
    assert version.read_version(tmp_path / "pyproject.toml") == "9.8.7"


def test_the_project_table_is_complete() -> None:
    assert PROJECT["name"] == "feedsvc" and PROJECT["requires-python"] == ">=3.11"
    assert PROJECT["description"] and (ROOT / PROJECT["readme"]).is_file()


def test_the_dependencies_are_requirements_txt_line_by_line() -> None:
    # setuptools reads requirements.txt as the dependencies: every line not a comment is one
    # PEP 508 requirement (an inline comment would break the build).
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "dependencies" in PROJECT["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    lines = [s for line in (ROOT / "requirements.txt").read_text().splitlines() if (s := line.strip()) and not s.startswith("#")]
    assert lines and all(str(Requirement(line)) == line.replace(" ", "") for line in lines)
