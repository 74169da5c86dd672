"""Shared checks for the feed tests: a varied content tree and independent validators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
from lxml import etree

#: RFC 4287 Appendix B in RELAX NG XML syntax, kept in the repository (tests/data/atom-rfc4287.SOURCE.md).
RNG = Path(__file__).resolve().parents[1] / "data" / "atom-rfc4287.rng"
A = "{http://www.w3.org/2005/Atom}"
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "atom": "http://www.w3.org/2005/Atom",
    "fh": "http://purl.org/syndication/history/1.0",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
_rng: etree.RelaxNG | None = None


def populate(site: Any) -> None:
    """Posts covering every feature: categories, odd tags, languages, attachments, events, images."""
    site.post(
        "2019-05-01-old-report",
        "An old report.\n\nSecond paragraph.",
        title="Old report",
        date="2019-05-01",
        categories=["publications"],
        tags=["Réduction des risques", "CND"],
        attachments=[
            {"url": "/files/report.pdf", "mime_type": "application/pdf", "size_in_bytes": 12345, "title": "Report (PDF)"},
            {"url": "https://cdn.example.org/a.mp3", "mime_type": "audio/mpeg"},
        ],
        image="/img/cover.png",
    )
    site.post(
        "2020-02-02-statement",
        "A **statement** with <b>html</b> & entities.",
        title="Statement & more",
        date="2020-02-02T10:00:00+01:00",
        updated="2020-03-01T09:00:00Z",
        categories=["statements"],
        tags=["CND", "United Nations"],
        author={"name": "Jane Roe", "email": "jane@example.org"},
    )
    site.post(
        "2021-03-25-side-event",
        "Join us.",
        title="Side event",
        date="2021-03-25",
        categories=["events"],
        tags=["side event"],
        event={
            "start": "2021-04-12T14:00:00+02:00",
            "end": "2021-04-12T15:30:00+02:00",
            "location": "Online",
            "url": "https://example.org/register",
        },
    )
    site.post(
        "2021-04-10-zoned-event",
        "In Vienna.",
        title="Zoned event",
        date="2021-04-10",
        categories=["events"],
        event={"start": "2021-05-01T09:00:00", "timezone": "Europe/Vienna", "location": "Vienna International Centre"},
    )
    site.post(
        "2021-04-16-declaration",
        "Une déclaration.",
        title="Déclaration",
        date="2021-04-16",
        categories=["statements"],
        lang="fr",
        tags=["CND", "Наркополитика"],
    )


def atom_schema() -> etree.RelaxNG:
    """The RFC 4287 RELAX NG schema (Appendix B)."""
    global _rng
    if _rng is None:
        _rng = etree.RelaxNG(etree.parse(str(RNG)))
    return _rng


def check_atom(body: bytes) -> etree._Element:
    """Validate an Atom document: RNG schema, its Schematron rules, RFC 4287 musts; returns the root."""
    root = etree.fromstring(body)
    assert b"ns0:" not in body  # every Atom element in the default namespace, no stray prefixes
    schema = atom_schema()
    assert schema.validate(root.getroottree()), schema.error_log
    entries = root.findall(f"{A}entry")
    # Schematron rule 1: an author on the feed, or on every entry.
    assert root.find(f"{A}author") is not None or all(e.find(f"{A}author") is not None for e in entries)
    # RFC 4287 §4.1.1: exactly one id, title, updated; a self link is recommended (we require one).
    for name in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{name}")) == 1, name
    assert len(root.xpath("a:link[@rel='self']", namespaces=NS)) == 1
    assert len(root.xpath("a:link[@rel='alternate' and @type='text/html']", namespaces=NS)) == 1
    for e in entries:
        for name in ("id", "title", "updated"):
            assert len(e.findall(f"{A}{name}")) == 1, name
        # Schematron rule 2: an alternate link where there is no content.
        if e.find(f"{A}content") is None:
            assert e.xpath("a:link[@rel='alternate']", namespaces=NS)
        # RFC 4287 §4.1.1.1: no two alternate links with the same type and hreflang.
        alts = [(lk.get("type"), lk.get("hreflang")) for lk in e.xpath("a:link[@rel='alternate']", namespaces=NS)]
        assert len(alts) == len(set(alts))
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(ids) == len(set(ids))
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return root


def check_rss(body: bytes) -> etree._Element:
    """Validate an RSS 2.0 document's required elements and parse it with feedparser; returns <channel>."""
    root = etree.fromstring(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for name in ("title", "link", "description"):  # RSS 2.0 required channel elements
        assert (channel.findtext(name) or "").strip(), name
    assert len(channel.xpath("atom:link[@rel='self']", namespaces=NS)) == 1
    assert channel.findtext("lastBuildDate")
    for item in channel.findall("item"):
        assert item.findtext("title") or item.findtext("description")  # one of them is required
        guid = item.find("guid")
        assert guid is not None and guid.text
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    return channel


def check_json(body: bytes) -> dict[str, Any]:
    """Check JSON Feed 1.1's required members and types; returns the document."""
    doc = json.loads(body)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["items"], list)
    for key in ("home_page_url", "feed_url", "next_url", "icon", "favicon", "language", "description"):
        if key in doc:
            assert isinstance(doc[key], str)
    for a in doc.get("authors", []):
        assert isinstance(a, dict) and a.get("name")
    # JSON Feed 1.0 readers read ``author`` (1.1 deprecates it but allows it beside ``authors``).
    assert doc.get("author") == (doc["authors"][0] if doc.get("authors") else None)
    for h in doc.get("hubs", []):
        assert set(h) == {"type", "url"}
    ids = []
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert "content_html" in item or "content_text" in item  # 1.1: one of them is required
        for a in item.get("attachments", []):
            assert a["url"] and a["mime_type"]
        assert item.get("author") == (item["authors"][0] if item.get("authors") else None)
        ids.append(item["id"])
    assert len(ids) == len(set(ids))
    # Keys are sorted and the output is compact: same content, same bytes.
    assert body == json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return doc
