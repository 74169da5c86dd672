"""Event details (when, until, where, registration) shown at the top of event posts' content."""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from ..content import Post

# Names, not strftime: no locale lookup, the same text on every host.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _when(d: datetime, all_day: bool = False) -> str:
    if all_day:  # a whole day: no time, no zone
        return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"
    off = d.strftime("%z")
    zone = "UTC" if off in ("", "+0000") else f"UTC{off[:3]}:{off[3:]}"
    name = getattr(d.tzinfo, "key", None)
    zone = f"{zone}, {name}" if name and name != "UTC" else zone
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}, {d.hour:02d}:{d.minute:02d} ({zone})"


def event_lines(post: Post) -> list[tuple[str, str]]:
    """(label, value) lines describing an event post: when, until, where, registration."""
    ev = post.event
    if ev is None:
        return []
    lines = [("When", _when(ev.start, ev.all_day))]
    if ev.end is not None:
        lines.append(("Until", _when(ev.end, ev.all_day)))
    if ev.location:
        lines.append(("Where", ev.location))
    lines.append(("Attendance", ev.mode))
    if ev.languages:
        lines.append(("Interpretation", ", ".join(ev.languages)))
    if ev.registration_url or ev.url:
        lines.append(("Registration", ev.registration_url or ev.url or ""))
    return lines


def event_block_html(post: Post) -> str:
    """An HTML block with the event details, built as a tree (never by string concatenation)."""
    lines = event_lines(post)
    if not lines:
        return ""
    # etree's own factories: lxml.html.builder costs twice as much for the same tree and bytes.
    ul = etree.Element("ul", {"class": "event"})
    for label, value in lines:
        li = etree.SubElement(ul, "li")
        strong = etree.SubElement(li, "strong")
        strong.text = f"{label}: "
        if label == "Registration":
            etree.SubElement(li, "a", href=value).text = value
        else:
            strong.tail = value
    text: str = etree.tostring(ul, encoding="unicode", method="html")
    return text
