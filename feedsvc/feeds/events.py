"""Event details (when, until, where, registration) shown at the top of event posts' content."""

from __future__ import annotations

from datetime import datetime

from lxml.html import builder as E
from lxml.html import tostring

from ..content import Post

# Names, not strftime: no locale lookup, the same text on every host.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _when(d: datetime) -> str:
    off = d.strftime("%z")
    zone = "UTC" if off in ("", "+0000") else f"UTC{off[:3]}:{off[3:]}"
    name = getattr(d.tzinfo, "key", None)
    zone = f"{zone}, {name}" if name and name != "UTC" else zone
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}, {d:%H:%M} ({zone})"


def event_lines(post: Post) -> list[tuple[str, str]]:
    """(label, value) lines describing an event post: when, until, where, registration."""
    ev = post.event
    if ev is None:
        return []
    lines = [("When", _when(ev.start))]
    if ev.end is not None:
        lines.append(("Until", _when(ev.end)))
    if ev.location:
        lines.append(("Where", ev.location))
    if ev.url:
        lines.append(("Registration", ev.url))
    return lines


def event_block_html(post: Post) -> str:
    """An HTML block with the event details, built as a tree (never by string concatenation)."""
    lines = event_lines(post)
    if not lines:
        return ""
    items = []
    for label, value in lines:
        shown = E.A(value, href=value) if label == "Registration" else value
        items.append(E.LI(E.STRONG(f"{label}: "), shown))
    return tostring(E.UL(*items, **{"class": "event"}), encoding="unicode")
