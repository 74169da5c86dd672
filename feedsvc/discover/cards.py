"""Open Graph (ogp.me) and Twitter card meta tags of a page: (attribute, name, content) triples.

Values are plain text; the template escapes them. Every URL is absolute (built from
base_url by the caller), never relative: scrapers resolve nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.core import get_global

#: One <meta>: ("property" for Open Graph, "name" for Twitter), the key, the value.
Meta = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Card:
    """What a link preview of one page shows."""

    site_name: str
    title: str
    description: str
    url: str
    lang: str
    image: str | None = None
    image_alt: str | None = None
    #: The languages of the page's other versions (og:locale:alternate).
    alternate_langs: tuple[str, ...] = ()
    twitter_site: str | None = None
    #: For posts (og:type article): dates, the first category's title, the tags' labels.
    published: datetime | None = None
    modified: datetime | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()


@lru_cache(maxsize=256)  # Babel's parse and likely-subtags lookup, once per language tag
def og_locale(lang: str) -> str:
    """An Open Graph locale (language_TERRITORY) for a language tag: 'fr' -> 'fr_FR', 'pt-BR' -> 'pt_BR'."""
    try:
        loc = Locale.parse(lang, sep="-")
    except (ValueError, UnknownLocaleError):
        return lang.replace("-", "_")
    if loc.territory:
        return f"{loc.language}_{loc.territory}"
    subtags = get_global("likely_subtags")  # e.g. 'fr' -> 'fr_Latn_FR', 'zh_Hant' -> 'zh_Hant_TW'
    # A script subtag first ('zh_Hans' is listed as 'und_Hans'), then the language alone ('sr_Latn' -> 'sr').
    keys = [f"{loc.language}_{loc.script}", f"und_{loc.script}"] if loc.script else []
    found = (subtags.get(k) for k in [*keys, loc.language])
    likely = next((f for f in found if f and f.split("_", 1)[0] == loc.language), None)
    territory = likely.rsplit("_", 1)[-1] if likely else ""
    return f"{loc.language}_{territory}" if territory.isupper() else loc.language


def metas(card: Card) -> list[Meta]:
    """The Open Graph and Twitter tags of ``card``, in a fixed order."""
    article = card.published is not None
    out: list[Meta] = [
        ("property", "og:site_name", card.site_name),
        ("property", "og:type", "article" if article else "website"),
        ("property", "og:title", card.title),
        ("property", "og:description", card.description),
        ("property", "og:url", card.url),
        ("property", "og:locale", og_locale(card.lang)),
    ]
    own = og_locale(card.lang)
    for alt in dict.fromkeys(og_locale(lang) for lang in card.alternate_langs):
        if alt != own:
            out.append(("property", "og:locale:alternate", alt))
    if card.image:
        out.append(("property", "og:image", card.image))
        if card.image_alt:
            out.append(("property", "og:image:alt", card.image_alt))
    if card.published is not None:
        out.append(("property", "article:published_time", card.published.isoformat()))
        if card.modified is not None:
            out.append(("property", "article:modified_time", card.modified.isoformat()))
        if card.section:
            out.append(("property", "article:section", card.section))
        out.extend(("property", "article:tag", tag) for tag in card.tags)
    # Twitter falls back to og:* for title, description and image; the card type is its own.
    out.append(("name", "twitter:card", "summary_large_image" if card.image else "summary"))
    if card.twitter_site:
        out.append(("name", "twitter:site", "@" + card.twitter_site))
    out.append(("name", "twitter:title", card.title))
    out.append(("name", "twitter:description", card.description))
    if card.image:
        out.append(("name", "twitter:image", card.image))
        if card.image_alt:
            out.append(("name", "twitter:image:alt", card.image_alt))
    return out
