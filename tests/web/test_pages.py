"""HTML pages through the Flask test client, parsed with lxml (never compared as strings)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = "https://news.example.org"
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"> & "quotes"'
FEED_TYPES = {"application/atom+xml", "application/rss+xml", "application/feed+json"}


def parse(resp: Any) -> Any:
    """The response body as an lxml HTML tree (and the response is HTML, UTF-8)."""
    assert resp.mimetype == "text/html", resp.mimetype
    assert resp.mimetype_params.get("charset") == "utf-8"
    return lxml.html.document_fromstring(resp.get_data())


def alternates(tree: Any) -> dict[str, str]:
    """Feed autodiscovery links: media type -> href (oEmbed discovery links are not feeds)."""
    return {
        el.get("type"): el.get("href")
        for el in tree.xpath("//head/link[@rel='alternate']")
        if not el.get("type", "").endswith("+oembed")
    }


def text(el: Any) -> str:
    return " ".join(el.text_content().split())


@pytest.fixture
def seeded(site: Any) -> Any:
    """A small site: statements, an event with a registration link, attachments, a non-ASCII tag."""
    site.post("s1", "First *statement* body.", title="Statement one", date="2021-04-01", tags=["CND", "Drug policy"])
    site.post(
        "s2",
        "Second.",
        title="Statement two",
        date="2021-04-02",
        tags=["Ñandú Ürün"],
        aliases=["old-two"],
        summary="Summary of two",
    )
    site.post(
        "ev",
        "Come along.",
        title="Side event",
        date="2021-03-25",
        categories=["events"],
        event={
            "start": "2021-04-12T14:00:00+02:00",
            "end": "2021-04-12T15:30:00+02:00",
            "location": "Online",
            "url": "https://register.example.org/x",
        },
        attachments=[
            {"url": "https://example.org/r.pdf", "mime_type": "application/pdf", "size_in_bytes": 1234567, "title": "The report"}
        ],
    )
    return site


@pytest.fixture
def wclient(seeded: Any, make_app: Any) -> Any:
    with make_app().test_client() as c:
        yield c


def test_home_lists_posts_categories_and_every_feed(wclient: Any) -> None:
    resp = wclient.get("/")
    assert resp.status_code == 200
    tree = parse(resp)
    assert tree.get("lang") == "en"
    assert tree.xpath("//main") and tree.xpath("//header") and tree.xpath("//footer") and tree.xpath("//nav")
    assert len(tree.xpath("//h1")) == 1
    # Newest first.
    titles = [text(a) for a in tree.xpath("//section[@id='latest']//h3/a")]
    assert titles == ["Statement two", "Statement one", "Side event"]
    cats = [text(a) for a in tree.xpath("//section[@id='categories']//li/a")]
    assert cats == ["Statements", "Events", "Publications", "Empty"]
    # Autodiscovery for the main feeds, absolute from base_url.
    assert alternates(tree) == {
        "application/atom+xml": f"{BASE}/feeds/atom.xml",
        "application/rss+xml": f"{BASE}/feeds/rss.xml",
        "application/feed+json": f"{BASE}/feeds/feed.json",
    }
    # Every feed (all + each category, four formats) has a copy-able URL and subscribe links.
    urls = {i.get("value") for i in tree.xpath("//input[@readonly]")}
    for scope in (
        "/feeds",
        "/feeds/categories/statements",
        "/feeds/categories/events",
        "/feeds/categories/publications",
        "/feeds/categories/empty",
    ):
        for name in ("atom.xml", "rss.xml", "feed.json", "calendar.ics"):
            assert f"{BASE}{scope}/{name}" in urls
    for field in tree.xpath("//input[@readonly]"):
        assert tree.xpath(f"//label[@for='{field.get('id')}']"), "every URL field is labelled"
        li = field.xpath("ancestor::li[1]")[0]
        links = [a.get("href") for a in li.xpath(".//p[@class='subscribe']/a")]
        assert field.get("value") in links
        if field.get("value").endswith(".ics"):
            assert "webcal://" + field.get("value").split("://", 1)[1] in links
        else:
            assert any(h.startswith("https://feedly.com/i/subscription/feed/") for h in links)
    assert f"{BASE}/feeds/opml.xml" in tree.xpath("//a/@href")


def test_post_page_shows_everything(wclient: Any) -> None:
    tree = parse(wclient.get("/posts/ev"))
    assert text(tree.xpath("//h1")[0]) == "Side event"
    times = tree.xpath("//article//time/@datetime")
    assert "2021-03-25T00:00:00+00:00" in times  # date-only: 00:00 in the site zone (GMT then)
    assert "2021-04-12T14:00:00+02:00" in times and "2021-04-12T15:30:00+02:00" in times
    event = tree.xpath("//section[@class='event']")[0]
    assert "Online" in text(event)
    assert "https://register.example.org/x" in event.xpath(".//a/@href")
    att = tree.xpath("//section[@class='attachments']//a")[0]
    assert att.get("href") == "https://example.org/r.pdf" and text(att) == "The report"
    assert "1.2 MB" in text(tree.xpath("//section[@class='attachments']")[0])
    assert tree.xpath("//link[@rel='canonical']/@href") == [f"{BASE}/posts/ev"]
    assert f"{BASE}/categories/events" in tree.xpath("//article//a/@href")
    assert set(alternates(tree)) == FEED_TYPES


def test_post_content_and_tags(wclient: Any) -> None:
    tree = parse(wclient.get("/posts/s1"))
    content = tree.xpath("//div[@class='content']")[0]
    assert content.xpath(".//em")[0].text == "statement"
    tags = {text(a): a.get("href") for a in tree.xpath("//article//a[@class='tag']")}
    assert tags == {"CND": f"{BASE}/tags/cnd", "Drug policy": f"{BASE}/tags/drug-policy"}


def test_alias_redirects_308_and_unknown_is_html_404(wclient: Any) -> None:
    resp = wclient.get("/posts/old-two")
    assert resp.status_code == 308
    assert resp.headers["Location"] == f"{BASE}/posts/s2"
    missing = wclient.get("/posts/no-such-post")
    assert missing.status_code == 404
    tree = parse(missing)
    assert "no-such-post" in text(tree.xpath("//main")[0])
    assert "ETag" not in missing.headers
    for url in ("/categories/nope", "/tags/nope"):
        assert wclient.get(url).status_code == 404


def test_permalink_sends_post_pages_to_the_main_website(seeded: Any, make_app: Any) -> None:
    seeded.write_site(permalink="https://example.org/news/{year}/{slug}/")
    with make_app().test_client() as c:
        resp = c.get("/posts/s1")
        assert resp.status_code == 302  # temporary: the permalink setting can change
        assert resp.headers["Location"] == "https://example.org/news/2021/s1/"
        # An alias goes straight to the permalink, with one redirect.
        assert c.get("/posts/old-two").headers["Location"] == "https://example.org/news/2021/s2/"
        # Lists link to the permalink too.
        hrefs = parse(c.get("/")).xpath("//section[@id='latest']//h3/a/@href")
        assert "https://example.org/news/2021/s1/" in hrefs


def test_category_page_lists_and_discovers_its_feeds(wclient: Any) -> None:
    tree = parse(wclient.get("/categories/statements"))
    assert [text(a) for a in tree.xpath("//main//ol//h3/a")] == ["Statement two", "Statement one"]
    assert alternates(tree) == {
        "application/atom+xml": f"{BASE}/feeds/categories/statements/atom.xml",
        "application/rss+xml": f"{BASE}/feeds/categories/statements/rss.xml",
        "application/feed+json": f"{BASE}/feeds/categories/statements/feed.json",
    }
    empty = parse(wclient.get("/categories/empty"))
    assert not empty.xpath("//main//ol//h3")
    assert f"{BASE}/feeds/categories/empty/atom.xml" in empty.xpath("//input/@value")


def test_tag_page_with_non_ascii_slug(wclient: Any, seeded: Any) -> None:
    home = parse(wclient.get("/"))
    href = next(a.get("href") for a in home.xpath("//a") if text(a).startswith("Ñandú Ürün"))
    path = urlsplit(href).path
    assert path.startswith("/tags/") and path.isascii()  # percent-encoded in links
    resp = wclient.get(path)
    assert resp.status_code == 200
    tree = parse(resp)
    assert [text(a) for a in tree.xpath("//main//ol//h3/a")] == ["Statement two"]
    atom = alternates(tree)["application/atom+xml"]
    assert unquote(urlsplit(atom).path) == f"/tags/{unquote(path[len('/tags/') :])}/atom.xml".replace("/tags/", "/feeds/tags/", 1)
    assert "calendar.ics" not in " ".join(tree.xpath("//input/@value"))


def test_hostile_title_is_text(site: Any, make_app: Any) -> None:
    site.post("evil", "<script>alert(1)</script><p onclick='x()'>hi</p>", title=HOSTILE, tags=[HOSTILE])
    with make_app().test_client() as c:
        for url in ("/", "/posts/evil", "/categories/statements"):
            tree = parse(c.get(url))
            assert not tree.xpath("//script[not(@src) and not(@type='application/ld+json')]"), url
            assert not tree.xpath("//img[@onerror] | //*[@onclick]"), url
            assert HOSTILE in text(tree.xpath("//main")[0]), url


def test_pages_need_no_inline_script_or_style(wclient: Any) -> None:
    """The strict CSP (script-src 'self'; style-src 'self') must not break any page."""
    for url in ("/", "/posts/ev", "/posts/s1", "/categories/events", "/tags/cnd", "/embed", "/posts/missing"):
        tree = lxml.html.document_fromstring(wclient.get(url).get_data())
        assert not tree.xpath("//script[not(@src) and not(@type='application/ld+json')]"), url
        assert not tree.xpath("//style | //*[@style]"), url
        on_attrs = [a for el in tree.iter() if isinstance(el.tag, str) for a in el.attrib if a.startswith("on")]
        assert not on_attrs, url
        for src in tree.xpath("//script/@src | //link[@rel='stylesheet']/@href"):
            assert src.startswith("/"), src  # same origin, whatever host serves us
            asset = wclient.get(src)
            asset.close()  # a static file response holds the file open
            assert asset.status_code == 200, src


def test_same_content_same_bytes_and_no_host_header(seeded: Any, make_app: Any) -> None:
    bodies = []
    for _ in range(2):
        with make_app().test_client() as c:
            bodies.append(
                [
                    c.get(u, headers={"Host": "evil.example"}).get_data()
                    for u in ("/", "/posts/ev", "/categories/events", "/tags/cnd", "/embed")
                ]
            )
    assert bodies[0] == bodies[1]
    assert all(b"evil.example" not in b for b in bodies[0])


def test_html_is_cached_and_revalidated(wclient: Any) -> None:
    for url in ("/", "/posts/s1", "/categories/statements", "/tags/cnd", "/embed"):
        first = wclient.get(url)
        etag = first.headers["ETag"]
        assert first.headers.get("Last-Modified")
        again = wclient.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and not again.get_data(), url


def test_embed_js_is_small_cached_javascript(wclient: Any) -> None:
    resp = wclient.get("/embed.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert "max-age" in resp.headers.get("Cache-Control", "")
    assert len(resp.get_data()) < 12_000  # with its words in five languages (issue 14)
    assert wclient.get("/embed.js", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304
    body = resp.get_data(as_text=True)
    assert "innerHTML" not in body and "insertAdjacentHTML" not in body and "eval(" not in body


def test_embed_page_offers_every_choice(wclient: Any) -> None:
    tree = parse(wclient.get("/embed"))
    cats = tree.xpath("//select[@id='embed-category']/option/@value")
    assert cats == ["", "statements", "events", "publications", "empty"]
    assert "cnd" in tree.xpath("//select[@id='embed-tag']/option/@value")
    assert tree.xpath("//select[@id='embed-lang']/option/@value") == ["", "en"]
    assert tree.xpath("//input[@id='embed-limit']") and tree.xpath("//input[@id='embed-summary']")
    for control in tree.xpath("//form//select | //form//input"):
        cid = control.get("id")
        assert tree.xpath(f"//label[@for='{cid}']") or control.xpath("ancestor::label"), cid
    snippet = tree.xpath("//textarea[@id='embed-snippet']")[0].text
    fragment = lxml.html.fragment_fromstring(snippet, create_parent="div")
    assert fragment.xpath("//div[@data-feedsvc]")
    assert fragment.xpath("//script/@src") == [f"{BASE}/embed.js"]
    assert tree.xpath("//form/@data-script-url") == [f"{BASE}/embed.js"]


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.text(min_size=1, max_size=60),
    body=st.text(max_size=300),
    raw=st.sampled_from(["", "<script>alert(1)</script>", "]]>", "<img src=x onerror=alert(1)>", "&amp; &"]),
)
def test_any_title_and_body_stay_text(site: Any, make_app: Any, title: str, body: str, raw: str) -> None:
    """Whatever the editor writes, pages parse, run nothing, and show the title as text."""
    from feedsvc.extensions import state

    site.post("p", body + raw, title=title + raw, tags=[title + raw or "x"])
    app = make_app()
    with app.test_client() as c, app.app_context():
        post = state(app).live.current.get("p")
        urls = ["/", "/embed"] + (["/posts/p", f"/tags/{post.tags[0].slug}"] if post else [])
        for url in urls:
            resp = c.get(url.replace("%", "%25"))
            assert resp.status_code == 200, url
            tree = parse(resp)
            assert not tree.xpath(
                "//script[not(@src) and not(@type='application/ld+json')] | //main//img[@onerror] | //style | //*[@style]"
            ), url
            if post is not None and url != "/embed":
                shown = [text(h) for h in tree.xpath("//main//h1 | //main//h3")]
                assert " ".join(post.title.split()) in shown, url


@pytest.mark.parametrize(
    "path",
    [
        "/posts/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/posts/%00%01%1b[31m",
        "/categories/" + "x" * 5000,
        "/tags/%F0%9F%92%A5%20%22%3E%3Cimg",
        "/posts/..%2f..%2fetc",
    ],
)
def test_odd_paths_get_a_short_safe_404(wclient: Any, path: str) -> None:
    resp = wclient.get(path)
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    body = resp.get_data(as_text=True)
    assert len(body) < 5000
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in body)
    tree = parse(resp)
    assert not tree.xpath("//script[not(@src) and not(@type='application/ld+json')] | //main//img")


def test_asset_list_covers_every_page_reference(wclient: Any) -> None:
    from feedsvc.assets import asset_urls

    listed = set()
    referenced = set()
    with wclient.application.app_context():
        from feedsvc.extensions import current_index

        listed = {u.removeprefix(BASE) for u in asset_urls(current_index().site)}
    for url in ("/", "/posts/ev", "/categories/events", "/tags/cnd", "/embed", "/posts/missing", "/posts/ev/embed"):
        tree = lxml.html.document_fromstring(wclient.get(url).get_data())
        referenced |= {
            s.removeprefix(BASE)
            for s in tree.xpath("//script/@src | //link[@rel='stylesheet']/@href | //link[@rel='icon']/@href")
            if s.removeprefix(BASE).startswith("/static/")
        }
    assert referenced == listed
