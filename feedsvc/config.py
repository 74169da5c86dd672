"""Configuration: defaults, then FEEDSVC_* environment variables, then a test mapping.

The one place that reads the environment. Every value is type-checked here, so a bad
setting stops the service at start-up with a message naming the variable.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from .content.errors import FeedsvcError

#: Every setting, its default and meaning (kept in step with docs/configuration.md).
DEFAULTS: dict[str, Any] = {
    "CONTENT_DIR": "content",  # the content directory (site.yaml + posts/)
    "BASE_URL": None,  # overrides site.yaml base_url (ids never change with it)
    "RELOAD_INTERVAL": 2.0,  # seconds between content reloads; 0 disables live reload
    "MAX_POST_BYTES": 8 * 1024 * 1024,  # larger post files are reported, not parsed
    "INDEX_PATH": None,  # the index database; default: in the user's cache directory
    "PARSE_CACHE_DIR": None,  # no longer used (the index database replaces it); accepted, ignored
    "FEED_SIZE": 50,  # entries per feed document (RFC 5005 page size)
    "FEED_MAX_BYTES": 4 * 1024 * 1024,  # entries' content per feed document; beyond: summary + link
    "CALENDAR_SIZE": 500,  # events per calendar (.ics): those with the latest start
    "SEARCH_CALENDAR_SIZE": 50,  # events per search calendar (.ics?q=): a one-off render, kept small
    "PER_PAGE": 20,  # API default page size
    "MAX_PER_PAGE": 100,  # API largest page size
    "MAX_AGE": 300,  # Cache-Control max-age and RSS ttl (seconds)
    "STALE_WHILE_REVALIDATE": 60,  # Cache-Control stale-while-revalidate (seconds)
    "STALE_IF_ERROR": 86400,  # Cache-Control stale-if-error (seconds)
    "CACHE_TYPE": "SimpleCache",  # SimpleCache | FileSystemCache | RedisCache | NullCache
    "CACHE_REDIS_URL": None,  # redis://host:port/db for RedisCache
    "CACHE_DIR": None,  # directory for FileSystemCache
    "CACHE_DEFAULT_TIMEOUT": 86400,  # seconds a rendered body may stay in the cache
    "CACHE_KEY_PREFIX": "feedsvc:",  # namespace in a shared cache
    "CACHE_LOCAL_BYTES": 32 * 1024 * 1024,  # per-process LRU of rendered bodies in front of the backend; 0: off
    "CACHE_ODD_BYTES": 4 * 1024 * 1024,  # per-process LRU for documents of queries no link produces (q=...)
    "RATELIMIT": None,  # e.g. "120/minute" per client; off when unset
    "RATELIMIT_STORAGE_URI": None,  # defaults to CACHE_REDIS_URL when RedisCache, else memory://
    "RENDER_BUDGET": "50/second;1000/minute",  # per client and worker: ms spent rendering its uncached long-tail requests
    "TRUSTED_PROXIES": 0,  # proxies in front (X-Forwarded-For hops to trust for client IPs)
    "WEBSUB_TIMEOUT": 5.0,  # accepted, no longer used (pings: OUTBOX_TIMEOUT)
    "WEBSUB_RETRIES": 5,  # attempts per ping, with exponential backoff
    "WEBSUB_BACKOFF": 1.0,  # seconds before the first retry (doubles each time)
    "WEBSUB_ALLOW_PRIVATE": False,  # let pings reach a hub on a private/loopback address (tests, an intranet hub)
    "WEBHOOKS_FILE": None,  # YAML list of webhook endpoints (outside the content directory)
    "WEBHOOK_MAX_AGE": 86400,  # seconds after which an undelivered webhook is given up
    "WEBHOOK_BACKOFF": 5.0,  # seconds before a webhook's first retry (doubles, with jitter)
    "OUTBOX_PATH": None,  # the delivery queue database; default: beside the index database
    "OUTBOX_TIMEOUT": 10.0,  # seconds to connect, send and read one delivery's answer
    "OUTBOX_MAX_BACKOFF": 3600.0,  # longest wait between two attempts (seconds)
    "OUTBOX_MAX_RESPONSE_BYTES": 65536,  # read at most this much of a receiver's answer
    "ACTIVITYPUB_KEY": None,  # the actor's RSA private key (PEM, made at first start); default: beside the index
    "FEDIVERSE_ALLOW_PRIVATE": False,  # let key fetches and deliveries reach private/loopback servers (tests only)
    "FEDIVERSE_BACKOFF": 60.0,  # seconds before an activity's first retry (doubles, with jitter)
    "FEDIVERSE_MAX_AGE": 8 * 86400,  # seconds after which an undelivered activity is given up (at least 7 days)
    "FEDIVERSE_MAX_BODY": 256 * 1024,  # largest inbox request body and fetched actor document (bytes)
    "FEDIVERSE_INBOX_LIMIT": 120,  # inbox requests per remote server and minute (per process)
    "REQUEST_WORKER": False,  # set by feedsvc.serving in each forked worker: such a process never sends
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",  # text | json (one JSON object per line, access logs too)
}


#: Settings no longer used, still accepted so that old deployments start: the warning each gives when set.
RETIRED = {"PARSE_CACHE_DIR": "FEEDSVC_PARSE_CACHE_DIR is no longer used: the index database (FEEDSVC_INDEX_PATH) replaces it"}
#: prometheus_client's multiprocess directory (gunicorn.conf.py sets it; the library reads it too).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ConfigError(FeedsvcError, RuntimeError):
    """A setting has an invalid value; the message names the FEEDSVC_ variable."""


_pos_int = validate.Range(min=1)
#: A limit as flask-limiter and limits spell it: "120/minute", "10/second;1000/hour".
_LIMIT = validate.Regexp(
    r"^\s*\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?\s*(;\s*\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?\s*)*\Z",
    error="must look like '120/minute' or '10/second;1000/hour'",
)
_nonneg = validate.Range(min=0)


class _ConfigSchema(Schema):
    class Meta:
        unknown = RAISE

    CONTENT_DIR = fields.Str(required=True, validate=validate.Length(min=1))
    BASE_URL = fields.Url(allow_none=True, schemes={"http", "https"}, require_tld=False)
    RELOAD_INTERVAL = fields.Float(validate=_nonneg)
    MAX_POST_BYTES = fields.Int(strict=True, validate=_pos_int)
    INDEX_PATH = fields.Str(allow_none=True, validate=validate.Length(min=1))
    PARSE_CACHE_DIR = fields.Str(allow_none=True)
    FEED_SIZE = fields.Int(strict=True, validate=validate.Range(min=1, max=1000))
    FEED_MAX_BYTES = fields.Int(strict=True, validate=_nonneg)
    CALENDAR_SIZE = fields.Int(strict=True, validate=validate.Range(min=1, max=100_000))
    SEARCH_CALENDAR_SIZE = fields.Int(strict=True, validate=validate.Range(min=1, max=100_000))
    PER_PAGE = fields.Int(strict=True, validate=validate.Range(min=1, max=1000))
    MAX_PER_PAGE = fields.Int(strict=True, validate=validate.Range(min=1, max=1000))
    MAX_AGE = fields.Int(strict=True, validate=_nonneg)
    STALE_WHILE_REVALIDATE = fields.Int(strict=True, validate=_nonneg)
    STALE_IF_ERROR = fields.Int(strict=True, validate=_nonneg)
    CACHE_TYPE = fields.Str(validate=validate.OneOf(["SimpleCache", "FileSystemCache", "RedisCache", "NullCache"]))
    CACHE_REDIS_URL = fields.Str(allow_none=True, validate=validate.Regexp(r"^(redis|rediss|unix)://"))
    CACHE_DIR = fields.Str(allow_none=True)
    CACHE_DEFAULT_TIMEOUT = fields.Int(strict=True, validate=_nonneg)
    CACHE_KEY_PREFIX = fields.Str()
    CACHE_LOCAL_BYTES = fields.Int(strict=True, validate=_nonneg)
    CACHE_ODD_BYTES = fields.Int(strict=True, validate=_nonneg)
    RATELIMIT = fields.Str(allow_none=True, validate=_LIMIT)
    RATELIMIT_STORAGE_URI = fields.Str(allow_none=True)
    RENDER_BUDGET = fields.Str(allow_none=True, validate=lambda v: v in ("", "off") or bool(_LIMIT(v)))
    TRUSTED_PROXIES = fields.Int(strict=True, validate=validate.Range(min=0, max=10))
    WEBSUB_TIMEOUT = fields.Float(validate=validate.Range(min=0.1, max=120))
    WEBSUB_RETRIES = fields.Int(strict=True, validate=validate.Range(min=1, max=20))
    WEBSUB_BACKOFF = fields.Float(validate=validate.Range(min=0, max=600))
    WEBSUB_ALLOW_PRIVATE = fields.Bool()
    WEBHOOKS_FILE = fields.Str(allow_none=True, validate=validate.Length(min=1))
    WEBHOOK_MAX_AGE = fields.Int(strict=True, validate=validate.Range(min=1))
    WEBHOOK_BACKOFF = fields.Float(validate=validate.Range(min=0, max=3600))
    OUTBOX_PATH = fields.Str(allow_none=True, validate=validate.Length(min=1))
    OUTBOX_TIMEOUT = fields.Float(validate=validate.Range(min=0.1, max=120))
    OUTBOX_MAX_BACKOFF = fields.Float(validate=validate.Range(min=0, max=86400))
    OUTBOX_MAX_RESPONSE_BYTES = fields.Int(strict=True, validate=validate.Range(min=1024, max=16 * 1024 * 1024))
    ACTIVITYPUB_KEY = fields.Str(allow_none=True, validate=validate.Length(min=1))
    FEDIVERSE_ALLOW_PRIVATE = fields.Bool()
    FEDIVERSE_BACKOFF = fields.Float(validate=validate.Range(min=0, max=3600))
    FEDIVERSE_MAX_AGE = fields.Int(strict=True, validate=validate.Range(min=1))
    FEDIVERSE_MAX_BODY = fields.Int(strict=True, validate=validate.Range(min=1024, max=16 * 1024 * 1024))
    FEDIVERSE_INBOX_LIMIT = fields.Int(strict=True, validate=validate.Range(min=1))
    REQUEST_WORKER = fields.Bool()
    LOG_LEVEL = fields.Str(validate=validate.OneOf(["DEBUG", "INFO", "WARNING", "ERROR"]))
    LOG_FORMAT = fields.Str(validate=validate.OneOf(["text", "json"]))


def load_config(app: Any, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` from defaults, FEEDSVC_* variables and ``overrides``; check types.

    :raises ConfigError: naming the first invalid setting.
    """
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("FEEDSVC")  # JSON-typed values: FEEDSVC_MAX_AGE=60 is an int
    if overrides:
        app.config.update(overrides)
    values = {k: app.config[k] for k in DEFAULTS}
    for k, v in values.items():  # from_prefixed_env leaves non-JSON text as str
        if isinstance(v, int) and not isinstance(v, bool) and isinstance(DEFAULTS[k], float):
            values[k] = float(v)
    if app.config.get("CACHE_TYPE") == "RedisCache" and not app.config.get("CACHE_REDIS_URL"):
        raise ConfigError("FEEDSVC_CACHE_REDIS_URL: required when FEEDSVC_CACHE_TYPE is RedisCache")
    try:
        checked = _ConfigSchema().load(values)
    except ValidationError as exc:
        name, msgs = next(iter(exc.normalized_messages().items()))
        msg = msgs[0] if isinstance(msgs, list) else msgs
        raise ConfigError(f"FEEDSVC_{name}: {msg} (got {values.get(name)!r})") from None
    if checked["PER_PAGE"] > checked["MAX_PER_PAGE"]:
        raise ConfigError("FEEDSVC_PER_PAGE: must not exceed FEEDSVC_MAX_PER_PAGE")
    checked["INDEX_PATH"] = index_path(checked)
    checked["OUTBOX_PATH"] = outbox_path(checked)
    checked["ACTIVITYPUB_KEY"] = activitypub_key_path(checked)
    checked["WEBHOOKS"], checked["WEBHOOKS_PROBLEMS"] = load_webhooks(checked["WEBHOOKS_FILE"])
    checked["CONFIG_WARNINGS"] = [warning for name, warning in RETIRED.items() if checked[name]]
    app.config.update(checked)


