"""The queue's file deleted under the processes using it (outbox/queuefile.py): nothing it held is lost."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from feedsvc.outbox import outbox, queuefile
from feedsvc.outbox.fediverse import fediverse, followers

from .support import started

FOLLOWER = "https://remote.example/users/ann"


def test_a_follower_survives_the_queue_deleted_and_read_before_it_is_written_back(
    site: Any, make_app: Any, tmp_path: Path
) -> None:
    """A request that read the followers between the deletion and the sender's next turn made a
    new, empty queue file at the path: the sender took it for the queue, and the followers
    (and everything pending) were gone."""
    site.write_site(fediverse={"username": "news"})
    paths = {
        "INDEX_PATH": str(tmp_path / "index.sqlite3"),
        "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"),
        "ACTIVITYPUB_KEY": str(tmp_path / "ap.pem"),
    }
    app = started(make_app(**paths))
    fedi = fediverse(app)
    with fedi.queue.transaction() as conn:
        followers.add(conn, "news", FOLLOWER, "https://remote.example/inbox", time.time())
    sender = outbox(app).sender
    for suffix in ("", "-wal", "-shm"):
        Path(f"{paths['OUTBOX_PATH']}{suffix}").unlink()
    client = app.test_client()
    assert client.get("/ap/actors/news/followers").get_json()["totalItems"] == 1  # a worker's request meanwhile
    queuefile.check(sender.queue)  # the sender's next turn
    assert Path(paths["OUTBOX_PATH"]).exists()
    assert client.get("/ap/actors/news/followers").get_json()["totalItems"] == 1
    restarted = make_app(**paths)
    assert restarted.test_client().get("/ap/actors/news/followers").get_json()["totalItems"] == 1
