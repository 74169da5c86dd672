"""feedsvc: publishes a content directory as Atom, RSS, JSON Feed, iCalendar and a JSON API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

from .version import __version__

__all__ = ["__version__", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults -> FEEDSVC_* environment -> ``config`` mapping."""
    from flask import Flask
    from flask.json.provider import DefaultJSONProvider

    from . import (
        budget,
        cli,
        discover,
        errors,
        export,
        extensions,
        fastpath,
        health,
        http,
        instrument,
        logs,
        outbox,
        ratelimit,
        redirects,
        security,
        web,
    )
    from .api import views as api_views
    from .config import load_config
    from .feeds import views as feed_views
    from .outbox import fediverse

    # Static files are served by web.static (assets.py: content-hash ETags, immutable when versioned).
    app = Flask(__name__, static_folder=None)
    load_config(app, config)
    assert isinstance(app.json, DefaultJSONProvider)
    app.json.sort_keys = True  # same content, same bytes
    app.json.compact = True
    logs.init_app(app)

    extensions.init_app(app)
    for warning in app.config["CONFIG_WARNINGS"]:  # retired settings (config.RETIRED)
        logging.getLogger("feedsvc").warning(warning)
    instrument.init_app(app)  # first: its hook names the route of every request, whatever follows
    errors.init_app(app)
    http.init_app(app)
    security.init_app(app)
    budget.init_app(app)  # inside ProxyFix, which ratelimit adds around it
    ratelimit.init_app(app)
    redirects.init_app(app)
    cli.init_app(app)
    export.init_app(app)
    outbox.init_app(app)  # webhooks and WebSub pings, sent by the writer process
    fediverse.init_app(app)  # ActivityPub actors (off unless site.yaml enables them)
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(feed_views.bp)
    app.register_blueprint(api_views.bp)
    app.register_blueprint(discover.bp)
    app.register_blueprint(feed_views.event_bp)
    fastpath.init_app(app)  # repeats of a served document skip Flask
    instrument.wrap(app)  # outermost: every request counted and given its log id
    return app
