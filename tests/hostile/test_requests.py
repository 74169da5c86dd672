"""Hostile requests: a 4xx JSON error (or a correct 200), never a 5xx, a stack trace or a file outside content/.

The table goes through the Flask test client; `test_raw_socket` sends what the test
client would normalise (raw 8 KB request lines, NUL bytes, bad percent-encoding, odd
methods, over-long headers) to a real gunicorn started with the shipped gunicorn.conf.py.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from support.gunicorn_server import Server

from feedsvc.extensions import state

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-outside-content-7f3a"
#: Text that must never reach a client: stack traces, source paths, files outside content/.
LEAKS = re.compile(
    r"Traceback \(most recent call last\)|File \"/|site-packages|\.py\", line|werkzeug\.exceptions\.|"
    + re.escape(SECRET)
    + r"|root:x:0:0|/work/|"
    + re.escape(str(ROOT)),
)
LONG = "a" * 8192

# (id, method, path-and-query, headers, expectation)
#   "4xx": a client error (JSON error shape under /api and /feeds)
#   "ok":  harmless: 200 (or 304) with a valid body
#   "any": either, as long as it is not a 5xx (e.g. Unicode digits read as numbers)
ROWS: list[tuple[str, str, str, dict[str, str], str]] = [
    # -- page / per_page -----------------------------------------------------------------------
    ("page-negative", "GET", "/api/v1/posts?page=-1", {}, "4xx"),
    ("page-zero", "GET", "/api/v1/posts?page=0", {}, "4xx"),
    ("page-huge", "GET", "/api/v1/posts?page=99999999999999999999999999", {}, "4xx"),
    ("page-past-end", "GET", "/api/v1/posts?page=1000", {}, "4xx"),
    ("page-text", "GET", "/api/v1/posts?page=abc", {}, "4xx"),
    ("page-float", "GET", "/api/v1/posts?page=1.5", {}, "4xx"),
    ("page-exp", "GET", "/api/v1/posts?page=1e3", {}, "4xx"),
    ("page-empty", "GET", "/api/v1/posts?page=", {}, "4xx"),
    ("page-arabic-digit", "GET", "/api/v1/posts?page=" + quote("١"), {}, "any"),
    ("page-fullwidth", "GET", "/api/v1/posts?page=" + quote("１"), {}, "any"),
    ("page-superscript", "GET", "/api/v1/posts?page=" + quote("²"), {}, "4xx"),
    ("per-page-zero", "GET", "/api/v1/posts?per_page=0", {}, "4xx"),
    ("per-page-negative", "GET", "/api/v1/posts?per_page=-5", {}, "4xx"),
    ("per-page-over-max", "GET", "/api/v1/posts?per_page=101", {}, "4xx"),
    ("per-page-1e9", "GET", f"/api/v1/posts?per_page={10**9}", {}, "4xx"),
    ("per-page-text", "GET", "/api/v1/posts?per_page=all", {}, "4xx"),
    ("per-page-devanagari", "GET", "/api/v1/posts?per_page=" + quote("५"), {}, "any"),
    ("page-repeated", "GET", "/api/v1/posts?page=1&page=2", {}, "any"),
    ("per-page-repeated", "GET", "/api/v1/posts?per_page=5&per_page=500", {}, "any"),
    ("unknown-cache-buster", "GET", "/api/v1/posts?_=1700000000", {}, "ok"),
    ("unknown-params", "GET", "/api/v1/posts?foo=bar&callback=alert", {}, "ok"),
    ("feed-page-zero", "GET", "/feeds/atom.xml?page=0", {}, "4xx"),
    ("feed-page-text", "GET", "/feeds/rss.xml?page=x", {}, "4xx"),
    ("feed-page-huge", "GET", "/feeds/feed.json?page=" + "9" * 40, {}, "4xx"),
    ("feed-unknown-param", "GET", "/feeds/atom.xml?utm_source=x", {}, "ok"),
    ("category-posts-per-page", "GET", "/api/v1/categories/statements/posts?per_page=-1", {}, "4xx"),
    # -- dates -----------------------------------------------------------------------------------
    ("since-garbage", "GET", "/api/v1/posts?since=yesterday", {}, "4xx"),
    ("since-bad-month", "GET", "/api/v1/posts?since=2021-13-45", {}, "4xx"),
    ("until-garbage", "GET", "/api/v1/posts?until=" + quote("9999-99-99T99:99:99"), {}, "4xx"),
    ("since-bad-offset", "GET", "/api/v1/posts?since=" + quote("2021-04-01T00:00:00+99:00"), {}, "4xx"),
    ("updated-since-garbage", "GET", "/api/v1/posts?updated_since=" + quote("1' OR '1'='1"), {}, "4xx"),
    ("since-year-1", "GET", "/api/v1/posts?since=0001-01-01", {}, "any"),
    ("until-year-9999", "GET", "/api/v1/posts?until=9999-12-31T23:59:59Z", {}, "any"),
    # -- search strings --------------------------------------------------------------------------
    ("q-sql", "GET", "/api/v1/posts?q=" + quote("' OR 1=1; DROP TABLE posts; --"), {}, "ok"),
    ("q-script", "GET", "/api/v1/posts?q=" + quote("<script>alert(1)</script>"), {}, "ok"),
    ("q-nul", "GET", "/api/v1/posts?q=%00", {}, "any"),
    ("q-long", "GET", "/api/v1/posts?q=" + "word+" * 800, {}, "any"),
    ("q-feed-script", "GET", "/feeds/atom.xml?q=" + quote('"><script>alert(1)</script>'), {}, "ok"),
    ("q-feed-sql", "GET", "/feeds/rss.xml?q=" + quote("1 UNION SELECT password FROM users"), {}, "ok"),
    ("q-feed-backspace", "GET", "/feeds/atom.xml?q=%08", {}, "any"),
    ("q-feed-nul", "GET", "/feeds/rss.xml?q=%00", {}, "any"),
    ("q-feed-escape", "GET", "/feeds/feed.json?q=%1b%5b31m", {}, "any"),
    ("q-feed-category-control", "GET", "/feeds/categories/statements/atom.xml?q=a%01b", {}, "any"),
    ("lang-feed-control", "GET", "/feeds/atom.xml?lang=e%07n", {}, "any"),
    ("lang-traversal", "GET", "/api/v1/posts?lang=" + quote("../../../etc/passwd"), {}, "any"),
    ("category-script", "GET", "/api/v1/posts?category=" + quote("<img src=x onerror=alert(1)>"), {}, "any"),
    ("tag-nul", "GET", "/api/v1/posts?tag=%00", {}, "any"),
    # -- path traversal in every segment ---------------------------------------------------------
    ("api-post-traversal", "GET", "/api/v1/posts/..%2f..%2fsite.yaml", {}, "4xx"),
    ("api-post-dotdot", "GET", "/api/v1/posts/%2e%2e", {}, "4xx"),
    ("api-post-double-encoded", "GET", "/api/v1/posts/%252e%252e%252fsite.yaml", {}, "4xx"),
    ("api-post-etc-passwd", "GET", "/api/v1/posts/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", {}, "4xx"),
    ("api-category-traversal", "GET", "/api/v1/categories/..%2f..%2fsite.yaml", {}, "4xx"),
    ("api-category-posts-traversal", "GET", "/api/v1/categories/%2e%2e%2f%2e%2e/posts", {}, "4xx"),
    ("api-version-traversal", "GET", "/api/%2e%2e/posts", {}, "4xx"),
    ("feed-category-traversal", "GET", "/feeds/categories/..%2fsite.yaml/atom.xml", {}, "4xx"),
    ("feed-category-double", "GET", "/feeds/categories/%252e%252e%252f%252e%252e/rss.xml", {}, "4xx"),
    ("feed-tag-traversal", "GET", "/feeds/tags/%2e%2e%2f%2e%2e%2fetc%2fpasswd/feed.json", {}, "4xx"),
    ("feed-file-traversal", "GET", "/feeds/..%2f..%2fsite.yaml", {}, "4xx"),
    ("feed-name-traversal", "GET", "/feeds/categories/statements/..%2f..%2f..%2fsecret.txt", {}, "4xx"),
    ("feed-archive-traversal", "GET", "/feeds/archive/..%2f..%2f/atom.xml", {}, "4xx"),
    ("html-post-traversal", "GET", "/posts/..%2f..%2fsite.yaml", {}, "4xx"),
    ("html-post-double", "GET", "/posts/%252e%252e%252fsecret.txt", {}, "4xx"),
    ("html-post-source-name", "GET", "/posts/2021", {}, "4xx"),
    ("html-category-traversal", "GET", "/categories/..%2f..%2fsecret.txt", {}, "4xx"),
    ("html-tag-traversal", "GET", "/tags/%2e%2e%2f%2e%2e%2fsite.yaml", {}, "4xx"),
    ("static-traversal", "GET", "/static/..%2f..%2fconfig.py", {}, "4xx"),
    ("static-double", "GET", "/static/%252e%252e/%252e%252e/secret.txt", {}, "4xx"),
    ("static-dotdot", "GET", "/static/../__init__.py", {}, "4xx"),
    ("embed-traversal", "GET", "/embed.js/..%2f..%2fsite.yaml", {}, "4xx"),
    # -- NUL bytes and long URLs -----------------------------------------------------------------
    ("api-post-nul", "GET", "/api/v1/posts/%00", {}, "4xx"),
    ("api-post-nul-mid", "GET", "/api/v1/posts/abc%00.md", {}, "4xx"),
    ("feed-tag-nul", "GET", "/feeds/tags/%00/atom.xml", {}, "4xx"),
    ("html-post-nul", "GET", "/posts/a%00b", {}, "4xx"),
    ("long-query", "GET", "/api/v1/posts?q=" + LONG, {}, "any"),
    ("long-slug", "GET", "/api/v1/posts/" + LONG, {}, "4xx"),
    ("long-tag-feed", "GET", "/feeds/tags/" + LONG + "/atom.xml", {}, "4xx"),
    ("long-html", "GET", "/posts/" + LONG, {}, "4xx"),
    ("long-param-name", "GET", "/feeds/atom.xml?" + LONG + "=1", {}, "ok"),
    ("many-params", "GET", "/api/v1/posts?" + "&".join(f"p{i}=1" for i in range(2000)), {}, "ok"),
    ("bad-percent", "GET", "/api/v1/posts?page=%zz", {}, "4xx"),
    ("bad-utf8-path", "GET", "/api/v1/posts/%ff%fe", {}, "4xx"),
    ("bad-utf8-query", "GET", "/api/v1/posts?q=%ff%fe", {}, "any"),
    # -- odd methods -----------------------------------------------------------------------------
    ("put-api", "PUT", "/api/v1/posts", {}, "4xx"),
    ("delete-api-post", "DELETE", "/api/v1/posts/first", {}, "4xx"),
    ("patch-api", "PATCH", "/api/v1/categories", {}, "4xx"),
    ("post-api", "POST", "/api/v1/posts", {}, "4xx"),
    ("trace-feed", "TRACE", "/feeds/atom.xml", {}, "4xx"),
    ("propfind-feed", "PROPFIND", "/feeds/rss.xml", {}, "4xx"),
    ("put-feed", "PUT", "/feeds/feed.json", {}, "4xx"),
    ("delete-html", "DELETE", "/", {}, "4xx"),
    ("trace-html", "TRACE", "/posts/first", {}, "4xx"),
    ("mkcol-api", "MKCOL", "/api/v1/tags", {}, "4xx"),
    # -- bogus headers ---------------------------------------------------------------------------
    ("accept-bogus", "GET", "/api/v1/posts", {"Accept": "application/x-evil"}, "any"),
    ("accept-html-on-api", "GET", "/api/v1/posts", {"Accept": "text/html"}, "any"),
    ("accept-malformed", "GET", "/feeds/atom.xml", {"Accept": "*/*;q=garbage;;,,=,"}, "any"),
    ("accept-encoding-bogus", "GET", "/feeds/rss.xml", {"Accept-Encoding": "gzip;q=abc, br;q=-1, zz"}, "ok"),
    ("inm-garbage", "GET", "/feeds/atom.xml", {"If-None-Match": '"unterminated'}, "ok"),
    ("inm-star", "GET", "/api/v1/posts", {"If-None-Match": "*"}, "any"),
    ("inm-weak-junk", "GET", "/feeds/feed.json", {"If-None-Match": 'W/, W/W/"x",,,'}, "ok"),
    ("inm-huge", "GET", "/api/v1/tags", {"If-None-Match": ", ".join(f'"{i}"' for i in range(600))}, "ok"),
    ("ims-garbage", "GET", "/feeds/atom.xml", {"If-Modified-Since": "not a date"}, "ok"),
    ("ims-future", "GET", "/feeds/rss.xml", {"If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"}, "any"),
    ("ims-epoch", "GET", "/api/v1/posts", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}, "ok"),
    ("ims-year-0", "GET", "/feeds/feed.json", {"If-Modified-Since": "Mon, 01 Jan 0000 00:00:00 GMT"}, "ok"),
    ("ims-negative", "GET", "/", {"If-Modified-Since": "-1"}, "ok"),
    ("range-garbage", "GET", "/feeds/atom.xml", {"Range": "bytes=9999999-1,-,x"}, "any"),
    ("host-evil", "GET", "/feeds/atom.xml", {"Host": "evil.example"}, "ok"),
    ("forwarded-host-evil", "GET", "/api/v1/posts", {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "gopher"}, "ok"),
    # -- oEmbed's url, a URL the client wrote --------------------------------------------------------
    ("oembed-url-open-bracket", "GET", "/oembed?url=" + quote("http://[::1/posts/first"), {}, "4xx"),
    ("oembed-url-bad-ipv6", "GET", "/oembed?url=" + quote("https://[news.example.org]/posts/first"), {}, "4xx"),
    ("oembed-url-bad-port", "GET", "/oembed?url=" + quote("https://news.example.org:99999/posts/first"), {}, "4xx"),
    ("origin-evil-opml", "GET", "/feeds/opml.xml", {"Origin": "https://evil.example"}, "ok"),
]


@pytest.fixture
def hostile_app(site: Any, make_app: Any, tmp_path: Path) -> Any:
    """An app over a small site, with a secret file next to (outside) the content dir."""
    (tmp_path / "secret.txt").write_text(SECRET)
    (site.root.parent / "secret.txt").write_text(SECRET)
    site.post("first", "Hello **world**, see [the report](/report.pdf).", tags=["CND", "Harm reduction"])
    site.post(
        "second",
        "An event.",
        categories=["events"],
        date="2021-04-02",
        event={"start": "2021-04-12T14:00:00+02:00", "location": "Online"},
    )
    site.post("third", "A report.", categories=["publications"], date="2021-03-01", lang="fr")
    return make_app()


def is_json_path(path: str) -> bool:
    """Paths whose errors are JSON by contract."""
    return path.startswith(("/api", "/feeds"))


def decoded(resp: Any) -> bytes:
    """The body with any Content-Encoding undone."""
    data = resp.get_data()
    coding = resp.headers.get("Content-Encoding", "identity")
    if coding == "gzip":
        data = gzip.decompress(data)
    elif coding == "br":
        import brotli

        data = brotli.decompress(data)
    return data


def check_response(resp: Any, method: str, path: str, expect: str) -> None:
    """The checks every hostile request must pass."""
    body = decoded(resp).decode("utf-8", "replace")
    assert resp.status_code < 500, f"{method} {path[:120]} -> {resp.status_code}: {body[:300]!r}"
    assert not LEAKS.search(body), f"{method} {path[:120]} leaks: {LEAKS.search(body).group(0)!r} in {body[:300]!r}"
    assert "evil.example" not in body, f"{method} {path[:120]}: a URL built from a request header"
    for name, value in resp.headers.items():
        assert "evil.example" not in value, f"{name}: {value}"
    if expect == "4xx":
        assert 400 <= resp.status_code < 500, f"{method} {path[:120]} -> {resp.status_code}: {body[:200]!r}"
    if expect == "ok":
        assert resp.status_code in (200, 304), f"{method} {path[:120]} -> {resp.status_code}: {body[:200]!r}"
    if 400 <= resp.status_code < 500 and is_json_path(path.split("?")[0]) and method != "HEAD":
        assert resp.mimetype == "application/json", f"{method} {path[:120]} -> {resp.status_code} {resp.mimetype}"
        err = json.loads(body)["error"]
        assert err["status"] == resp.status_code and isinstance(err["code"], str) and err["message"]
        if resp.status_code == 405:
            assert "GET" in resp.headers.get("Allow", ""), "405 without Allow"
    if resp.status_code == 200 and method == "GET":
        check_body(resp)


def check_body(resp: Any) -> None:
    """A 200 body parses as what it says it is."""
    data = decoded(resp)
    if resp.mimetype in ("application/json", "application/feed+json"):
        json.loads(data)
    elif resp.mimetype in ("application/atom+xml", "application/rss+xml"):
        parsed = feedparser.parse(data)
        assert not parsed.bozo, parsed.bozo_exception
    elif resp.mimetype == "text/html":
        assert lxml_html.fromstring(data) is not None


@pytest.mark.parametrize("method,path,headers,expect", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_hostile_request(hostile_app: Any, method: str, path: str, headers: dict[str, str], expect: str) -> None:
    with hostile_app.test_client() as c:
        resp = c.open(path, method=method, headers=headers)
        check_response(resp, method, path, expect)
        if method == "GET":  # HEAD must be just as safe
            head = c.open(path, method="HEAD", headers=headers)
            assert head.status_code == resp.status_code < 500
            assert not head.get_data()


def test_table_is_big_enough() -> None:
    assert len(ROWS) >= 50
    assert len({r[0] for r in ROWS}) == len(ROWS)


def test_unicode_digits_are_read_correctly_or_refused(hostile_app: Any) -> None:
    """Python's int() reads '١' as 1: if accepted, the page really is page 1."""
    with hostile_app.test_client() as c:
        for value in ("١", "１", "५"):
            resp = c.get("/api/v1/posts?page=" + quote(value))
            if resp.status_code == 200:
                assert resp.get_json()["meta"]["page"] == int(value)
            else:
                assert resp.status_code == 400


