"""What a field value must be to reach an output: text, URLs, instants, zones, templates, ids.

Checked once, at parse time (the load schemas in validate.py and the post parser call these),
so no writer (Atom, RSS, JSON Feed, iCalendar, HTML, HTTP headers) ever meets a value it cannot
write. Each check raises ValueError with a message fit for ``file: field: message``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, available_timezones

from .markdown import URL_SCHEMES

#: Years an instant may fall in, in UTC and in every zone it is shown in: every writer (and
#: a day or a year either side, which archives and calendars compute) stays inside datetime's range.
MIN_YEAR, MAX_YEAR = 1000, 9998

# Longest free-text values (characters, after cleaning); docs/content.md ("Field values") lists them.
TITLE_MAX = 1000
NAME_MAX = 200
TAG_MAX = 100
LOCATION_MAX = 500
SUMMARY_MAX = 4000
ID_MAX = 1000
URL_MAX = 2000

#: Soft line breaks (word processors write \v for Shift+Enter): a space, like any line break.
_SOFT_BREAKS = str.maketrans(dict.fromkeys("\v\f\x85\u2028\u2029", " "))
#: The other C0 and C1 controls and DEL are dropped (tab, LF and CR fold to a space later).
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
#: Bidi embeddings, overrides and isolates reorder the text around them (an RLO reverses a
#: site name in a browser tab): refused. The marks (U+200E, U+200F, U+061C) stay allowed.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Letters that draw nothing (Hangul fillers, Braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
#: RFC 3986 reserved characters and '%': with the unreserved ones, what a URI may hold.
_URI_SAFE = "!#$%&'()*+,/:;=?@[]~"
#: What a URL may not hold, among ASCII characters: spaces (str.isspace) and categories C and Z.
_ASCII_SPACE_OR_CONTROL = re.compile("[\x00-\x20\x7f]")
#: Files in a zoneinfo directory that are not zones, or name the host's own zone.
_HOST_NAMES = frozenset({"localtime", "posixrules", "Factory"})
#: What a permalink template may name.
PERMALINK_FIELDS = ("slug", "year", "month", "day")


def _visible(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] not in "CZ" and cat not in ("Mn", "Me") and ch not in _BLANK_LETTERS


def clean_text(value: str, max_length: int, required: bool = False) -> str:
    """``value`` with soft breaks as spaces and other control characters removed.

    :raises ValueError: on bidi embedding/override/isolate controls, on a value longer than
        ``max_length``, and on one with nothing visible (blank is allowed when not ``required``).
    """
    text = _CONTROLS.sub("", value.translate(_SOFT_BREAKS))
    bidi = _BIDI.search(text)
    if bidi:
        raise ValueError(
            f"must not contain the bidirectional control U+{ord(bidi.group()):04X} "
            "(embeddings, overrides and isolates reorder the text around them)"
        )
    if len(text) > max_length:
        raise ValueError(f"must be at most {max_length} characters (is {len(text)})")
    if not any(_visible(ch) for ch in text) and (required or not text.isspace() and text):
        raise ValueError("must contain visible text (not only spaces, controls or zero-width characters)")
    return text


def url_problem(value: str, schemes: frozenset[str] | None = None, absolute: bool = False) -> str | None:
    """Why ``value`` may not be published as a URL, or None.

    A relative URL is allowed unless ``absolute`` (it is resolved against base_url); a scheme
    must be in ``schemes``, by default the body sanitiser's allow-list (no ``javascript:``, ``data:``).
    """
    allowed = URL_SCHEMES if schemes is None else schemes
    if not value:
        return "must not be empty"
    if len(value) > URL_MAX:
        return f"must be at most {URL_MAX} characters (is {len(value)})"
    if value.isascii():  # the ASCII spaces and controls are exactly these
        found = _ASCII_SPACE_OR_CONTROL.search(value)
        bad = found.group() if found else None
    else:
        bad = next((ch for ch in value if ch.isspace() or unicodedata.category(ch)[0] in "CZ"), None)
    if bad is not None:
        return f"must not contain spaces or control characters (U+{ord(bad):04X}); percent-encode them"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme and parts.scheme.lower() not in allowed:
        return f"scheme {parts.scheme + ':'!r} is not allowed (only {', '.join(sorted(allowed))})"
    if absolute and not (parts.scheme and parts.netloc):
        return f"must be an absolute URL ({' or '.join(sorted(allowed))})"
    return None


def uri_form(value: str) -> str:
    """``value`` with every character a URI may not hold percent-encoded (as UTF-8, RFC 3986 §2.1).

    A value that already is a URI comes back unchanged, byte for byte.
    """
    return quote(value, safe=_URI_SAFE)


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """The IANA zone names accepted: those zoneinfo finds, without the host's own aliases."""
    return frozenset(available_timezones()) - _HOST_NAMES


