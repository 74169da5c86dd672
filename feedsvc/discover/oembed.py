"""The oEmbed provider (https://oembed.com, spec 1.0 §2): which post a URL names, and the answer.

Every URL form of a post resolves: feedsvc's page (canonical, alias, percent-encoded or
raw Unicode slug, its /embed card) and a URL built from site.yaml's ``permalink``
template. The ``html`` is what WordPress consumers keep: a <blockquote> with the title,
summary and link (readable even where frames are blocked) and one <iframe> of the card.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree
from markupsafe import Markup

from .. import i18n, urls
from ..content import Index, Post

#: The card's size when the consumer sets no bounds.
WIDTH, HEIGHT = 600, 340
#: Smallest and largest bound we accept (a consumer asking for 0 or 10**9 is mistaken).
MIN_SIZE, MAX_SIZE = 1, 10_000
FORMATS = ("json", "xml")


@lru_cache(maxsize=8)
def _permalink_re(template: str) -> re.Pattern[str]:
    """A pattern matching URLs built from a permalink template, capturing the slug."""
    fields = {"slug": r"(?P<slug>[^/?#]+)", "year": r"\d{4}", "month": r"\d{2}", "day": r"\d{2}"}
    parts = re.split(r"(\{slug\}|\{year\}|\{month\}|\{day\})", template)
    body = "".join(fields[p[1:-1]] if p in ("{slug}", "{year}", "{month}", "{day}") else re.escape(p) for p in parts)
    return re.compile(body.rstrip("/") + "/?")


def splits(url: str) -> bool:
    """Whether ``url`` can be split into its parts (a bad IPv6 host, ``http://[::1/``, cannot)."""
    try:
        urlsplit(url.strip())
    except ValueError:
        return False
    return True


def _slug_of(index: Index, url: str) -> str | None:
    site = index.site
    clean = url.split("#", 1)[0].split("?", 1)[0]
    base = urlsplit(site.base_url)
    parts = urlsplit(clean)
    if (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower()):
        path = parts.path.removeprefix(base.path)
        m = re.fullmatch(r"/posts/([^/]+)(?:/embed)?/?", path)
        if m:
            return unquote(m.group(1))
    if site.permalink:
        m = _permalink_re(site.permalink).fullmatch(clean)
        if m:
            return unquote(m.group("slug"))
    return None


def resolve(index: Index, url: str) -> Post | None:
    """The published post ``url`` names (any of its URL forms), or None for an unknown or foreign URL."""
    slug = _slug_of(index, url.strip())
    if slug is None:
        return None
    post = index.get(slug)
    if post is None:
        target = index.alias_target(slug)
        post = index.get(target) if target is not None else None
    return post


def size(maxwidth: int | None, maxheight: int | None) -> tuple[int, int]:
    """The card's width and height within the consumer's bounds (§2.2: never larger)."""
    width = min(WIDTH, maxwidth) if maxwidth else WIDTH
    height = min(HEIGHT, maxheight) if maxheight else HEIGHT
    return width, height


def snippet(index: Index, post: Post, width: int, height: int) -> str:
    """The ``html`` value: a blockquote (title, summary, link) and the iframe of the embed card."""
    site = index.site
    link = urls.permalink(site, post)
    # The quote sits in the consumer's page, whatever its direction: it says the post's own
    # (as the embed card does), and the credit line the site's language and direction.
    credit = (
        Markup("")
        if site.language == post.lang
        else Markup(' lang="{}" dir="{}"').format(site.language, i18n.direction(site.language))
    )
    return str(
        Markup(
            '<blockquote class="feedsvc-embed" lang="{lang}" dir="{dir}"><p><a href="{link}">{title}</a></p><p>{summary}</p>'
            '<p{credit}>— <a href="{home}">{site}</a></p></blockquote>'
            '<iframe src="{src}" width="{w}" height="{h}" title="{title}" loading="lazy" frameborder="0" '
            'sandbox="allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation">'
            "</iframe>"
        ).format(
            lang=post.lang,
            dir=i18n.direction(post.lang),
            credit=credit,
            link=link,
            title=post.title,
            summary=post.summary,
            home=urls.home(site),
            site=site.title,
            src=urls.embed_page(site, post),
            w=width,
            h=height,
        )
    )


def answer(index: Index, post: Post, width: int, height: int) -> dict[str, Any]:
    """The oEmbed response fields (§2.3.4), type rich."""
    site = index.site
    data: dict[str, Any] = {
        "type": "rich",
        "version": "1.0",
        "title": post.title,
        "author_name": post.author.name,
        "author_url": post.author.uri or site.author.uri or urls.home(site),
        "provider_name": site.title,
        "provider_url": urls.home(site),
        "cache_age": 3600,
        "width": width,
        "height": height,
        "html": snippet(index, post, width, height),
    }
    if post.image:
        # The size the card shows the image at (the image's own size is not known).
        data.update(thumbnail_url=post.image, thumbnail_width=width, thumbnail_height=height // 2)
    return data


def write_xml(data: dict[str, Any]) -> bytes:
    """The XML form (§2.3.4): one element per field under <oembed>, in a fixed order."""
    root = etree.Element("oembed")
    for key in sorted(data):
        etree.SubElement(root, key).text = str(data[key])
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8", standalone=True)
    return xml
