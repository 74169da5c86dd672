"""The fediverse side of the outbox: ActivityPub actors that publish every post to their followers.

Off unless site.yaml has ``fediverse: {username: ...}``. ``init_app`` keeps the app's
``Fediverse`` (state.py) in ``app.extensions["fediverse"]`` and registers the blueprint (views.py)
and ``flask activitypub status``. Followers live in the outbox's queue database, and
activities leave through the outbox's one queue, from the writer (delivery.py).
"""

from __future__ import annotations

from flask import Flask

from .actor import ACTIVITY_JSON
from .cli import activitypub_cli
from .delivery import KIND
from .state import Fediverse, fediverse
from .views import bp


def init_app(app: Flask) -> None:
    """Keep the app's Fediverse, register its views and CLI."""
    app.extensions["fediverse"] = Fediverse(app)
    app.register_blueprint(bp)
    app.cli.add_command(activitypub_cli)


__all__ = ["ACTIVITY_JSON", "KIND", "Fediverse", "fediverse", "init_app"]