def default_index_path(content_dir: str | os.PathLike[str]) -> str:
    """Where the index of a content directory lives by default: the user's cache directory."""
    root = Path(content_dir).resolve()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "feedsvc"
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    return str(cache / f"index-{root.name or 'root'}-{digest}.sqlite3")


def index_path(cfg: Mapping[str, Any]) -> str:
    """The index database: FEEDSVC_INDEX_PATH, else ``default_index_path`` of the content directory."""
    return str(cfg["INDEX_PATH"]) if cfg["INDEX_PATH"] else default_index_path(cfg["CONTENT_DIR"])


def metrics_dir() -> str | None:
    """The directory where every process writes its metric samples (made if missing), or None: one process.

    Read from PROMETHEUS_MULTIPROC_DIR once, before prometheus_client is imported (metrics.py):
    the library writes there from its first metric on, and reads the variable itself.
    """
    path = os.environ.get(METRICS_DIR_ENV) or None
    if path:
        os.makedirs(path, exist_ok=True)
    return path


def environ_setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting read from FEEDSVC_<name> as ``load_config`` reads it: for gunicorn's master, before any app.

    The default when the variable is unset. :raises ConfigError: an invalid value (the app
    refuses it at start-up as well, with the same message).
    """
    raw = (os.environ if environ is None else environ).get(f"FEEDSVC_{name}")
    if raw is None:
        return DEFAULTS[name]
    try:
        value: Any = json.loads(raw)  # as Flask's from_prefixed_env: JSON-typed, else the text
    except ValueError:
        value = raw
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(DEFAULTS[name], float):
        value = float(value)
    try:
        return _ConfigSchema(only=(name,)).load({name: value})[name]
    except ValidationError as exc:
        msgs = exc.normalized_messages().get(name, exc.normalized_messages())
        msg = msgs[0] if isinstance(msgs, list) else msgs
        raise ConfigError(f"FEEDSVC_{name}: {msg} (got {value!r})") from None


def outbox_path(cfg: Mapping[str, Any]) -> str:
    """The delivery queue's database: FEEDSVC_OUTBOX_PATH, else beside the index database."""
    if cfg["OUTBOX_PATH"]:
        return str(cfg["OUTBOX_PATH"])
    index = index_path(cfg)
    if index == ":memory:":
        return ":memory:"
    return index.removesuffix(".sqlite3") + ".outbox.sqlite3"


