"""Helpers of the fediverse tests: start the writer's view of the outbox, run it until the queue is empty, post signed."""

from __future__ import annotations

import time
from typing import Any

from feedsvc.extensions import state
from feedsvc.outbox import outbox

ACTOR = "https://news.example.org/ap/actors/news"
AP = "application/activity+json"


def started(app: Any) -> Any:
    """The app after its writer's first look at the content (which sends nothing)."""
    state(app).live.current
    outbox(app).sender.collect()
    return app


def drain(app: Any, timeout: float = 30) -> None:
    """Pick up content changes, then deliver until nothing is pending."""
    state(app).live.refresh()
    sender = outbox(app).sender
    deadline = time.monotonic() + timeout
    while sender.run_once() or sender.queue.pending():
        assert time.monotonic() < deadline, "deliveries did not finish"
        time.sleep(0.01)


def post(client: Any, remote: Any, path: str, activity: Any, **kw: Any) -> Any:
    """POST ``activity`` to ``path``, signed by ``remote`` (a Remote) with bovine."""
    body, headers = remote.signed(path, activity, **kw)
    return client.post(path, data=body, headers=headers)


def followers(app: Any, username: str = "news") -> int:
    """The followers count the collection shows."""
    return int(app.test_client().get(f"/ap/actors/{username}/followers").get_json()["totalItems"])