def test_per_page_1e9_names_the_parameter(hostile_app: Any) -> None:
    with hostile_app.test_client() as c:
        resp = c.get(f"/api/v1/posts?per_page={10**9}&page=-1")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    text = json.dumps(err)
    assert "per_page" in text and "page" in text


@pytest.mark.parametrize("path", ["/api/v1/posts", "/api/v1/posts/first", "/feeds/atom.xml", "/", "/posts/first"])
def test_host_header_never_shapes_urls(hostile_app: Any, path: str) -> None:
    """Absolute URLs come from base_url: a forged Host gives the same bytes."""
    with hostile_app.test_client() as c:
        a = c.get(path)
        b = c.get(path, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert a.status_code == b.status_code
    if a.status_code == 200:
        assert a.get_data() == b.get_data()


@pytest.mark.parametrize(
    "path",
    ["/api/docs", "/api/v1/openapi.json", "/", "/posts/first", "/embed", "/feeds/atom.xml", "/feeds/opml.xml", "/sitemap.xml"],
)
def test_a_wsgi_prefix_never_shapes_documents(hostile_app: Any, path: str) -> None:
    """SCRIPT_NAME (gunicorn takes it from a request header a proxy may pass on) never reaches a
    document's links: the first request renders the cached copy everyone else gets."""
    with hostile_app.test_client() as c:
        first = c.get(path, environ_overrides={"SCRIPT_NAME": "/evil-prefix"})
        plain = c.get(path)
    assert first.status_code == plain.status_code == 200
    assert b"/evil-prefix" not in first.get_data() and b"/evil-prefix" not in plain.get_data()
    assert first.get_data() == plain.get_data()


# -- partner-rendered text is safe ------------------------------------------------------------------
HOSTILE_FRAGMENTS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    '<a href="jAvAsCrIpT:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<iframe src=//evil.example></iframe>",
    '<div style="x:expression(alert(1))">s</div>',
    '<a href="&#106;avascript:alert(1)">e</a>',
    "![i](javascript:alert(1))",
    "<object data=x></object>",
    '<math><mi xlink:href="javascript:alert(1)">m</mi></math>',
    "<p onclick=alert(1)>p</p>",
    "]]>",
    "&amp;<",
    "<form action=//evil.example><input name=x></form>",
    "<meta http-equiv=refresh content=0;url=//evil.example>",
    "<base href=//evil.example/>",
    "<style>*{}</style>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
]
_JS_URL = re.compile(r"^\s*(javascript|vbscript|data):", re.I)


