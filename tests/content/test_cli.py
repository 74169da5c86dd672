"""`flask --app feedsvc content check|new|stats`, through the CLI runner and a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from support.privileges import obeying_modes

from feedsvc.content import load_index

ROOT = Path(__file__).resolve().parents[2]


def test_check_clean_tree_exits_0(site, runner):
    site.post("a")
    result = runner.invoke(args=["content", "check", str(site.root)])
    assert result.exit_code == 0, result.output
    assert "1 posts published, 0 problems" in result.output


def test_check_reports_one_line_per_problem_and_exits_1(site, runner):
    site.post("good")
    site.raw("bad-date.md", "---\ntitle: t\ndate: someday\ncategories: [statements]\n---\n")
    site.raw("bad-yaml.md", "---\ntitle: [\n---\n")
    result = runner.invoke(args=["content", "check", str(site.root)])
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if line]
    assert len(lines) == 2
    assert lines[0].endswith("posts/bad-date.md: date: not an ISO 8601 date or datetime: 'someday'")
    assert "posts/bad-yaml.md: yaml: invalid YAML" in lines[1]


def test_check_prints_each_problem_once(site, tmp_path):
    """As a real command: stdout and stderr together hold each problem exactly once."""
    site.post("good")
    site.raw("bad-date.md", "---\ntitle: t\ndate: someday\ncategories: [statements]\n---\n")
    site.post("twin-a", slug="twin")
    site.post("twin-b", slug="twin")
    env = {**os.environ, "FEEDSVC_RELOAD_INTERVAL": "0", "FEEDSVC_LOG_LEVEL": "DEBUG"}
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "feedsvc", "content", "check", str(site.root)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 1
    both = out.stdout + out.stderr
    for problem in (
        "posts/bad-date.md: date: not an ISO 8601 date or datetime: 'someday'",
        "posts/twin-b.md: slug: 'twin' is already used by posts/twin-a.md",
    ):
        assert both.count(problem) == 1, both
        assert f"{site.root / problem}" in out.stdout.splitlines()
    assert out.stderr.strip() == "2 posts published, 2 problems"


def test_check_broken_site_yaml(site, runner):
    site.write_site(base_url="nope", timezone="Nowhere/Land")
    result = runner.invoke(args=["content", "check", str(site.root)])
    assert result.exit_code == 1
    assert "site.yaml: base_url:" in result.output and "site.yaml: timezone:" in result.output


def test_check_as_a_real_command_on_the_seed_content():
    env = {**os.environ, "FEEDSVC_RELOAD_INTERVAL": "0"}
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "feedsvc", "content", "check", "content"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "5 posts published, 0 problems" in out.stderr


def _check(root: Path, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FEEDSVC_RELOAD_INTERVAL": "0"}
    args = [*prefix, sys.executable, "-m", "flask", "--app", "feedsvc", "content", "check", str(root)]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env)


def test_check_unreadable_posts_directory_is_one_line(site):
    """posts/ that cannot be listed (here a symlink to itself, which stops root too): its name and why, exit 1, no traceback."""
    site.post("good")
    posts = site.root / "posts"
    posts.rename(site.root / "posts.aside")
    posts.symlink_to("posts")
    out = _check(site.root)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.splitlines() == [f"{posts}: file: cannot read: Too many levels of symbolic links"]
    assert "Traceback" not in out.stderr, out.stderr


def test_check_unreadable_subdirectory_is_named_and_the_rest_checked(site):
    """One directory under posts/ that cannot be listed is that directory's problem; every other post is checked."""
    site.post("good")
    site.post("locked/inner")
    locked = site.root / "posts" / "locked"
    locked.chmod(0)
    try:
        out = _check(site.root, obeying_modes())
    finally:
        locked.chmod(0o755)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.splitlines() == [
        f"{locked}: file: cannot read this directory (Permission denied); the posts in it stay as last read until it can be read"
    ]
    assert out.stderr.splitlines()[-1] == "1 posts published, 1 problems", out.stderr
    assert "Traceback" not in out.stderr, out.stderr


def test_check_works_when_the_configured_content_is_broken(tmp_path):
    """The CLI must not need a loadable FEEDSVC_CONTENT_DIR to check another one."""
    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(tmp_path / "missing")}
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "feedsvc", "content", "check", str(ROOT / "content")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_new_writes_a_valid_post(site, runner):
    result = runner.invoke(
        args=[
            "content",
            "new",
            "Statement at the 65th CND",
            "--category",
            "statements",
            "--tag",
            "CND",
            "--tag",
            "Harm Reduction",
            "--date",
            "2022-03-14",
            "--dir",
            str(site.root),
        ]
    )
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip())
    assert path == site.root / "posts" / "2022" / "2022-03-14-statement-at-the-65th-cnd.md"
    front = yaml.safe_load(path.read_text().split("---")[1])
    assert front["categories"] == ["statements"] and front["tags"] == ["CND", "Harm Reduction"]
    idx = load_index(site.root)
    assert idx.problems == ()
    assert idx.get("statement-at-the-65th-cnd").title == "Statement at the 65th CND"


def test_new_event(site, runner):
    result = runner.invoke(
        args=[
            "content",
            "new",
            "Side event",
            "--category",
            "events",
            "--date",
            "2021-03-25",
            "--event-start",
            "2021-04-12T14:00:00+02:00",
            "--event-location",
            "Online",
            "--dir",
            str(site.root),
        ]
    )
    assert result.exit_code == 0, result.output
    post = load_index(site.root).get("side-event")
    assert post.event is not None and post.event.location == "Online"


def test_new_refuses_invalid_and_duplicates(site, runner):
    bad = runner.invoke(args=["content", "new", "X", "--category", "nope", "--dir", str(site.root)])
    assert bad.exit_code != 0 and "unknown category 'nope'" in bad.output
    bad_date = runner.invoke(args=["content", "new", "X", "--category", "events", "--date", "soon", "--dir", str(site.root)])
    assert bad_date.exit_code != 0 and "--date" in bad_date.output
    args = ["content", "new", "Same", "--category", "events", "--date", "2021-01-01", "--dir", str(site.root)]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already" in again.output


def test_stats(site, runner, make_app):
    site.post("a", tags=["x"])
    result = make_app().test_cli_runner().invoke(args=["content", "stats"])
    assert result.exit_code == 0 and "posts: 1" in result.output
