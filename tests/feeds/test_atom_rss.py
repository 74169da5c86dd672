"""Atom and RSS feeds: schema-valid, complete, paged (RFC 5005 §3) and archived (§4)."""

from __future__ import annotations

import re
from datetime import date
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import feedparser
import pytest
from lxml import etree
from support.feeds_checks import NS, A, check_atom, check_json, check_rss, populate

BASE = "https://news.example.org"
TAG = "наркополитика"
SCOPES = [
    "/feeds",
    "/feeds/categories/statements",
    "/feeds/categories/events",
    "/feeds/categories/empty",
    "/feeds/tags/cnd",
    f"/feeds/tags/{quote(TAG)}",
]


def local(url: str) -> str:
    """The path and query of one of our absolute URLs (the test client takes paths)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("query", ["", "?lang=fr", "?q=statement"])
def test_atom_documents_are_valid(client, scope, query):
    r = client.get(f"{scope}/atom.xml{query}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = check_atom(r.data)
    self_href = root.xpath("a:link[@rel='self']/@href", namespaces=NS)[0]
    assert self_href == f"{BASE}{scope}/atom.xml{query}"


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("query", ["", "?lang=fr", "?q=statement"])
def test_rss_documents_are_valid(client, scope, query):
    r = client.get(f"{scope}/rss.xml{query}")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    channel = check_rss(r.data)
    assert channel.xpath("atom:link[@rel='self']/@href", namespaces=NS) == [f"{BASE}{scope}/rss.xml{query}"]
    assert channel.findtext("ttl") == "5"  # MAX_AGE 300 s
    assert channel.findtext("link").startswith(BASE)


def test_atom_feed_and_entry_elements(client):
    root = check_atom(client.get("/feeds/atom.xml").data)
    assert root.findtext(f"{A}id").startswith("tag:example.org,2021:")
    assert root.findtext(f"{A}title") == "Test Network"
    assert root.findtext(f"{A}subtitle") == "Posts for tests"
    assert root.findtext(f"{A}icon") == f"{BASE}/icon.png"
    assert root.findtext(f"{A}logo") == f"{BASE}/logo.png"
    assert root.findtext(f"{A}rights") == "© Test Network"
    assert root.findtext(f"{A}generator") == "feedsvc"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    entries = root.findall(f"{A}entry")
    # Feed updated is the newest entry's updated: from content, never the clock.
    assert root.findtext(f"{A}updated") == max(e.findtext(f"{A}updated") for e in entries)
    titles = [e.findtext(f"{A}title") for e in entries]
    assert titles == ["Déclaration", "Zoned event", "Side event", "Statement & more", "Old report"]  # newest first
    published = [e.findtext(f"{A}published") for e in entries]
    assert published == sorted(published, reverse=True)
    by_title = {e.findtext(f"{A}title"): e for e in entries}
    old = by_title["Old report"]
    enc = old.xpath("a:link[@rel='enclosure']", namespaces=NS)
    assert [(e.get("href"), e.get("type"), e.get("length")) for e in enc] == [
        (f"{BASE}/files/report.pdf", "application/pdf", "12345"),
        ("https://cdn.example.org/a.mp3", "audio/mpeg", None),
    ]
    assert old.xpath("a:link[@rel='alternate']/@href", namespaces=NS) == [f"{BASE}/posts/old-report"]
    cats = {(c.get("term"), c.get("label"), c.get("scheme")) for c in old.findall(f"{A}category")}
    assert ("publications", "Publications", f"{BASE}/categories/") in cats
    assert ("reduction-des-risques", "Réduction des risques", f"{BASE}/tags/") in cats
    assert old.findtext(f"{A}published") and old.findtext(f"{A}summary") == "An old report."
    assert old.find(f"{A}content").get("type") == "html"
    assert "<p>Second paragraph.</p>" in old.findtext(f"{A}content")
    assert old.xpath("*[local-name()='thumbnail']/@url") == [f"{BASE}/img/cover.png"]
    fr = by_title["Déclaration"]
    assert fr.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    st = by_title["Statement & more"]
    assert st.findtext(f"{A}author/{A}name") == "Jane Roe"
    assert st.findtext(f"{A}updated").startswith("2020-03-01T09:00:00")
    ev = by_title["Side event"].findtext(f"{A}content")
    assert "Where: " in ev and "Online" in ev and "https://example.org/register" in ev and "When: " in ev


def test_rss_items(client):
    channel = check_rss(client.get("/feeds/rss.xml").data)
    items = {i.findtext("title"): i for i in channel.findall("item")}
    old = items["Old report"]
    guid = old.find("guid")
    assert guid.get("isPermaLink") == "false" and guid.text.startswith("tag:")
    assert old.findtext("link") == f"{BASE}/posts/old-report"
    enc = old.findall("enclosure")  # RSS allows one: the first attachment
    assert [(e.get("url"), e.get("type"), e.get("length")) for e in enc] == [
        (f"{BASE}/files/report.pdf", "application/pdf", "12345")
    ]
    # The image (newsletter tools read it there), then every further attachment, as Media RSS media:content.
    media = old.findall("{http://search.yahoo.com/mrss/}content")
    assert [(m.get("url"), m.get("type"), m.get("medium")) for m in media] == [
        (f"{BASE}/img/cover.png", None, "image"),
        ("https://cdn.example.org/a.mp3", "audio/mpeg", "audio"),
    ]
    cats = {(c.text, c.get("domain")) for c in old.findall("category")}
    assert ("Publications", f"{BASE}/categories/") in cats and ("CND", f"{BASE}/tags/") in cats
    assert old.findtext("author") == "press@example.org (Test Network)"  # RSS <author> is an e-mail
    assert old.findtext("{http://purl.org/dc/elements/1.1/}language") == "en"
    assert "Second paragraph" in old.findtext("content:encoded", namespaces=NS)
    assert items["Statement & more"].findtext("author") == "jane@example.org (Jane Roe)"
    parsed = feedparser.parse(client.get("/feeds/rss.xml").data)
    assert {e.title for e in parsed.entries} == set(items)


def test_every_attachment_reaches_rss_readers(site, make_app):
    """A podcast client reading RSS through feedparser sees the PDF and the MP3 (and a third)."""
    site.post(
        "report",
        "Report.",
        title="Report",
        categories=["publications"],
        attachments=[
            {"url": "/files/report.pdf", "mime_type": "application/pdf", "size_in_bytes": 12345, "title": "Report (PDF)"},
            {
                "url": "https://cdn.example.org/talk.mp3",
                "mime_type": "audio/mpeg",
                "size_in_bytes": 987654,
                "title": "The talk <recorded> & edited",
            },
            {"url": "/files/slides.odp", "mime_type": "application/vnd.oasis.opendocument.presentation"},
        ],
    )
    site.post("plain", "No attachment.", title="Plain")
    body = make_app().test_client().get("/feeds/rss.xml").data
    check_rss(body)
    entries = {e.title: e for e in feedparser.parse(body).entries}
    report = entries["Report"]
    assert [(e.href, e.type, e.length) for e in report.enclosures] == [(f"{BASE}/files/report.pdf", "application/pdf", "12345")]
    assert [(m["url"], m["type"], m.get("filesize"), m.get("medium")) for m in report.media_content] == [
        ("https://cdn.example.org/talk.mp3", "audio/mpeg", "987654", "audio"),
        (f"{BASE}/files/slides.odp", "application/vnd.oasis.opendocument.presentation", None, None),
    ]
    assert "media_content" not in entries["Plain"] and not entries["Plain"].enclosures
    item = next(i for i in etree.fromstring(body).iter("item") if i.findtext("title") == "Report")
    title = item.find("{http://search.yahoo.com/mrss/}content/{http://search.yahoo.com/mrss/}title")
    assert title.get("type") == "plain" and title.text == "The talk <recorded> & edited"


def test_xml_stylesheet_and_xslt_render(client):
    with client.get("/static/feed.xsl") as r:
        xslt = etree.XSLT(etree.fromstring(r.data))
    for path in ("/feeds/atom.xml", "/feeds/rss.xml"):
        r = client.get(path)
        doc = etree.fromstring(r.data).getroottree()
        pis = [n for n in doc.getroot().itersiblings(preceding=True) if isinstance(n, etree._ProcessingInstruction)]
        assert [pi.target for pi in pis] == ["xml-stylesheet"]
        assert pis[0].get("href") == "/static/feed.xsl" and pis[0].get("type") == "text/xsl"
        html = etree.HTML(str(xslt(doc)))
        assert html.xpath("//input[@id='feed-url']/@value") == [f"{BASE}{path}"]
        assert "web feed" in "".join(html.xpath("//p[@class='notice']//text()"))
        assert "Side event" in html.xpath("//article//a/text()")
        # Without feedsvc's f:human-date, dates print as the feed writes them (left to right).
        dates = html.xpath("//article/p[@class='date']")
        assert dates and all(d.get("dir") == "ltr" for d in dates)
        for d in dates:  # Atom: the RFC 3339 date; RSS: the RFC 822 pubDate
            assert date.fromisoformat(d.text) if "atom" in path else parsedate_to_datetime(d.text)
        css = html.xpath("//link[@rel='stylesheet']/@href")[0]
        with client.get(css) as r:
            assert r.status_code == 200 and r.mimetype == "text/css"


@pytest.mark.parametrize("fmt", ["atom.xml", "rss.xml", "feed.json"])
@pytest.mark.parametrize(
    "scope,query,total",
    [
        ("/feeds", "", 12),
        ("/feeds", "lang=en", 11),
        ("/feeds/categories/statements", "", 9),
        ("/feeds/tags/cnd", "", 10),
        ("/feeds", "q=extra", 7),
    ],
)
def test_paging_links_followed(site, make_app, fmt, scope, query, total):
    populate(site)
    for i in range(7):
        site.post(f"extra-{i}", title=f"Extra {i}", date=f"2022-01-0{i + 1}", categories=["statements"], tags=["CND"])
    client = make_app(FEED_SIZE=3).test_client()
    first = f"{BASE}{scope}/{fmt}" + (f"?{query}" if query else "")
    last_page = -(-total // 3)
    last = f"{BASE}{scope}/{fmt}?" + "&".join(sorted(filter(None, [query, f"page={last_page}"])))
    seen, url, pages, prev = [], first, 0, None
    while url:  # follow next links from the first page to the last
        r = client.get(local(url))
        assert r.status_code == 200
        pages += 1
        links, ids = _links_and_ids(fmt, r.data)
        assert 0 < len(ids) <= 3
        seen += ids
        assert links["first"] == first and links["last"] == last
        assert links.get("previous") == prev
        prev, url = url, links.get("next")
    assert prev == last
    assert pages == last_page and len(seen) == len(set(seen)) == total
    url = last
    while url:  # and back along the previous links
        links, _ = _links_and_ids(fmt, client.get(local(url)).data)
        pages -= 1
        url = links.get("previous")
    assert pages == 0
    sep = "&" if query else "?"
    assert client.get(local(first) + f"{sep}page={last_page + 1}").status_code == 404
    assert client.get(local(first) + f"{sep}page=1").data == client.get(local(first)).data


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
READERS = [
    None,
    "*/*",
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.8",
    "application/rss+xml, application/rdf+xml;q=0.8, application/atom+xml;q=0.6, application/xml;q=0.4, text/xml;q=0.4",
    "text/html, application/atom+xml, application/rss+xml",
]


@pytest.mark.parametrize(
    "path", ["/feeds/atom.xml", "/feeds/rss.xml?lang=fr", "/feeds/archive/2021/atom.xml", "/feeds/tags/cnd/rss.xml"]
)
def test_browsers_get_the_readable_page_readers_get_xml(client, path):
    xml_type = "application/atom+xml" if "atom" in path else "application/rss+xml"
    xml = client.get(path).data
    for accept in READERS:
        r = client.get(path, headers={"Accept": accept} if accept else {})
        assert r.mimetype == xml_type and r.data == xml, accept  # unchanged bytes for feed readers
        assert "Accept" in r.headers["Vary"]
    page = client.get(path, headers={"Accept": BROWSER})
    assert page.mimetype == "text/html" and "Accept" in page.headers["Vary"]
    assert page.headers["ETag"] != client.get(path).headers["ETag"]
    html = etree.HTML(page.data)
    assert html.xpath("//input[@id='feed-url']/@value") == [f"{BASE}{path}"]
    # The page speaks the feed's language (issue 14).
    assert ("flux web" if "lang=fr" in path else "web feed") in "".join(html.xpath("//p[@class='notice']//text()"))
    # No inline script or style: the page works under the strict CSP sent with HTML.
    assert not html.xpath("//script | //style | //*[@style]")
    for json_path in ("/feeds/feed.json", "/feeds/calendar.ics"):  # only Atom and RSS have a page
        assert client.get(json_path, headers={"Accept": BROWSER}).mimetype != "text/html"


def _links_and_ids(fmt: str, body: bytes) -> tuple[dict[str, str], list[str]]:
    if fmt == "atom.xml":
        root = check_atom(body)
        return (
            {lk.get("rel"): lk.get("href") for lk in root.findall(f"{A}link")},
            [e.findtext(f"{A}id") for e in root.findall(f"{A}entry")],
        )
    if fmt == "rss.xml":
        ch = check_rss(body)
        return (
            {lk.get("rel"): lk.get("href") for lk in ch.findall(f"{A}link")},
            [i.findtext("guid") for i in ch.findall("item")],
        )
    from support.feeds_checks import check_json

    doc = check_json(body)
    links = dict(doc.get("_feedsvc", {}).get("links", {}))
    if "next_url" in doc:
        assert links["next"] == doc["next_url"]
    return links, [i["id"] for i in doc["items"]]


@pytest.mark.parametrize("fmt", ["atom.xml", "rss.xml", "feed.json"])
@pytest.mark.parametrize("scope", ["/feeds", "/feeds/categories/statements", "/feeds/tags/cnd"])
def test_archives_rebuild_the_whole_history(site, make_app, fmt, scope):
    populate(site)
    for i in range(5):  # 2022 holds more posts than FEED_SIZE: split into parts
        site.post(f"y22-{i}", title=f"Y22 {i}", date=f"2022-02-0{i + 1}", categories=["statements"], tags=["CND"])
    client = make_app(FEED_SIZE=2).test_client()
    current = f"{BASE}{scope}/{fmt}"
    links, _ = _links_and_ids(fmt, client.get(local(current)).data)
    url, seen, chain = links["prev-archive"], [], []
    while url:
        r = client.get(local(url))
        assert r.status_code == 200
        body = r.data
        if fmt != "feed.json":
            root = etree.fromstring(body)
            assert root.xpath("//fh:archive", namespaces=NS), "RFC 5005 §4: archives carry fh:archive"
        else:
            assert __import__("json").loads(body)["_feedsvc"]["archive"] is True
        alinks, ids = _links_and_ids(fmt, body)
        assert alinks["current"] == current and len(ids) <= 2
        if chain:
            assert alinks["next-archive"] == chain[-1]
        chain.append(url)
        seen += ids
        url = alinks.get("prev-archive")
    # Every post in scope is in exactly one archive, and the large year was split into parts.
    assert len(seen) == len(set(seen))
    assert set(seen) == set(_all_ids(client, scope, fmt))
    assert f"{BASE}{scope}/archive/2022/{fmt}?page=3" in chain


def _all_ids(client, scope: str, fmt: str) -> list[str]:
    ids, url = [], f"{BASE}{scope}/{fmt}"
    while url:
        links, page_ids = _links_and_ids(fmt, client.get(local(url)).data)
        ids += page_ids
        url = links.get("next")
    return ids


def test_archive_bytes_stable_when_other_years_change(site, make_app):
    populate(site)
    app = make_app()
    client = app.test_client()
    before = client.get("/feeds/archive/2019/atom.xml").data
    site.post("2021-12-01-late", title="Late", date="2021-12-01", categories=["statements"])
    from feedsvc.extensions import state

    state(app).live.refresh()
    assert client.get("/feeds/archive/2019/atom.xml").data == before
    after = check_atom(client.get("/feeds/archive/2021/atom.xml").data)
    assert "Late" in [e.findtext(f"{A}title") for e in after.findall(f"{A}entry")]


def test_errors(client):
    assert client.get("/feeds/categories/nope/atom.xml").status_code == 404
    assert client.get("/feeds/tags/nope/rss.xml").status_code == 404
    assert client.get("/feeds/archive/1999/atom.xml").status_code == 404
    assert client.get("/feeds/atom.xml?page=99").status_code == 404
    for q, name in (
        ("page=0", "page"),
        ("page=x", "page"),
        ("page=1.5", "page"),
        ("lang=!!", "lang"),
        ("page=-1", "page"),
        ("page=%2B1", "page"),
        ("page=%D9%A3", "page"),
        ("page=", "page"),
        ("page=1&page=2", "page"),
        ("q=" + "x" * 201, "q"),
        ("lang=en" + "-abc" * 20, "lang"),
    ):
        r = client.get(f"/feeds/atom.xml?{q}")
        assert r.status_code == 400, q
        err = r.get_json()["error"]
        assert err["status"] == 400 and err["code"] == "invalid_parameters"
        assert [d["name"] for d in err["details"]] == [name], q
    r = client.get("/feeds/rss.xml?page=0&lang=!!")  # every bad argument is named
    assert sorted(d["name"] for d in r.get_json()["error"]["details"]) == ["lang", "page"]
    assert client.get("/feeds/opml.xml?format=x").get_json()["error"]["details"][0]["name"] == "format"
    assert client.get("/feeds/archive/2021/atom.xml?page=0").status_code == 400
    assert client.get("/feeds/archive/2021/atom.xml?page=2").status_code == 404
    assert client.get("/feeds/atom.xml?utm_source=x").status_code == 200  # unknown args ignored


def test_empty_category_is_a_valid_empty_feed(client):
    root = check_atom(client.get("/feeds/categories/empty/atom.xml").data)
    assert root.findall(f"{A}entry") == []
    check_rss(client.get("/feeds/categories/empty/rss.xml").data)


def test_language_variants_have_their_own_id(client):
    ids = set()
    for q in ("", "?lang=fr", "?lang=en", "?q=statement"):
        root = check_atom(client.get(f"/feeds/atom.xml{q}").data)
        ids.add(root.findtext(f"{A}id"))
    assert len(ids) == 4
    fr = check_atom(client.get("/feeds/atom.xml?lang=fr").data)
    assert fr.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert [e.findtext(f"{A}title") for e in fr.findall(f"{A}entry")] == ["Déclaration"]
    rss = check_rss(client.get("/feeds/rss.xml?lang=fr").data)
    assert rss.findtext("language") == "fr"
    # Language tags are case-insensitive: the same feed, with its canonical self link and id.
    upper = check_atom(client.get("/feeds/atom.xml?lang=FR").data)
    assert upper.findtext(f"{A}id") == fr.findtext(f"{A}id")
    assert upper.xpath("a:link[@rel='self']/@href", namespaces=NS) == [f"{BASE}/feeds/atom.xml?lang=fr"]


def test_same_content_same_bytes(site, make_app):
    populate(site)
    a = make_app().test_client()
    b = make_app().test_client()  # a second app: its own cache, its own renders
    for path in (
        "/feeds/atom.xml",
        "/feeds/rss.xml",
        "/feeds/feed.json",
        "/feeds/calendar.ics",
        "/feeds/opml.xml",
        "/feeds/archive/2021/atom.xml",
    ):
        assert a.get(path).data == b.get(path).data, path


def test_websub_links_in_documents_and_headers(site, make_app):
    populate(site)
    site.write_site(websub_hub="http://127.0.0.1:9/hub")
    client = make_app().test_client()
    for path in ("/feeds/atom.xml?lang=fr", "/feeds/tags/cnd/rss.xml", "/feeds/feed.json"):
        r = client.get(path)
        links = r.headers.getlist("Link")
        assert '<http://127.0.0.1:9/hub>; rel="hub"' in links
        assert [lk for lk in links if 'rel="self"' in lk] == [f'<{BASE}{path}>; rel="self"']
        if path.endswith(".json"):
            assert r.get_json()["hubs"] == [{"type": "WebSub", "url": "http://127.0.0.1:9/hub"}]
            continue
        root = etree.fromstring(r.data)
        xp = "a:link" if root.tag == f"{A}feed" else "channel/a:link"
        assert root.xpath(f"{xp}[@rel='hub']/@href", namespaces=NS) == ["http://127.0.0.1:9/hub"]
        assert root.xpath(f"{xp}[@rel='self']/@href", namespaces=NS) == [f"{BASE}{path}"]


def test_documents_stay_within_the_byte_budget(site, make_app):
    long = "\n\n".join(f"Paragraph {i} " + "word " * 200 for i in range(10))  # ~10 KB of HTML
    for i in range(3):
        site.post(f"long-{i}", long, title=f"Long {i}", date=f"2021-01-0{i + 1}", summary=f"Summary {i}.")
    client = make_app(FEED_MAX_BYTES=15000).test_client()
    root = check_atom(client.get("/feeds/atom.xml").data)
    contents = {e.findtext(f"{A}title"): e.findtext(f"{A}content") for e in root.findall(f"{A}entry")}
    assert "Paragraph 9" in contents["Long 2"]  # the newest entry is whole
    for title in ("Long 1", "Long 0"):  # the others point to the full post
        assert "Paragraph" not in contents[title] and "Read the full post" in contents[title]
        assert f"Summary {title[-1]}." in contents[title]
    assert sum(len(c.encode()) for c in contents.values()) <= 15000
    items = {i["title"]: i["content_html"] for i in check_json(client.get("/feeds/feed.json").data)["items"]}
    assert items == contents
    channel = check_rss(client.get("/feeds/rss.xml").data)
    assert [i.findtext("content:encoded", namespaces=NS) for i in channel.findall("item")] == list(contents.values())
    whole = check_atom(make_app(FEED_MAX_BYTES=0).test_client().get("/feeds/atom.xml").data)
    assert all("Paragraph 9" in e.findtext(f"{A}content") for e in whole.findall(f"{A}entry"))


MEDIA_NS = {"media": "http://search.yahoo.com/mrss/"}
#: The W3C Feed Validator's test of an RSS URL (``rfc2396_full``): a scheme, then only URI characters.
RFC2396_FULL = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+$")


def _iri(uri: str) -> str:
    """A URI read back as the IRI it stands for: the IDNA host decoded, percent-encoded UTF-8 decoded."""
    parts = urlsplit(uri)
    host = parts.netloc.encode("ascii").decode("idna") if parts.netloc else ""
    return unquote(urlunsplit(parts._replace(netloc=host)))


def test_rss_urls_are_uris_with_idn_hosts_and_non_ascii_paths(site, make_app):
    """RSS 2.0 names URLs (RFC 2396/3986: ASCII); the W3C Feed Validator refuses an IRI in ``enclosure``,
    and podcast apps fetch it as written. Atom takes IRIs (RFC 4287 §3.4) and keeps them."""
    site.write_site(logo="https://bücher.example/лого.png")
    urls = ["https://bücher.example/файл.pdf", "https://cdn.example.org/音频 1.mp3".replace(" ", "%20"), "/files/déclaration.pdf"]
    site.post(
        "enc",
        title="Enclosures",
        attachments=[{"url": u, "mime_type": "application/pdf", "size_in_bytes": 10} for u in urls],
        image="https://img.example/画像.png?x=ü&y=1",
    )
    client = make_app().test_client()
    channel = check_rss(client.get("/feeds/rss.xml").data)
    written = [
        *channel.xpath("image/url/text()"),
        *channel.xpath("item/enclosure/@url | item/media:content/@url | item/media:thumbnail/@url", namespaces=MEDIA_NS),
    ]
    assert len(written) == 1 + 1 + 3 + 1  # logo, enclosure, media:content (image + 2 attachments), thumbnail
    for uri in written:
        assert RFC2396_FULL.match(uri), uri
    expected = ["https://bücher.example/лого.png", "https://img.example/画像.png?x=ü&y=1"]
    expected += ["https://bücher.example/файл.pdf", "https://cdn.example.org/音频 1.mp3", f"{BASE}/files/déclaration.pdf"]
    assert {_iri(u) for u in written} == set(expected)
    entry = check_atom(client.get("/feeds/atom.xml").data).find(f"{A}entry")
    assert [lk.get("href") for lk in entry.xpath("a:link[@rel='enclosure']", namespaces=NS)] == [
        "https://bücher.example/файл.pdf",
        "https://cdn.example.org/音频%201.mp3",
        f"{BASE}/files/déclaration.pdf",
    ]
