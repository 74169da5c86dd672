"""Every content file is parsed inside bounds, and a bound is that file's problem (`file: field: message`).

Through the real interfaces: ``flask content check`` in a subprocess (an exit code of 139
or a hang is a failure, never a pass), the Flask test client's /healthz and API, and a
real gunicorn started with the shipped gunicorn.conf.py.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.gunicorn_server import Server

ROOT = Path(__file__).resolve().parents[2]
HEAD = "---\ntitle: Hostile\ndate: 2021-04-01\ncategories: [statements]\n"
#: Front matter nesting that crashed libyaml's composer (C recursion): 60 KB, under the 64 KiB cap.
DEEP_FLOW = HEAD + "tags: " + "[" * 30_000 + "]" * 30_000 + "\n---\nBody.\n"
#: A YAML "billion laughs" in a few hundred bytes, expanded into the date's error message.
LAUGHS = (
    "---\ntitle: Laughs\ncategories: [statements]\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True))
    + "date: *g\n---\nBody.\n"
)


def check(root: Path, cpu_seconds: int = 120) -> tuple[int, dict[str, str], str]:
    """Run ``flask --app feedsvc content check ROOT``: (exit code, {relpath: 'field: message'}, stdout).

    The child's CPU time is capped (a hang or a quadratic parse ends it, and fails the test).
    """

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))

    env = {**os.environ, "FEEDSVC_CONTENT_DIR": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "feedsvc", "content", "check", str(root)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=cpu_seconds + 60,
        preexec_fn=limit,
    )
    lines: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        path, _, rest = line.partition(": ")
        lines[os.path.relpath(path, root)] = rest
    return proc.returncode, lines, proc.stdout


def healthz(client: Any) -> dict[str, list[str]]:
    """/healthz problems by path: ['field: message', ...]."""
    out: dict[str, list[str]] = {}
    for p in client.get("/healthz").get_json()["problems"]:
        out.setdefault(p["path"], []).append(f"{p['field']}: {p['message']}")
    return out


@pytest.fixture
def tree(site: Any) -> Any:
    """The test site with one good post beside the hostile ones."""
    site.post("good", title="Good post")
    return site


def test_deep_front_matter_nesting_is_a_front_matter_problem_not_a_crash(tree: Any) -> None:
    tree.raw("deep.md", DEEP_FLOW)
    tree.raw("dashes.md", HEAD + "tags:\n  " + "- " * 30_000 + "x\n---\nBody.\n")
    tree.raw("shallow.md", HEAD + "tags: " + "[" * 2_000 + "]" * 2_000 + "\n---\nBody.\n")
    code, lines, out = check(tree.root)
    assert code == 1, out
    for name in ("deep", "dashes", "shallow"):
        assert lines[f"posts/{name}.md"].startswith("front matter: nested more than"), out
    assert "posts/good.md" not in lines


def test_fifo_and_device_post_files_are_reported_without_being_read(tree: Any) -> None:
    os.mkfifo(tree.root / "posts" / "x.md")
    try:  # a /dev/zero-like device: only where this process may create one
        os.mknod(tree.root / "posts" / "zero.md", 0o600 | 0o020000, os.makedev(1, 5))
        devices = ["zero"]
    except PermissionError:
        devices = []
    code, lines, out = check(tree.root, cpu_seconds=60)
    assert code == 1, out
    for name in ("x", *devices):
        assert lines[f"posts/{name}.md"] == "file: not a regular file", out


def test_utf16_and_old_mac_line_endings_are_named_as_such(tree: Any, client: Any) -> None:
    """A post saved as UTF-16 (a Windows editor's "Unicode") or with CR-only line endings said
    'not UTF-8 text (invalid byte at offset 0)' and 'file must start with a '---' line' (it
    does): the message names the encoding or the line endings and what to do."""
    text = HEAD + "---\nBody.\n"
    tree.raw("utf16le.md", text.encode("utf-16"))  # with its byte order mark, as editors write it
    tree.raw("utf16be.md", b"\xfe\xff" + text.encode("utf-16-be"))
    tree.raw("cr.md", text.replace("\n", "\r"))
    tree.raw("crlf.md", text.replace("\n", "\r\n").replace("Hostile", "Windows"))  # CRLF is fine
    tree.raw("utf8bom.md", "\ufeff" + text.replace("Hostile", "Bom"))  # so is UTF-8's byte order mark
    utf16 = "file: is UTF-16 text (it starts with a UTF-16 byte order mark): save it as UTF-8"
    cr = "file: lines end with a lone CR (old Mac line endings): save it with LF or CRLF line endings"
    code, lines, out = check(tree.root)
    assert code == 1, out
    assert lines == {"posts/utf16le.md": utf16, "posts/utf16be.md": utf16, "posts/cr.md": cr}, out
    assert healthz(client) == {"posts/utf16le.md": [utf16], "posts/utf16be.md": [utf16], "posts/cr.md": [cr]}
    titles = {p["title"] for p in client.get("/api/v1/posts").get_json()["items"]}
    assert titles == {"Good post", "Windows", "Bom"}


def test_aliases_never_expand_into_a_message(tree: Any, client: Any) -> None:
    tree.raw("laughs.md", LAUGHS)
    deeper = LAUGHS.replace("date: *g", "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\ndate: *h")
    tree.raw("deeper.md", deeper)
    client.get("/healthz")
    problems = client.get("/healthz").get_json()["problems"]
    by_path = {p["path"]: p for p in problems}
    for name in ("laughs", "deeper"):
        p = by_path[f"posts/{name}.md"]
        assert p["field"] == "front matter" and p["message"].startswith("aliases expand to more than"), p
    assert all(len(p["message"]) <= 300 for p in problems)
    assert len(client.get("/healthz").data) < 10_000


def test_every_problem_message_is_bounded(tree: Any, client: Any) -> None:
    tree.raw("long-date.md", HEAD.replace("date: 2021-04-01", "date: " + "x" * 50_000) + "---\nBody.\n")
    tree.raw(
        "long-list-date.md", HEAD.replace("date: 2021-04-01", "date: [" + ", ".join(["abcdef"] * 7000) + "]") + "---\nBody.\n"
    )
    problems = healthz(client)
    for name in ("long-date", "long-list-date"):
        [message] = problems[f"posts/{name}.md"]
        assert message.startswith("date: ") and len(message) < 320, message


def test_duplicate_keys_are_refused_at_every_level(tree: Any, client: Any) -> None:
    tree.raw("draft.md", HEAD + "draft: true\ndraft: false\n---\nNot for publication.\n")
    tree.raw("event.md", HEAD + "event:\n  start: 2021-05-01T10:00:00Z\n  start: 2021-05-02T10:00:00Z\n---\nBody.\n")
    problems = healthz(client)
    assert problems["posts/draft.md"] == ["front matter: duplicate field 'draft' (line 6)"]
    assert problems["posts/event.md"] == ["front matter: duplicate field 'start' (line 7)"]
    slugs = {p["slug"] for p in client.get("/api/v1/posts").get_json()["items"]}
    assert slugs == {"good"}


def test_site_yaml_is_bounded_and_refuses_duplicate_keys(tree: Any) -> None:
    site_yaml = tree.root / "site.yaml"
    good = site_yaml.read_text(encoding="utf-8")
    site_yaml.write_text(good + "title: Again\n", encoding="utf-8")
    code, lines, out = check(tree.root)
    assert code == 1 and lines["site.yaml"].startswith("site: duplicate field 'title' (line "), out
    site_yaml.write_text(good + "#" * (2 * 1024 * 1024) + "\n", encoding="utf-8")
    code, lines, out = check(tree.root)
    assert code == 1 and lines["site.yaml"] == f"file: is {site_yaml.stat().st_size} bytes; the limit is 1048576", out
    site_yaml.write_text(good + "redirects: " + "[" * 30_000 + "]" * 30_000 + "\n", encoding="utf-8")
    code, lines, out = check(tree.root)
    assert code == 1 and lines["site.yaml"].startswith("site: nested more than 32 levels deep"), out


@pytest.mark.slow
def test_a_big_body_of_ampersands_or_no_break_spaces_is_parsed_in_linear_time(tree: Any) -> None:
    # nh3 was quadratic here: 1 MB of '&' took 10 s, and these 6 MB took minutes. The
    # CPU limit is ten times what the linear parse needs on a slow machine.
    tree.raw("amp.md", HEAD + "---\n" + "&" * 3_000_000 + "\n")
    tree.raw("nbsp.md", HEAD + "---\nx" + "\u00a0" * 1_500_000 + "x\n")  # x: ends are stripped
    code, lines, out = check(tree.root, cpu_seconds=40)
    assert code == 0, out


def test_noncharacter_references_in_a_body_are_dropped_not_a_crash(tree: Any, client: Any) -> None:
    # cmark writes &#xFFFE; as a bare 0xFE byte, which is not UTF-8.
    tree.post("nonchar", body="before &#xFFFE; &#65535; after &amp; &nbsp;")
    assert "posts/nonchar.md" not in healthz(client)
    html = client.get("/api/v1/posts/nonchar").get_json()["content_html"]
    assert html == "<p>before \ufffd \ufffd after &amp; &nbsp;</p>\n"


_HOSTILE_FM = st.one_of(
    st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 20_000).map(lambda n: "{a: " * n + "1" + "}" * n),
    st.integers(1, 20_000).map(lambda n: "- " * n + "x"),
    st.integers(1, 40).map(lambda n: "\n" + "".join(" " * (2 * i + 2) + "a:\n" for i in range(n)) + " " * 90 + "b"),
    st.integers(1, 30).map(lambda n: "&a [x]\n" + "".join(f"k{i}: &a{i} [*a, *a, *a]\n" for i in range(n))),
    st.text(max_size=200),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["tags", "date", "event"]), value=_HOSTILE_FM)
@example(field="date", value="[" * 3_000 + "]" * 3_000)
def test_hostile_front_matter_is_always_this_files_problem(
    make_app: Callable[..., Any], site: Any, field: str, value: str
) -> None:
    site.post("good", title="Good post")
    head = HEAD.replace("date: 2021-04-01\n", "") if field == "date" else HEAD
    site.raw("hostile.md", head + f"{field}: {value}\n---\nBody.\n")
    app = make_app()
    with app.test_client() as client:
        assert client.get("/api/v1/posts/good").status_code == 200
        problems = healthz(client).get("posts/hostile.md", [])
        assert all(len(p) < 420 for p in problems)
        assert not any(p.startswith("body:") for p in problems)


@pytest.fixture
def hostile_server(tree: Any, tmp_path: Path) -> Iterator[Server]:
    tree.raw("deep.md", DEEP_FLOW)
    os.mkfifo(tree.root / "posts" / "x.md")
    server = Server(tree.root, tmp_path / "gunicorn.out")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_gunicorn_serves_the_other_posts_and_names_the_hostile_files(hostile_server: Server) -> None:
    status, _, _ = hostile_server.get("/api/v1/posts/good")
    assert status == 200
    import json

    status, _, body = hostile_server.get("/healthz")
    problems = {p["path"]: f"{p['field']}: {p['message']}" for p in json.loads(body)["problems"]}
    assert problems["posts/x.md"] == "file: not a regular file"
    assert problems["posts/deep.md"].startswith("front matter: nested more than 32 levels deep")
