"""Newsletter readiness: rss2email polls the RSS feed of a real server into a local aiosmtpd SMTP server.

One mail per new post, carrying the post image by its absolute URL; none for an edit.
Everything stays on loopback: the feed server (werkzeug), the SMTP server, the r2e CLI.
"""

from __future__ import annotations

import configparser
import email
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from support.served import served as served_app

from feedsvc.extensions import state

R2E_BIN = Path(sys.executable).with_name("r2e")


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def served(site: Any, make_app: Any, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """The app on a loopback port (threaded werkzeug), its base_url being that very address."""
    site.post(
        "2024-01-01-older", "An older statement.", title="Older statement", date="2024-01-01T09:00:00Z", image="/media/older.jpg"
    )
    with served_app(lambda base: make_app(BASE_URL=base, INDEX_PATH=str(tmp_path / "index.db"))) as pair:
        yield pair


class Rss2Email:
    """The r2e CLI in a subprocess, with its own configuration and data files (and HOME) under tmp."""

    def __init__(self, root: Path, smtp_port: int) -> None:
        self.root = root
        root.mkdir()
        self.cfg, self.data = root / "r2e.cfg", root / "r2e.json"
        self("new", "editor@example.org")
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(self.cfg, encoding="utf-8")
        parser["DEFAULT"].update(
            {
                "from": "feeds@example.org",
                "email-protocol": "smtp",
                "smtp-server": "127.0.0.1",
                "smtp-port": str(smtp_port),
                "smtp-auth": "False",
                "smtp-ssl": "False",
                "html-mail": "False",
                "feed-timeout": "20",
            }
        )
        with self.cfg.open("w", encoding="utf-8") as f:
            parser.write(f)

    def __call__(self, *args: str) -> str:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(self.root), "LANG": "C.UTF-8"}
        done = subprocess.run(
            [str(R2E_BIN), "-c", str(self.cfg), "-d", str(self.data), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stderr


def body(message: Message) -> str:
    part = message.get_payload(decode=True)
    assert isinstance(part, bytes)
    return part.decode(message.get_content_charset() or "utf-8")


def test_rss2email_sends_one_mail_per_new_post_with_its_image_and_none_for_edits(site, served, inbox, tmp_path) -> None:
    base, app = served
    mails, smtp_port = inbox
    r2e = Rss2Email(tmp_path / "r2e", smtp_port)
    r2e("add", "--only-new", "site", f"{base}/feeds/rss.xml")  # what the feed holds now is not sent
    r2e("run")
    assert mails.messages == []

    site.post(
        "2030-01-01-report",
        "The **report** is out.",
        title="Report launch",
        date="2025-06-02T09:00:00Z",
        image="/media/report.jpg",
        image_alt="The report's cover",
    )
    state(app).live.refresh()
    r2e("run")
    assert [m["Subject"] for m in mails.messages] == ["Report launch"]
    text = body(mails.messages[0])
    assert f"{base}/media/report.jpg" in text  # the image, by its absolute URL
    assert f"{base}/posts/report" in text and mails.messages[0]["To"] == "editor@example.org"

    # An edit (new title, body and updated) sends nothing.
    site.post(
        "2030-01-01-report",
        "The **report** is out, corrected.",
        title="Report launch (corrected)",
        date="2025-06-02T09:00:00Z",
        updated="2025-06-02T12:00:00Z",
        image="/media/report.jpg",
        image_alt="The report's cover",
    )
    state(app).live.refresh()
    r2e("run")
    assert len(mails.messages) == 1

    # Two more posts: two more mails, each with its own image.
    site.post("2030-01-02-a", "First.", title="Post A", date="2025-06-03T09:00:00Z", image="/media/a.png")
    site.post("2030-01-03-b", "Second.", title="Post B", date="2025-06-04T09:00:00Z", image="https://cdn.example.net/b.png")
    state(app).live.refresh()
    r2e("run")
    got = {m["Subject"]: body(m) for m in mails.messages[1:]}
    assert set(got) == {"Post A", "Post B"}
    assert f"{base}/media/a.png" in got["Post A"] and "https://cdn.example.net/b.png" in got["Post B"]
