"""feedsvc: publishes a content directory as Atom, RSS, JSON Feed, iCalendar and a JSON API."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "1.0.0"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app: defaults -> FEEDSVC_* environment -> ``config`` mapping."""
    from flask import Flask
    from flask.json.provider import DefaultJSONProvider

    from . import (
        api,
        cli,
        discover,
        errors,
        export,
        fastpath,
        feeds,
        health,
        http,
        logs,
        metrics,
        outbox,
        ratelimit,
        redirects,
        security,
        web,
    )
    from .config import load_config
    from .content import LiveIndex, Loader
    from .extensions import State, cache, end_snapshot
    from .outbox import fediverse

    # Static files are served by web.static (content-hash ETags, immutable when versioned).
    app = Flask(__name__, static_folder=None)
    load_config(app, config)
    assert isinstance(app.json, DefaultJSONProvider)
    app.json.sort_keys = True  # same content, same bytes
    app.json.compact = True
    logs.init_app(app)

    cfg = app.config

    def make_live() -> LiveIndex:
        loader = Loader(cfg["CONTENT_DIR"], max_post_bytes=cfg["MAX_POST_BYTES"], base_url=cfg["BASE_URL"],
                        index_path=cfg["INDEX_PATH"])
        if cfg.get("CLOCK") is not None:  # tests: the writer's clock (schedule.py); readers never read one
            loader.now = cfg["CLOCK"]
        live = LiveIndex(loader, cfg["RELOAD_INTERVAL"])
        metrics.version_loaded(live.current.version)
        live.on_reload(metrics.on_reload)
        return live

    app.extensions["feedsvc"] = State(make_live=make_live)
    app.teardown_appcontext(end_snapshot)
    if cfg["PARSE_CACHE_DIR"]:
        logging.getLogger("feedsvc").warning(
            "FEEDSVC_PARSE_CACHE_DIR is no longer used: the index database (FEEDSVC_INDEX_PATH) replaces it")
    cache.init_app(app, config={
        "CACHE_TYPE": cfg["CACHE_TYPE"],
        "CACHE_REDIS_URL": cfg["CACHE_REDIS_URL"],
        "CACHE_DIR": cfg["CACHE_DIR"],
        "CACHE_DEFAULT_TIMEOUT": cfg["CACHE_DEFAULT_TIMEOUT"],
        "CACHE_KEY_PREFIX": cfg["CACHE_KEY_PREFIX"],
        "CACHE_THRESHOLD": 2000,
        "CACHE_NO_NULL_WARNING": True,  # NullCache is a deliberate setting here
    })
    metrics.init_app(app)  # first: its hook names the route of every request, whatever follows
    errors.init_app(app)
    http.init_app(app)
    security.init_app(app)
    ratelimit.init_app(app)
    redirects.init_app(app)
    cli.init_app(app)
    export.init_app(app)
    outbox.init_app(app)  # webhooks and WebSub pings, sent by the writer process
    fediverse.init_app(app)  # ActivityPub actors (off unless site.yaml enables them)
    app.register_blueprint(health.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(discover.bp)
    app.register_blueprint(feeds.event_bp)
    fastpath.init_app(app)  # repeats of a served document skip Flask
    metrics.wrap(app)  # outermost: every request counted and given its log id
    return app