def zone_problem(name: str) -> str | None:
    """Why ``name`` is not an accepted IANA timezone, or None."""
    if name not in iana_zones():
        return f"unknown IANA timezone {name[:80]!r} (e.g. 'Europe/London'; not 'localtime' nor a posix/ name)"
    return None


def check_instant(when: datetime, *zones: ZoneInfo) -> datetime:
    """``when`` (aware) when it can be written everywhere: a whole-minute offset, years in the window.

    :raises ValueError: when the offset has seconds, or the instant falls outside
        MIN_YEAR..MAX_YEAR as written, in UTC or in one of ``zones``.
    """
    offset = when.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        raise ValueError(f"UTC offset {offset} is not a whole number of minutes")
    if MIN_YEAR < when.year < MAX_YEAR:
        return when  # an offset moves it by less than a day: no zone shows another year outside the window
    try:
        years = [when.year, when.astimezone(UTC).year, *(when.astimezone(z).year for z in zones)]
    except OverflowError:
        years = [0]
    if not all(MIN_YEAR <= y <= MAX_YEAR for y in years):
        raise ValueError(
            f"{when.isoformat()} is outside the supported years {MIN_YEAR}-{MAX_YEAR} (in UTC and in the site's timezone)"
        )
    return when


def parse_when(value: Any, tz: ZoneInfo) -> datetime:
    """ISO 8601 date or datetime -> aware datetime; a date alone is 00:00 in ``tz``.

    A datetime without an offset is read in ``tz`` too.
    :raises ValueError: when the value is not an ISO 8601 date or datetime, or one no output
        can write (``check_instant`` in UTC and in ``tz``).
    """
    if isinstance(value, str):
        return _parse_text(value, tz)
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        raise ValueError(f"not an ISO 8601 date or datetime: {value!r}")
    return _aware(parsed, tz)


@lru_cache(maxsize=4096)
def _parse_text(value: str, tz: ZoneInfo) -> datetime:
    """``parse_when`` of a text value (a datetime is immutable: the posts of one day share theirs)."""
    text = value.strip()
    try:
        if not text:
            raise ValueError
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), time())
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO 8601 date or datetime: {value!r}") from None
    return _aware(parsed, tz)


def _aware(parsed: datetime, tz: ZoneInfo) -> datetime:
    """``parsed`` read in ``tz`` when it has no offset, once ``check_instant`` accepts it."""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return check_instant(parsed, tz)


def permalink_problem(template: str) -> str | None:
    """Why ``template`` is not a permalink template of plain ``{field}`` placeholders, or None."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"is not a valid template ({exc})"
    for _, name, spec, conversion in parts:
        if name is not None and (name not in PERMALINK_FIELDS or spec or conversion):
            return (
                "placeholders must be plain "
                + ", ".join(f"{{{f}}}" for f in PERMALINK_FIELDS)
                + " (no format specs, conversions, attributes or indexes)"
            )
    return None
