"""How the feed writers render: the stylesheet instruction's place, and bytes that need no second pass."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from feedsvc.feeds.document import _utf8_len

PI = b'<?xml-stylesheet type="text/xsl" href="/static/feed.xsl"?>'
DOCS = ["/feeds/{f}", "/feeds/categories/statements/{f}", "/feeds/tags/cnd/{f}", "/feeds/archive/2021/{f}", "/feeds/{f}?lang=fr"]


@pytest.mark.parametrize("fmt,root", [("atom.xml", b"<feed "), ("rss.xml", b"<rss ")])
@pytest.mark.parametrize("path", DOCS)
def test_stylesheet_instruction_once_between_declaration_and_root(client, fmt, root, path):
    r = client.get(path.format(f=fmt))
    assert r.status_code == 200
    body = r.data
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n" + PI + root)
    assert body.count(b"<?xml-stylesheet") == 1
    assert len(re.findall(rb"<\?", body)) == 2  # the declaration and the stylesheet, nothing else


@pytest.mark.parametrize("fmt", ["atom.xml", "rss.xml"])
@pytest.mark.parametrize("path", DOCS)
def test_documents_are_lxml_round_trip_stable(client, fmt, path):
    """The writers' bytes are what a parse and re-serialisation gives (what the writers once did)."""
    body = client.get(path.format(f=fmt)).data
    parser = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
    tree = etree.fromstring(body, parser).getroottree()
    assert etree.tostring(tree, xml_declaration=True, encoding="UTF-8") == body


@pytest.mark.parametrize("text", ["", "plain", "é", "Наркополитика — “quotes”", "\U0001f600 emoji"])
def test_utf8_len(text):
    assert _utf8_len(text) == len(text.encode("utf-8"))
