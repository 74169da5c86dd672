"""The nginx server block serving an export like feedsvc serves it: types, headers, redirects, /oembed."""

from __future__ import annotations

import re
from urllib.parse import unquote

from .. import security
from ..http import CORS, PREFLIGHT

#: Headers every served file gets, as feedsvc sends them (the maps below pick the values;
#: an empty value sends no header).
HEADERS = "".join(f"        add_header {name} {value} always;\n" for name, value in (
    ("Cache-Control", "$feedsvc_cache_control"), ("Access-Control-Allow-Origin", "$feedsvc_cors"),
    ("Access-Control-Expose-Headers", "$feedsvc_expose"),
    *((name, f'"{value}"') for name, value in security.COMMON),
    *((name, "$feedsvc_" + name.lower().replace("-", "_")) for name, _ in security.HTML)))


def _security_maps() -> str:
    """security.py's HTML headers, keyed on the type sent and the URL: the embed cards alone may be framed."""
    key = '"$sent_http_content_type|$request_uri"'
    html = '"~^text/html"'
    embed = '"~^text/html[^|]*\\|/posts/[^/?]+/embed(\\?|$)"'  # the discover.embed view's URLs
    out = ""
    for name, value in security.HTML:
        var = "$feedsvc_" + name.lower().replace("-", "_")
        if name == "Content-Security-Policy":
            rows = f'    {embed} "{security.EMBED_CSP}";\n    {html} "{value}";\n'
        elif name == "X-Frame-Options":
            rows = f'    {embed} "";\n    {html} "{value}";\n'
        else:
            rows = f'    {html} "{value}";\n'
        out += f"map {key} {var} {{\n    default \"\";\n{rows}}}\n"
    return out


def _spellings(request_uri: str) -> list[str]:
    """A redirect source as clients may send it in $request_uri: percent-encoded (as our links
    write it) and, for a slug in another script, also as raw UTF-8 (nginx does not decode it)."""
    raw = unquote(request_uri)
    keep_raw = not raw.isascii() and raw.isprintable() and not set(raw) & set('"\\ ')
    return [request_uri, raw] if keep_raw else [request_uri]


def nginx_config(root: str, types: dict[str, str], redirects: dict[str, tuple[int, str]], cache_control: str,
                 cache_exceptions: dict[str, str] | None = None, extra_maps: str = "", extra_locations: str = "",
                 map_keys: int = 0, longest_key: int = 0) -> str:
    """An nginx server block serving an export at ``root`` like feedsvc serves it.

    ``cache_exceptions``: path -> Cache-Control for the few documents (static assets)
    the app sends with another value than ``cache_control``. ``extra_maps`` (http level)
    and ``extra_locations`` (server level) add answers such as /oembed's; ``map_keys``
    counts their exact map keys and ``longest_key`` is the longest one (bytes), so the map
    hash is sized for them.
    """
    cc_rows = "".join(f'    "~^{re.escape(path)}(\\?|$)" "{value}";\n'
                      for path, value in sorted((cache_exceptions or {}).items()))
    exts = sorted(set(types.values()))
    type_lines = "\n".join(f'        "{ct}" {ext};' for ct, ext in sorted(types.items(), key=lambda kv: kv[1]))
    tries = " ".join(f"$feedsvc_file.{ext}" for ext in exts)
    preflight = dict(PREFLIGHT)
    cors_origin, cors_expose = dict(CORS)["Access-Control-Allow-Origin"], dict(CORS)["Access-Control-Expose-Headers"]
    hash_size = max(262144, 1 << (2 * (map_keys + len(redirects) * 2)).bit_length())
    longest = max([longest_key, *(len(k.encode()) for src in redirects for k in _spellings(src))])
    bucket_size = max(256, 1 << (longest + 32).bit_length())
    redirect_maps = ""
    redirect_ifs = ""
    for code in sorted({c for c, _ in redirects.values()}):
        rows = "\n".join(f'    "{key}" "{dst}";' for src, (c, dst) in sorted(redirects.items()) if c == code
                         for key in _spellings(src))
        redirect_maps += f"map $request_uri $feedsvc_redirect_{code} {{\n    default \"\";\n{rows}\n}}\n"
        redirect_ifs += f"    if ($feedsvc_redirect_{code}) {{ return {code} $feedsvc_redirect_{code}; }}\n"
    return f"""# nginx server for a `flask --app feedsvc export` tree (generated; see README "Deployment").
# Files are named <decoded path>[@<raw query>].<ext>; the extension gives the exact
# Content-Type feedsvc sends. Put this in http {{ }} (e.g. /etc/nginx/conf.d/feedsvc.conf).

# Long URIs as map keys (redirects, cache exceptions) need bigger buckets than the default
# (drop these two lines if your http {{ }} already sets them).
map_hash_bucket_size {bucket_size};
map_hash_max_size {hash_size};

# '?page=2&per_page=20' -> '@page=2&per_page=20'; links in the documents use one spelling.
map $args $feedsvc_qs {{
    "" "";
    default "@$args";
}}
map $uri $feedsvc_path {{
    ~^(?<dir>.*)/$ "${{dir}}/index";
    default $uri;
}}
# Cross-origin readable under /api and /feeds only (an empty value sends no header).
# Keyed on $request_uri: try_files rewrites $uri to the file's name.
map $request_uri $feedsvc_cors {{
    ~^/(api|feeds)(/|\\?|$) "{cors_origin}";
    default "";
}}
map $request_uri $feedsvc_cache_control {{
    default "{cache_control}";
{cc_rows}}}
map $request_uri $feedsvc_expose {{
    ~^/(api|feeds)(/|\\?|$) "{cors_expose}";
    default "";
}}
# Security headers as feedsvc sends them (security.py): on HTML, a strict CSP that forbids
# framing, except on the embed cards that partners frame (oEmbed).
{_security_maps()}{redirect_maps}{extra_maps}
server {{
    listen 8080;
    root {root};
    set $feedsvc_file $feedsvc_path$feedsvc_qs;

    types {{
{type_lines}
    }}
    default_type application/octet-stream;
    charset off;  # the types above already carry feedsvc's charset

    # Validators: file mtimes are the documents' Last-Modified. 'exact' answers 304 only
    # for the date we sent, never for an invented one.
    etag on;
    if_modified_since exact;
    # Compression: *.gz written by `export --precompress` are feedsvc's own gzip bytes.
    gzip on;
    gzip_static on;
    gzip_vary on;
    gzip_min_length 500;
    gzip_types {" ".join(sorted({ct.split(";")[0] for ct in types} - {"text/html"}))};
    # brotli_static on;  # with ngx_brotli: serves the *.br files

{redirect_ifs}
    location / {{
        if ($request_method = OPTIONS) {{  # CORS preflight, as feedsvc answers it
            add_header Access-Control-Allow-Origin $feedsvc_cors;
            add_header Access-Control-Allow-Methods "{preflight['Access-Control-Allow-Methods']}";
            add_header Access-Control-Allow-Headers "{preflight['Access-Control-Allow-Headers']}";
            add_header Access-Control-Max-Age {preflight['Access-Control-Max-Age']};
            return 204;
        }}
        if ($request_method !~ ^(GET|HEAD)$) {{ return 405; }}  # GET and HEAD only, like feedsvc
{HEADERS}        try_files {tries} =404;
    }}
{extra_locations}}}
"""