def assert_safe_html(fragment: str) -> None:
    """No script, no event handler, no javascript: URL, no active embed in an HTML fragment."""
    if not fragment.strip():
        return
    tree = lxml_html.fragment_fromstring(fragment, create_parent="div")
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag.lower() not in {
            "script",
            "iframe",
            "object",
            "embed",
            "style",
            "form",
            "base",
            "meta",
            "svg",
            "math",
            "link",
        }, fragment
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (name, fragment)
            assert name.lower() != "style", fragment
            cleaned = re.sub(r"[\x00-\x20]", "", value)
            assert not _JS_URL.match(cleaned), (name, value)


def assert_safe_page(page: bytes) -> None:
    """A whole HTML page: only our own external scripts, no handlers, no javascript: URLs."""
    doc = lxml_html.document_fromstring(page)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "script":
            assert el.get("src") and (el.text or "").strip() == "" or el.get("type") == "application/ld+json", lxml_html.tostring(
                el
            )[:200]
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), (el.tag, name)
            assert not _JS_URL.match(re.sub(r"[\x00-\x20]", "", value)), (el.tag, name, value)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    title=st.lists(st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=20), min_size=1, max_size=4).map("".join),
    body=st.lists(st.sampled_from(HOSTILE_FRAGMENTS) | st.text(max_size=30), min_size=1, max_size=6).map("\n".join),
    summary=st.none() | st.sampled_from(HOSTILE_FRAGMENTS),
)
def test_partner_rendered_text_is_safe(site: Any, make_app: Any, title: str, body: str, summary: str | None) -> None:
    """Whatever an editor writes, content_html is inert and titles/summaries come back as plain strings."""
    from feedsvc.content.markdown import plain

    title = title if plain(title) else "t" + title
    front: dict[str, Any] = {"slug": "hostile"}
    if summary:
        front["summary"] = summary
    site.post("hostile", body, title=title, **front)
    # Each example starts from no index database: one kept from the previous example would
    # rightly serve that example's post as the last good version of a file this one broke.
    app = make_app(INDEX_PATH=str(site.root.parent / f"index-{os.urandom(6).hex()}.sqlite3"))
    with app.test_client() as c:
        resp = c.get("/api/v1/posts/hostile")
        if resp.status_code == 404 and state(app).live.current.get("hostile") is None:
            return  # the file was refused (e.g. YAML could not hold it): nothing is published
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        post = resp.get_json()
        assert_safe_html(post["content_html"])
        published = state(app).live.current.get("hostile")
        assert isinstance(post["title"], str) and post["title"] == published.title  # the text itself
        if "<" in plain(title):
            assert "<" in post["title"] and "&lt;" not in post["title"].replace(title, "")  # not markup, not escaped
        assert isinstance(post["summary"], str)
        if summary:
            assert post["summary"] == published.summary
        listing = c.get("/api/v1/posts").get_json()
        for item in listing["items"]:
            assert_safe_html(item["content_html"])
        feed = c.get("/feeds/feed.json")
        if feed.status_code == 200:
            for item in feed.get_json()["items"]:
                assert_safe_html(item.get("content_html", ""))
        page = c.get("/posts/hostile")
        if page.status_code == 200:
            assert_safe_page(page.get_data())
        home = c.get("/")
        if home.status_code == 200:
            assert_safe_page(home.get_data())
        for feed_url in ("/feeds/atom.xml", "/feeds/rss.xml"):  # a feed opened in a browser
            shown = c.get(feed_url, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
            if shown.status_code == 200 and shown.mimetype == "text/html":
                assert_safe_page(decoded(shown))


# -- a real gunicorn socket, for what the test client normalises ----------------------------------
@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """gunicorn with the shipped gunicorn.conf.py (one worker) over a small site; yields (port, log)."""
    from support.site import SiteTree

    tmp = tmp_path_factory.mktemp("gunicorn")
    tree = SiteTree(tmp / "content")
    tree.post("first", "Hello.", tags=["CND"])
    (tmp / "secret.txt").write_text(SECRET)
    server = Server(tree.root, tmp / "gunicorn.log", workers=1, FEEDSVC_CACHE_TYPE="SimpleCache")
    try:
        yield server.port, server.out
    finally:
        server.stop()


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; return (status, headers, body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return status, headers, body


def _req(line: str | bytes, *extra: bytes) -> bytes:
    line = line.encode("latin-1") if isinstance(line, str) else line
    return line + b"\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + b"".join(extra) + b"\r\n"


RAW = [
    ("8kb-query", _req("GET /api/v1/posts?q=" + LONG + " HTTP/1.1"), "4xx"),
    ("8kb-path", _req("GET /feeds/tags/" + LONG + "/atom.xml HTTP/1.1"), "4xx"),
    ("nul-in-request-line", _req(b"GET /api/v1/posts\x00/x HTTP/1.1"), "4xx"),
    ("nul-encoded", _req("GET /api/v1/posts/%00 HTTP/1.1"), "4xx"),
    ("bad-percent-query", _req("GET /api/v1/posts?page=%zz&per_page=%G1 HTTP/1.1"), "4xx"),
    ("bad-percent-path", _req("GET /feeds/categories/%zz%/atom.xml HTTP/1.1"), "4xx"),
    ("bad-utf8-path", _req("GET /posts/%ff%fe%fd HTTP/1.1"), "4xx"),
    ("raw-dotdot", _req("GET /api/v1/../../../etc/passwd HTTP/1.1"), "any"),
    ("raw-traversal-static", _req("GET /static/../../secret.txt HTTP/1.1"), "any"),
    ("double-slash", _req("GET //etc/passwd HTTP/1.1"), "4xx"),
    ("absolute-form-evil", _req("GET http://evil.example/api/v1/posts HTTP/1.1"), "any"),
    ("propfind", _req("PROPFIND /api/v1/posts HTTP/1.1"), "4xx"),
    ("trace", _req("TRACE /feeds/atom.xml HTTP/1.1"), "4xx"),
    ("brew", _req("BREW /feeds/rss.xml HTTP/1.1"), "4xx"),
    ("lowercase-method", _req("get /api/v1/posts HTTP/1.1"), "any"),
    ("long-header", _req("GET /api/v1/posts HTTP/1.1", b"X-Junk: " + b"j" * 16384 + b"\r\n"), "4xx"),
    ("many-headers", _req("GET /feeds/atom.xml HTTP/1.1", b"".join(b"X-H%d: v\r\n" % i for i in range(200))), "4xx"),
    ("nul-in-header", _req("GET /api/v1/posts HTTP/1.1", b'If-None-Match: "a\x00b"\r\n'), "any"),
    ("garbage-version", _req("GET /api/v1/posts HTTP/9.9"), "any"),
    ("no-version", b"GET /api/v1/posts\r\n\r\n", "any"),
    ("get-with-body", _req("GET /api/v1/posts HTTP/1.1", b"Content-Length: 11\r\n") + b"hello=world", "any"),
    ("bad-chunked", _req("GET /feeds/atom.xml HTTP/1.1", b"Transfer-Encoding: chunked\r\n") + b"zz\r\nx\r\n", "any"),
    (
        "cl-and-te",
        _req("GET /api/v1/posts HTTP/1.1", b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n") + b"0\r\n\r\n",
        "any",
    ),
    ("negative-content-length", _req("GET /healthz HTTP/1.1", b"Content-Length: -1\r\n"), "4xx"),
    ("binary-garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64) + b"\r\n\r\n", "any"),
]


@pytest.mark.slow
@pytest.mark.parametrize("data,expect", [r[1:] for r in RAW], ids=[r[0] for r in RAW])
def test_raw_socket(gunicorn_server: tuple[int, Path], data: bytes, expect: str) -> None:
    port, log = gunicorn_server
    status, headers, body = raw_request(port, data)
    text = body.decode("utf-8", "replace")
    assert status == 0 or status < 500, (status, text[:300])  # 0: the server closed the connection
    assert not LEAKS.search(text), text[:300]
    assert "evil.example" not in text
    if expect == "4xx":
        assert 400 <= status < 500, (status, text[:300])
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["/api", "/feeds", "/evil"])
def test_a_script_name_header_is_not_obeyed(gunicorn_server: tuple[int, Path], prefix: str) -> None:
    """gunicorn maps a SCRIPT_NAME header from a trusted peer (loopback: a proxy that passes it
    on) into the environ: a path outside it was a 500, one inside it routed elsewhere."""
    port, log = gunicorn_server
    status, headers, body = raw_request(port, _req("GET /feeds/atom.xml HTTP/1.1", f"SCRIPT_NAME: {prefix}\r\n".encode()))
    assert status == 200, (status, body[:300])
    assert headers["content-type"].startswith("application/atom+xml") and b"<feed" in body


@pytest.mark.slow
@pytest.mark.parametrize(
    "headers",
    [b"X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n", b"X-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n"],
)
def test_contradictory_scheme_headers_are_not_read(gunicorn_server: tuple[int, Path], headers: bytes) -> None:
    """feedsvc never reads the scheme (base_url makes URLs): a client's forwarded scheme headers,
    passed on by a proxy on the host, must not turn its request into gunicorn's 400."""
    port, log = gunicorn_server
    status, _, body = raw_request(port, _req("GET /api/v1/posts HTTP/1.1", headers))
    assert status == 200, (status, body[:300])


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/api/v1/posts", "/api/v1/categories/statements/posts"])
def test_the_longest_valid_query_fits_the_request_line(gunicorn_server: tuple[int, Path], path: str) -> None:
    """Every argument at its documented limit, in 4-byte characters (12 bytes percent-encoded):
    the API answers it (gunicorn's default 4,094-byte request line answered an HTML 414)."""
    port, log = gunicorn_server
    wide = quote("\U0001f600" * 200)  # q and tag: 200 characters each
    when = quote("2021-04-01T09:30:00.123456+02:00")
    query = f"q={wide}&tag={wide}&lang={'a' * 3 + '-abcdefgh' * 3}&since={when}&until={when}&updated_since={when}"
    status, headers, body = raw_request(port, _req(f"GET {path}?{query}&page=1&per_page=100 HTTP/1.1"))
    assert status == 200, (status, body[:300])
    assert json.loads(body)["items"] == []


@pytest.mark.slow
def test_server_still_serves_after_the_abuse(gunicorn_server: tuple[int, Path]) -> None:
    port, log = gunicorn_server
    status, headers, body = raw_request(port, _req("GET /healthz HTTP/1.1"))
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, headers, body = raw_request(port, _req("GET /api/v1/posts/first HTTP/1.1"))
    assert status == 200, body[:300]
    assert headers.get("x-content-type-options") == "nosniff"


# -- every route of the app, whatever lands later --------------------------------------------------
def _rules() -> list[str]:
    """Every URL rule the app routes (the app is built without loading any content)."""
    from feedsvc import create_app

    app = create_app({"CONTENT_DIR": str(ROOT / "content"), "RELOAD_INTERVAL": 0})
    return sorted({r.rule for r in app.url_map.iter_rules()})


def _get_rules() -> set[str]:
    """The rules that answer GET (an inbox takes POST only: GET is its 405, checked by the attacks)."""
    from feedsvc import create_app

    app = create_app({"CONTENT_DIR": str(ROOT / "content"), "RELOAD_INTERVAL": 0})
    return {r.rule for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}


RULES = _rules()
GET_RULES = _get_rules()
#: A real value for each kind of URL variable in the hostile app's content.
REAL = {"slug": "first", "tag": "cnd", "year": "2021", "filename": "site.css", "lang": "en", "username": "news"}
#: The query a route needs to name a real document (oEmbed takes the post's URL).
REAL_QUERY = {
    "/oembed": "url=https%3A%2F%2Fnews.example.org%2Fposts%2Ffirst",
    "/.well-known/webfinger": "resource=acct%3Anews%40news.example.org",
}
SEGMENT_ATTACKS = [
    "..%2f..%2fsite.yaml",
    "%252e%252e%252fsecret.txt",
    "%2e%2e",
    "..",
    "%00",
    "a%00.md",
    "%ff%fe",
    "<script>",
    "x" * 3000,
]
YEAR_ATTACKS = ["-1", "0", "99999999999999999999", "abc", "%2e%2e", "2021.0", "+2021"]
QUERY_ATTACKS = [
    "page=-1",
    "page=%D9%A1",
    f"per_page={10**9}",
    "page=1&page=2",
    "since=yesterday",
    "q=%3Cscript%3Ealert(1)%3C/script%3E",
    "lang=..%2F..%2Fetc%2Fpasswd",
    "_=1&zz=%00",
    "page=%zz",
]
HEADER_ATTACKS = [{"If-None-Match": '"x'}, {"If-Modified-Since": "garbage"}, {"Accept": "x/y;q=nope"}, {"Host": "evil.example"}]
_VAR = re.compile(r"<(?:(\w+):)?(\w+)>")


def fill(rule: str, override: dict[str, str] | None = None) -> str:
    """The rule with each variable replaced by a real value (or an attack from ``override``)."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(2)
        default = (
            "statements"
            if "/categories/" in rule
            else "cnd"
            if "/tags/" in rule
            else "en"
            if "/languages/" in rule
            else "posts-1"
            if rule.startswith("/sitemaps/")
            else "second"
            if rule.endswith("/event.ics")  # the post with an event
            else "site.css"
            if rule.startswith("/static/")
            else "first"
        )
        return (override or {}).get(name, REAL.get(name, default) if name not in ("slug", "name") else default)

    return _VAR.sub(sub, rule)


@pytest.fixture(scope="module")
def route_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One app for the whole route matrix (a site with posts, tags, an event and a secret next door)."""
    from support.site import SiteTree

    from feedsvc import create_app

    tmp = tmp_path_factory.mktemp("routes")
    tree = SiteTree(tmp / "content")
    tree.write_site(fediverse={"username": "news"})  # the fediverse routes answer too
    (tmp / "secret.txt").write_text(SECRET)
    tree.post("first", "Hello **world**.", tags=["CND"])
    tree.post(
        "second",
        "An event.",
        categories=["events"],
        date="2021-04-02",
        event={"start": "2021-04-12T14:00:00+02:00", "location": "Online"},
    )
    app = create_app(
        {
            "CONTENT_DIR": str(tree.root),
            "RELOAD_INTERVAL": 0,
            "INDEX_PATH": str(tmp / "index.sqlite3"),
            "ACTIVITYPUB_KEY": str(tmp / "actor.pem"),
        }
    )
    app.testing = True
    with app.test_client() as c:
        yield c


def _run(c: Any, cases: list[tuple[str, str, dict[str, str], str]]) -> None:
    failures = []
    for method, path, headers, expect in cases:
        resp = c.open(path, method=method, headers=headers)
        try:
            check_response(resp, method, path, expect)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0][:300])
        finally:
            resp.close()
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(failures[:15])


@pytest.mark.parametrize("rule", sorted(GET_RULES))
def test_every_route_real_values_answer(route_client: Any, rule: str) -> None:
    """Sanity: the filled rule is a real document (so the attacks below hit a live route)."""
    url = fill(rule) + (f"?{REAL_QUERY[rule]}" if rule in REAL_QUERY else "")
    resp = route_client.get(url)
    try:
        assert resp.status_code == 200, (rule, url, resp.status_code)
        if resp.status_code == 200:
            check_body(resp)
    finally:
        resp.close()


@pytest.mark.parametrize("rule", [r for r in RULES if "/archive/<year>/" in r])
def test_unicode_digit_years_are_refused_or_the_same_document(route_client: Any, rule: str) -> None:
    """'٢٠٢١' reads as 2021 to int(): it must be refused, or at worst that very document, never a 5xx."""
    resp = route_client.get(fill(rule, {"year": "٢٠٢١"}))
    assert resp.status_code < 500
    if resp.status_code == 200:
        canonical = route_client.get(fill(rule))
        assert decoded(resp) == decoded(canonical)


@pytest.mark.parametrize("rule", [r for r in RULES if _VAR.search(r)])
def test_every_route_path_segment_attacks(route_client: Any, rule: str) -> None:
    """Traversal, NUL, bad UTF-8, markup and long values in every variable segment: a 4xx."""
    cases = []
    for m in _VAR.finditer(rule):
        name = m.group(2)
        attacks = YEAR_ATTACKS if name == "year" else SEGMENT_ATTACKS
        for attack in attacks:
            cases.append(("GET", fill(rule, {name: attack}), {}, "4xx"))
    _run(route_client, cases)


@pytest.mark.parametrize("rule", RULES)
def test_every_route_query_and_header_attacks(route_client: Any, rule: str) -> None:
    """Bad parameters and headers on every route: a 4xx JSON error or a correct 200, never a 5xx or a leak."""
    path = fill(rule)
    cases = [("GET", f"{path}?{q}", {}, "any") for q in QUERY_ATTACKS]
    cases += [("GET", path, h, "any") for h in HEADER_ATTACKS]
    _run(route_client, cases)


@pytest.mark.parametrize("rule", RULES)
def test_every_route_odd_methods(route_client: Any, rule: str) -> None:
    """Methods no route accepts: 405 (JSON with Allow under /api and /feeds)."""
    path = fill(rule)
    _run(route_client, [(m, path, {}, "4xx") for m in ("PUT", "DELETE", "PATCH", "PROPFIND", "TRACE", "POST")])


PARAMS = ["page", "per_page", "category", "tag", "lang", "q", "since", "until", "updated_since", "_"]


@settings(max_examples=100, deadline=None)
@given(
    path=st.sampled_from(
        [
            "/api/v1/posts",
            "/api/v1/categories/statements/posts",
            "/feeds/atom.xml",
            "/feeds/feed.json",
            "/feeds/tags/cnd/rss.xml",
            "/feeds/calendar.ics",
            "/",
        ]
    ),
    params=st.lists(st.tuples(st.sampled_from(PARAMS), st.text(max_size=40)), max_size=4),
    raw=st.binary(max_size=30),
)
def test_any_query_is_a_4xx_or_a_200(route_client: Any, path: str, params: list[tuple[str, str]], raw: bytes) -> None:
    """Arbitrary values (any Unicode, controls, lone surrogates, raw bytes) for every known parameter."""
    parts = [f"{quote(k)}={quote(v, safe='', errors='surrogatepass')}" for k, v in params]
    parts.append("x=" + quote(raw, safe=""))
    url = f"{path}?{'&'.join(parts)}"
    resp = route_client.get(url)
    try:
        check_response(resp, "GET", url, "any")
    finally:
        resp.close()
