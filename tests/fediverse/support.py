"""Helpers of the fediverse tests: start the writer's view of the outbox, run it until the queue is empty, post signed."""

from __future__ import annotations

from typing import Any

from outbox.support import drain, started  # noqa: F401  (re-exported for the fediverse tests)

ACTOR = "https://news.example.org/ap/actors/news"
AP = "application/activity+json"


def post(client: Any, remote: Any, path: str, activity: Any, **kw: Any) -> Any:
    """POST ``activity`` to ``path``, signed by ``remote`` (a Remote) with bovine."""
    body, headers = remote.signed(path, activity, **kw)
    return client.post(path, data=body, headers=headers)


def followers(app: Any, username: str = "news") -> int:
    """The followers count the collection shows."""
    return int(app.test_client().get(f"/ap/actors/{username}/followers").get_json()["totalItems"])
