"""The nginx server block serving an export like feedsvc serves it (nginx.conf.j2): types, headers, redirects."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .. import security
from ..http import CORS, PREFLIGHT

#: Headers every served file gets, as feedsvc sends them (the maps of nginx.conf.j2 pick the
#: values; an empty value sends no header). oembed.py's locations send them too.
HEADERS = "".join(
    f"        add_header {name} {value} always;\n"
    for name, value in (
        ("Cache-Control", "$feedsvc_cache_control"),
        ("Access-Control-Allow-Origin", "$feedsvc_cors"),
        ("Access-Control-Expose-Headers", "$feedsvc_expose"),
        *((name, f'"{value}"') for name, value in security.COMMON),
        *((name, "$feedsvc_" + name.lower().replace("-", "_")) for name, _ in security.HTML),
    )
)

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent),
    autoescape=False,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _security_maps() -> list[tuple[str, list[tuple[str, str]]]]:
    """security.py's HTML headers, keyed on the type sent and the URL: the embed cards alone may be framed."""
    html = '"~^text/html"'
    embed = '"~^text/html[^|]*\\|/posts/[^/?]+/embed(\\?|$)"'  # the discover.embed view's URLs
    out = []
    for name, value in security.HTML:
        rows = [(html, value)]
        if name == "Content-Security-Policy":
            rows.insert(0, (embed, security.EMBED_CSP))
        elif name == "X-Frame-Options":
            rows.insert(0, (embed, ""))
        out.append(("$feedsvc_" + name.lower().replace("-", "_"), rows))
    return out


def _spellings(request_uri: str) -> list[str]:
    """A redirect source as clients may send it in $request_uri: percent-encoded (as our links
    write it) and, for a slug in another script, also as raw UTF-8 (nginx does not decode it)."""
    raw = unquote(request_uri)
    keep_raw = not raw.isascii() and raw.isprintable() and not set(raw) & set('"\\ ')
    return [request_uri, raw] if keep_raw else [request_uri]


def nginx_config(
    root: str,
    types: dict[str, str],
    redirects: dict[str, tuple[int, str]],
    cache_control: str,
    cache_exceptions: dict[str, str] | None = None,
    extra_maps: str = "",
    extra_locations: str = "",
    map_keys: int = 0,
    longest_key: int = 0,
) -> str:
    """An nginx server block serving an export at ``root`` like feedsvc serves it.

    ``cache_exceptions``: path -> Cache-Control for the few documents (static assets)
    the app sends with another value than ``cache_control``. ``extra_maps`` (http level)
    and ``extra_locations`` (server level) add answers such as /oembed's; ``map_keys``
    counts their exact map keys and ``longest_key`` is the longest one (bytes), so the map
    hash is sized for them.
    """
    longest = max([longest_key, *(len(k.encode()) for src in redirects for k in _spellings(src))])
    redirect_maps = [
        (code, [f'    "{key}" "{dst}";' for src, (c, dst) in sorted(redirects.items()) if c == code for key in _spellings(src)])
        for code in sorted({c for c, _ in redirects.values()})
    ]
    return _TEMPLATES.get_template("nginx.conf.j2").render(
        root=root,
        cache_control=cache_control,
        bucket_size=max(256, 1 << (longest + 32).bit_length()),
        hash_size=max(262144, 1 << (2 * (map_keys + len(redirects) * 2)).bit_length()),
        cache_exceptions=[(re.escape(path), value) for path, value in sorted((cache_exceptions or {}).items())],
        cors_origin=dict(CORS)["Access-Control-Allow-Origin"],
        cors_expose=dict(CORS)["Access-Control-Expose-Headers"],
        preflight=dict(PREFLIGHT),
        security_maps=_security_maps(),
        redirect_maps=redirect_maps,
        types=[f'        "{ct}" {ext};' for ct, ext in sorted(types.items(), key=lambda kv: kv[1])],
        gzip_types=sorted({ct.split(";")[0] for ct in types} - {"text/html"}),
        tries=[f"$feedsvc_file.{ext}" for ext in sorted(set(types.values()))],
        headers=HEADERS,
        extra_maps=extra_maps,
        extra_locations=extra_locations,
    )