def activitypub_key_path(cfg: Mapping[str, Any]) -> str:
    """The actor's private key: FEEDSVC_ACTIVITYPUB_KEY, else beside the outbox queue (never in the content)."""
    if cfg["ACTIVITYPUB_KEY"]:
        return str(cfg["ACTIVITYPUB_KEY"])
    queue: str = cfg["OUTBOX_PATH"]
    if queue == ":memory:":
        return ":memory:"
    return queue.removesuffix(".outbox.sqlite3").removesuffix(".sqlite3") + ".activitypub.pem"


#: The events a webhook endpoint may ask for.
WEBHOOK_EVENTS = ("post.published", "post.updated", "post.deleted")


def _secret(value: str) -> None:
    if not value.startswith("whsec_"):
        raise ValidationError("must start with whsec_ (a Standard Webhooks secret)")
    try:
        raw = value.removeprefix("whsec_")
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except ValueError:
        raise ValidationError("is not base64 after whsec_") from None
    if len(key) < 16:
        raise ValidationError("is empty or shorter than 16 bytes")


class _EndpointSchema(Schema):
    class Meta:
        unknown = RAISE

    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    secret = fields.Str(required=True, validate=_secret)
    events = fields.List(fields.Str(validate=validate.OneOf(WEBHOOK_EVENTS)), required=True, validate=validate.Length(min=1))
    categories = fields.List(fields.Str(), load_default=None)
    languages = fields.List(fields.Str(), load_default=None)
    allow_private = fields.Bool(load_default=False)


