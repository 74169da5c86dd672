"""Security headers on every response: nosniff, Referrer-Policy, and a strict CSP on HTML.

Caching, validator and CORS headers are not set here: ``http.py`` owns them.
"""

from __future__ import annotations

from flask import Flask, Response

#: The pages' policy: everything from our own origin, no inline script or style, images
#: may come from any https origin (posts embed them), and no one may frame us.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

#: The embed card's policy: the same, except that any site may frame it (oEmbed's iframe).
EMBED_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *")

#: On every response.
COMMON: tuple[tuple[str, str], ...] = (
    # Browsers must not guess a script out of a feed or JSON body.
    ("X-Content-Type-Options", "nosniff"),
    # Partners' readers follow our links; send them no more than our origin.
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
#: On HTML pages only: feeds, JSON and embed.js must stay loadable from partners' pages.
HTML: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers without CSP level 2
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def add_headers(resp: Response) -> Response:
    """Add the security headers a response lacks (a view may set a stricter one itself)."""
    for name, value in COMMON:
        resp.headers.setdefault(name, value)
    if resp.mimetype in ("text/html", "application/xhtml+xml"):
        embeddable = resp.headers.get("Content-Security-Policy") == EMBED_CSP
        for name, value in HTML:
            if not (embeddable and name == "X-Frame-Options"):  # the embed card alone may be framed
                resp.headers.setdefault(name, value)
    return resp


def init_app(app: Flask) -> None:
    """Install the after-request hook."""
    app.after_request(add_headers)
