"""/oembed answered from exported files: which request names which file (nginx maps).

The export writes, per post, the default-size answer in JSON and in XML, fetched as
``/oembed?format=F&url=<the post's page>``. nginx cannot run the provider, so the config
maps ``$arg_url`` (raw, as the client sent it) to the post: a regex per URL form finds
the slug segment of feedsvc's page (or its ``/embed`` card, with a trailing slash, query or
fragment) or of site.yaml's ``permalink``, scheme and host in any case and every reserved
character raw or percent-encoded; an exact map then names the post from that segment,
spelled as links write it, percent-encoded once more, or (other scripts) as raw UTF-8,
for each slug and alias. Bounds at least the card's size (or none) get the file; smaller
bounds need the live server (501); bad ones are 400, unknown URLs 404, other formats 501,
all as the API's JSON errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from .. import urls
from ..content import Index, Post
from ..discover import oembed as provider
from ..errors import error_body

#: One slug segment in a raw query value: no separator, raw or percent-encoded.
_SLUG = r"(?<feedsvc_slug>(?:[^/?#%&]|%(?!2[Ff]|3[Ff]|23)[0-9A-Fa-f]{2})+)"
_SEP = r"(?:/|%2[Ff])"
_TAIL = r"(?:/|%2[Ff])?(?:(?:[?#]|%3[Ff]|%23).*)?$"


def answer_files(index: Index, post: Post) -> dict[str, str]:
    """The exported answers of ``post`` (default size, every format, for its page's URL) -> file stem.

    Named by format and slug (``oembed/json/<slug>``): the request's own spelling, with the
    post's URL percent-encoded twice, outgrows a file name for slugs in other scripts.
    """
    page = urls.post_page(index.site, post)
    return {urls.oembed(index.site, page, fmt): f"oembed/{fmt}/{post.slug}" for fmt in provider.FORMATS}


def _char(c: str) -> str:
    """A PCRE atom for one URL character as a raw query value may hold it (raw or %XX, any hex case)."""
    if c.isascii() and (c.isalnum() or c in "-_.~"):
        return re.escape(c)
    encoded = "".join("%" + "".join(f"[{h}{h.lower()}]" if h.isalpha() else h for h in f"{b:02X}") for b in c.encode("utf-8"))
    return f"(?:{re.escape(c)}|{encoded})"


def url_pattern(template: str, embed: bool = False) -> str:
    """A PCRE for $arg_url matching URLs built from ``template`` ({slug}, {year}, {month}, {day}).

    The scheme and host compare in any case (as the provider compares them); ``embed``
    also accepts the /embed card's URL.
    """
    parts = re.split(r"(\{(?:slug|year|month|day)\})", template.rstrip("/"))
    atoms = []
    for part in parts:
        if part == "{slug}":
            atoms.append(_SLUG)
        elif part in ("{year}", "{month}", "{day}"):
            atoms.append("[0-9]{4}" if part == "{year}" else "[0-9]{2}")
        else:
            atoms.append("".join(_char(c) for c in part))
    body = "".join(atoms)
    origin = re.match(r"[a-z][a-z0-9+.-]*://[^/{]*", template, re.I)
    if origin:  # the scheme and host: case-insensitive, as URLs compare them
        head = "".join(_char(c) for c in origin.group(0))
        body = f"(?i:{head})" + body[len(head) :]
    return "^" + body + (f"(?:{_SEP}embed)?" if embed else "") + _TAIL


def slug_spellings(slug: str) -> list[str]:
    """How a slug's segment reaches $arg_url: as links write it, encoded once more, raw UTF-8."""
    once = urls.seg(slug)
    found = [once, quote(once, safe="")]
    if not slug.isascii() and slug.isprintable() and not set(slug) & set("\"\\ '&#?/%$;{}"):
        found.append(slug)
    return list(dict.fromkeys(found))


def at_least(n: int) -> str:
    """A PCRE for the decimal numbers (no leading zero) that are at least ``n``."""
    digits = str(n)
    alts = [f"[1-9][0-9]{{{len(digits)},}}", digits]
    for i, d in enumerate(digits):
        if d != "9":
            low = int(d) + 1
            rest = len(digits) - i - 1
            alts.append(f"{digits[:i]}[{low}-9]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(a for a in alts if not a.startswith("0")) + ")"


@dataclass(frozen=True, slots=True)
class OembedConfig:
    """The http-level maps and the server-level location serving /oembed from files."""

    maps: str
    location: str
    keys: int
    longest: int


def _bound(var: str, arg: str, least: int) -> str:
    return (
        f'map $arg_{arg} $feedsvc_oembed_{var} {{\n    "" fits;\n'
        f'    "~^0*{at_least(provider.MAX_SIZE + 1)}$" bad;\n    "~^0*{at_least(least)}$" fits;\n'
        f'    "~^0*[1-9][0-9]*$" small;\n    default bad;\n}}\n'
    )


def nginx_oembed(index: Index, extensions: dict[str, str], headers: str) -> OembedConfig:
    """nginx maps and location for /oembed; ``extensions``: format -> file extension of its answers."""
    site = index.site
    rows: dict[str, str] = {}
    for post in index.posts:
        for slug in (post.slug, *post.aliases):
            for spelling in slug_spellings(slug):
                rows.setdefault(spelling, post.slug)  # slugs hold letters, digits, hyphens: safe in quotes
    patterns = [url_pattern(site.base_url + "/posts/{slug}", embed=True)]
    if site.permalink:
        patterns.append(url_pattern(site.permalink))
    forms = "".join(f'    "~{p}" $feedsvc_slug;\n' for p in patterns)
    posts = "".join(f'    "{k}" "{v}";\n' for k, v in sorted(rows.items()))
    formats = "".join(f'    "~^{f}$" {extensions[f]};\n' for f in provider.FORMATS)
    maps = (
        f'# /oembed from files (README, "Deployment": the forms it answers): the post a url= names, in any of its forms.\n'
        f'map $arg_url $feedsvc_oembed_slug {{\n    default "";\n{forms}}}\n'
        f"map $feedsvc_oembed_slug $feedsvc_oembed_url {{  # -> the post's slug (its files' name)\n"
        f'    default "";\n{posts}}}\n'
        f'map $arg_format $feedsvc_oembed_ext {{\n    "" {extensions[provider.FORMATS[0]]};\n{formats}'
        f'    default "";\n}}\n'
        f'map $arg_format $feedsvc_oembed_format {{\n    "" {provider.FORMATS[0]};\n    default $arg_format;\n}}\n'
        + _bound("width", "maxwidth", provider.WIDTH)
        + _bound("height", "maxheight", provider.HEIGHT)
    )
    file = "/oembed/$feedsvc_oembed_format/$feedsvc_oembed_url.$feedsvc_oembed_ext"
    size = f"{provider.WIDTH}x{provider.HEIGHT}"
    errors = [
        ('$feedsvc_oembed_ext = ""', 501, "not_implemented", f"format is not supported; use {' or '.join(provider.FORMATS)}"),
        ('$arg_url = ""', 400, "invalid_parameters", "url is required"),
        (
            "$feedsvc_oembed_width = bad",
            400,
            "invalid_parameters",
            f"maxwidth must be a whole number from {provider.MIN_SIZE} to {provider.MAX_SIZE}",
        ),
        (
            "$feedsvc_oembed_height = bad",
            400,
            "invalid_parameters",
            f"maxheight must be a whole number from {provider.MIN_SIZE} to {provider.MAX_SIZE}",
        ),
        ('$feedsvc_oembed_url = ""', 404, "not_found", "the url names no published post of this site"),
        (
            "$feedsvc_oembed_width = small",
            501,
            "not_implemented",
            f"this static copy answers bounds of at least {size} only; ask the live server",
        ),
        (
            "$feedsvc_oembed_height = small",
            501,
            "not_implemented",
            f"this static copy answers bounds of at least {size} only; ask the live server",
        ),
    ]
    ifs = "".join(
        f"        if ({cond}) {{ return {status} '{_quoted(error_body(status, code, msg))}'; }}\n"
        for cond, status, code, msg in errors
    )
    location = (
        f"    location = /oembed {{\n        default_type application/json;\n"
        f"        if ($request_method !~ ^(GET|HEAD)$) {{ return 405; }}\n{ifs}{headers}"
        f"        try_files {file} =404;\n    }}\n"
    )
    return OembedConfig(maps, location, len(rows), max(map(len, rows), default=0))


def _quoted(body: bytes) -> str:
    text = body.decode("utf-8")
    if set(text) & set("'\\$"):
        raise ValueError(f"cannot quote {text!r} for nginx")
    return text