def load_webhooks(path: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """The valid endpoints of FEEDSVC_WEBHOOKS_FILE and one message per problem (secrets never quoted).

    A bad endpoint is left out and reported; the others are used. The service serves either way.
    """
    from .content.errors import ContentError
    from .content.frontmatter import load_yaml

    if not path:
        return [], []
    try:
        with open(path, encoding="utf-8") as fh:
            data = load_yaml(fh.read(1024 * 1024))
    except OSError as exc:
        return [], [f"FEEDSVC_WEBHOOKS_FILE: {path}: cannot read: {exc.strerror or exc}"]
    except (ContentError, UnicodeDecodeError) as exc:
        return [], [f"FEEDSVC_WEBHOOKS_FILE: {path}: {getattr(exc, 'message', exc)}"]
    if not isinstance(data, list):
        return [], [f"FEEDSVC_WEBHOOKS_FILE: {path}: must be a list of endpoints"]
    endpoints: list[dict[str, Any]] = []
    problems: list[str] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(f"{path}: endpoint {i + 1}: must be a mapping with url, secret and events (endpoint skipped)")
            continue
        try:
            endpoint = _EndpointSchema().load(item)
        except ValidationError as exc:
            for field, msgs in exc.normalized_messages().items():
                msg = msgs[0] if isinstance(msgs, list) and msgs else msgs
                if isinstance(msg, dict):
                    msg = next(iter(msg.values()))[0]
                problems.append(f"{path}: endpoint {i + 1}: {field}: {msg} (endpoint skipped)")
            continue
        if any(e["url"] == endpoint["url"] for e in endpoints):
            problems.append(f"{path}: endpoint {i + 1}: url: {endpoint['url']} is listed twice (endpoint skipped)")
            continue
        endpoints.append(endpoint)
    return endpoints, problems


def spoofable_forwarded_for(addresses: list[Any], trusted_proxies: int) -> str | None:
    """A warning when X-Forwarded-For is trusted while clients can reach the server directly.

    ``addresses``: gunicorn's bound addresses ((host, port) tuples, or unix socket paths).
    With FEEDSVC_TRUSTED_PROXIES > 0 the client address is read from that header, which
    any client talking to a non-loopback socket can forge (its own rate-limit bucket).
    """
    if trusted_proxies <= 0:
        return None
    exposed = []
    for addr in addresses:
        if not isinstance(addr, tuple):
            continue  # a unix socket: only local processes (the proxy) reach it
        host = str(addr[0]).strip("[]")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            exposed.append(f"{host}:{addr[1]}")
    if not exposed:
        return None
    return (
        f"FEEDSVC_TRUSTED_PROXIES={trusted_proxies} but gunicorn listens on {', '.join(exposed)}: a client "
        "connecting directly can forge X-Forwarded-For (and pick its own rate-limit bucket); bind to "
        "127.0.0.1 or a unix socket behind the proxy, or firewall the port"
    )
