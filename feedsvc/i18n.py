"""The reader's language: message catalogs (Flask-Babel), text direction and dates (Babel).

Pages never negotiate: a post page speaks its post's language, list pages the site's,
``/languages/<lang>`` that language, so a page's bytes depend on the content only. A
language tag picks the nearest shipped catalog (``fr-CA`` -> ``fr``; none -> English),
while dates are formatted for the full tag when Babel knows it (``en-GB``: 12 April 2021).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError, localedata
from babel.dates import format_date, format_time, get_datetime_format
from flask import Flask
from flask_babel import Babel, force_locale  # type: ignore[import-untyped]  # no py.typed (4.0.0)
from flask_babel import gettext as _  # re-exported: the one gettext

__all__ = ["_", "direction", "human_date", "human_datetime", "page_language", "speaking", "ui_language"]

TRANSLATIONS = Path(__file__).parent / "translations"
#: Languages with a shipped catalog (English is the source language).
UI_LANGUAGES = ("en", "fr", "ru", "es", "ar")
DEFAULT = "en"


def catalogs_digest(root: Path = TRANSLATIONS) -> str:
    """A short hash of every shipped catalog (.po): rendered words change with it, so a shared
    render cache should key on it (as on the render version) to never serve old words."""
    digest = hashlib.sha256()
    for po in sorted(root.glob("*/LC_MESSAGES/messages.po")):
        digest.update(po.relative_to(root).as_posix().encode() + b"\0" + po.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@lru_cache(maxsize=256)
def locale_of(lang: str) -> Locale | None:
    """Babel's locale for a BCP 47 tag (``pt-BR``), or None when Babel does not know it."""
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        try:  # an unknown region or script: the language alone
            return Locale.parse(lang.split("-")[0])
        except (UnknownLocaleError, ValueError, TypeError):
            return None


def ui_language(lang: str | None) -> str:
    """The shipped catalog nearest to ``lang`` (its primary subtag), else English."""
    primary = (lang or "").split("-")[0].lower()
    return primary if primary in UI_LANGUAGES else DEFAULT


def page_language(lang: str) -> str:
    """The ``lang`` of a page meant to speak ``lang``: itself when a catalog speaks it (``fr-CA``
    with French words), else the catalog's language (a ``zh`` post: English words, the post
    itself marked ``zh`` inside the page)."""
    ui = ui_language(lang)
    return lang if lang.split("-")[0].lower() == ui else ui


def direction(lang: str | None) -> str:
    """'rtl' for right-to-left languages (Arabic, Hebrew, Persian, Urdu, ...), else 'ltr'."""
    loc = locale_of(lang) if lang else None
    return "rtl" if loc is not None and loc.text_direction == "rtl" else "ltr"


@lru_cache(maxsize=1)
def rtl_languages() -> tuple[str, ...]:
    """Primary language subtags Babel writes right to left (ar, fa, he, ur, ...), sorted."""
    languages = {ident.split("_")[0] for ident in localedata.locale_identifiers()}
    # Each language in its default script (Azerbaijani is Latin; az-Arab would be rtl).
    return tuple(sorted(lang for lang in languages if direction(lang) == "rtl"))


def language_name(lang: str, in_lang: str | None = None) -> str:
    """``lang``'s own name (``français``), or its name in ``in_lang``; the tag when unknown."""
    loc = locale_of(lang)
    if loc is None:
        return lang
    target = locale_of(in_lang) if in_lang else loc
    name = loc.get_display_name(target or loc)
    return name[:1].upper() + name[1:] if name else lang


def _date_locale(lang: str | None) -> Locale:
    return (locale_of(lang) if lang else None) or Locale.parse(DEFAULT)


def human_date(d: datetime, lang: str | None) -> str:
    """A date as written (no timezone conversion), long form in ``lang``'s locale."""
    return format_date(d.date(), "long", locale=_date_locale(lang))


def human_datetime(d: datetime, lang: str | None) -> str:
    """Date, time and UTC offset of an event as written in its own zone, in ``lang``'s locale."""
    loc = _date_locale(lang)
    offset = d.strftime("%z")
    zone = "UTC" if offset in ("+0000", "") else f"UTC{offset[:3]}:{offset[3:]}"
    pattern = str(get_datetime_format("medium", locale=loc)).replace("'", "")
    when = pattern.format(format_time(d, "short", tzinfo=d.tzinfo, locale=loc), format_date(d.date(), "long", locale=loc))
    return f"{when} ({zone})"


def feed_page_strings(lang: str | None) -> dict[str, str]:
    """The words of a feed's browser page (feed.xsl's parameters) in ``lang``, and its direction."""
    with speaking(lang):
        return {
            "t-web-feed": _("web feed"),
            "t-intro": _("This is a web feed, also known as an Atom or RSS feed."),
            "t-subscribe": _(
                "Subscribe by copying the address below into a feed reader (NetNewsWire, Feedly, "
                "Inoreader, Miniflux, Thunderbird…): it then shows you every new post."
            ),
            "t-about": _("New to feeds? Get started with About Feeds (free)."),
            "t-address": _("Feed address"),
            "t-visit": _("Visit the website →"),
            "t-recent": _("Recent posts"),
            "t-empty": _("No posts yet."),
            "t-first": _("Newest posts"),
            "t-previous": _("← Newer"),
            "t-next": _("Older →"),
            "t-last": _("Oldest posts"),
            "t-prev-archive": _("Older posts (archive)"),
            "t-next-archive": _("Newer posts (archive)"),
            "t-current": _("Current feed"),
            "dir": direction(lang),
        }


def widget_words() -> dict[str, object]:
    """The embed widget's words in every shipped catalog, and Babel's right-to-left languages."""
    strings = {}
    for lang in UI_LANGUAGES:
        with speaking(lang):
            strings[lang] = {"label": _("Latest posts"), "event": _("Event:"), "empty": _("No posts yet.")}
    return {"strings": strings, "rtl": list(rtl_languages())}


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Translate templates and gettext calls into ``lang``'s catalog; yields the catalog's language."""
    ui = ui_language(lang)
    with force_locale(ui):
        yield ui


def init_app(app: Flask) -> None:
    """Flask-Babel over feedsvc's catalogs; outside ``speaking`` everything is English."""
    if "babel" not in app.extensions:
        Babel(app, default_locale=DEFAULT, default_translation_directories=str(TRANSLATIONS), locale_selector=lambda: DEFAULT)
