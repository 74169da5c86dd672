"""Redirects: site.yaml ``redirects`` and werkzeug's own slash redirects, all built from ``base_url``.

Feed readers store a subscription URL for years and rarely rewrite it, so a moved feed
answers a permanent redirect (RFC 9110 §15.4.9, 308 keeps the method) for good. The
table is read from the current index's site, so editing site.yaml applies on reload.

Werkzeug's router answers ``/feeds//atom.xml`` (merge_slashes) and a missing trailing
slash with a ``RequestRedirect`` whose URL it builds from the Host header; that URL is
rebuilt here from ``base_url`` (its path and query only), so a forged Host can never
choose where a client, or a cache that stores the redirect, is sent.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from flask import Flask, Response, request
from werkzeug.routing import RequestRedirect

from .content import Site
from .extensions import current_index


@lru_cache(maxsize=8)  # rebuilt only when site.yaml changes (Site is frozen and hashable)
def table(site: Site) -> dict[str, str]:
    """Retired path (decoded, as Flask sees ``request.path``) -> absolute target URL."""
    out: dict[str, str] = {}
    for old, new in site.redirects:
        target = safe_target(site, new)
        if target is not None and old.startswith("/") and not old.startswith("//"):
            out.setdefault(unquote(old), target)
    return out


def safe_target(site: Site, target: str) -> str | None:
    """An absolute Location for ``target``, or None when it is not a clean path or http(s) URL.

    A path is joined to ``base_url`` (never to the Host header), so ``//evil.example``
    or ``/\\evil.example`` can only ever lead to a path on our own origin.
    """
    if any(c in target for c in "\r\n\t\x00 ") or "\\" in target:
        return None
    if target.startswith("/"):
        return site.base_url + "/" + target.lstrip("/")
    parts = urlsplit(target)
    if parts.scheme in ("http", "https") and parts.netloc and not parts.netloc.startswith("@"):
        return target
    return None


def _moved(target: str, status: int = 308) -> Response:
    # Cache-Control is added by http._after, like every other response's.
    resp = Response(f"Moved permanently to {target}\n", status=status, mimetype="text/plain")
    resp.headers["Location"] = target
    return resp


def _router_redirect(exc: RequestRedirect) -> Response:
    """werkzeug's slash redirect, re-targeted at ``base_url`` (never the Host header)."""
    parts = urlsplit(exc.new_url)
    path = parts.path
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root) :]
    target = current_index().site.base_url + "/" + path.lstrip("/")
    if parts.query:
        target = f"{target}?{parts.query}"
    return _moved(target, exc.code)


def _redirect() -> Response | None:
    exc = request.routing_exception
    if isinstance(exc, RequestRedirect):  # any method: werkzeug would redirect it too
        return _router_redirect(exc)
    if request.method not in ("GET", "HEAD") or request.endpoint == "health.healthz":
        return None  # /healthz answers whatever state the content is in
    site = current_index().site
    if not site.redirects:
        return None
    target = table(site).get(request.path)
    if target is None:
        return None
    # Re-quoted so no byte a client sent can break out of the Location header.
    query = quote(request.query_string.decode("latin-1"), safe="=&;%+/?:@!$'()*,~")
    if query and "?" not in target:
        target = f"{target}?{query}"  # keep ?page=2, ?lang=fr across the move
    return _moved(target)


def init_app(app: Flask) -> None:
    """Answer retired URLs before routing."""
    app.before_request(_redirect)
