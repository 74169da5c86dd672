"""Security headers: nosniff and Referrer-Policy everywhere, the strict CSP on every HTML page."""

from __future__ import annotations

from typing import Any

import pytest

from feedsvc.security import CSP

#: Every kind of document the service answers (routes that do not exist yet answer 404,
#: which must carry the headers just the same).
URLS = [
    "/",
    "/posts/first",
    "/categories/statements",
    "/tags/cnd",
    "/embed",
    "/embed.js",
    "/feeds/atom.xml",
    "/feeds/rss.xml",
    "/feeds/feed.json",
    "/feeds/calendar.ics",
    "/feeds/opml.xml",
    "/feeds/categories/statements/atom.xml",
    "/feeds/tags/cnd/rss.xml",
    "/api/v1/posts",
    "/api/v1/posts/first",
    "/api/v1/categories",
    "/api/v1/tags",
    "/api/v1/openapi.json",
    "/api/docs",
    "/healthz",
    "/no/such/page",
    "/api/v1/no-such-endpoint",
    "/feeds/no-such.xml",
]

#: The policy the web pages are built for, directive by directive.
EXPECTED_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "https:", "data:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
STRICT_REFERRERS = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def parse_csp(value: str) -> dict[str, list[str]]:
    """Directive -> sources, as a browser splits a policy."""
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out.setdefault(words[0].lower(), words[1:])
    return out


@pytest.fixture
def seeded(site: Any, make_app: Any) -> Any:
    """A client over a site with a couple of posts (tag `CND`)."""
    site.post("first", "Hello **world**.", tags=["CND"])
    site.post("second", "Event.", categories=["events"], date="2021-04-02")
    with make_app().test_client() as c:
        yield c


def test_csp_constant_is_the_agreed_policy() -> None:
    assert parse_csp(CSP) == EXPECTED_CSP


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_every_response_has_security_headers(seeded: Any, url: str, method: str) -> None:
    resp = seeded.open(url, method=method)
    assert resp.status_code < 500, (url, resp.status_code)
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.getlist("X-Content-Type-Options") == ["nosniff"]  # one header, not two
    assert resp.headers.get("Referrer-Policy") in STRICT_REFERRERS
    if resp.mimetype == "text/html":
        assert parse_csp(resp.headers["Content-Security-Policy"]) == EXPECTED_CSP
        assert resp.headers.get("X-Frame-Options") == "DENY"
    else:
        # feeds, JSON and embed.js are loaded from partners' pages: no page policy on them
        assert "X-Frame-Options" not in resp.headers


@pytest.mark.parametrize("url", ["/", "/posts/first", "/no/such/page"])
def test_html_pages_get_the_csp(seeded: Any, url: str) -> None:
    resp = seeded.get(url)
    assert resp.mimetype == "text/html", url  # unknown paths get the site's HTML 404 page too
    assert parse_csp(resp.headers["Content-Security-Policy"]) == EXPECTED_CSP


def test_304_keeps_security_headers(seeded: Any) -> None:
    for url in ("/feeds/atom.xml", "/api/v1/posts", "/"):
        first = seeded.get(url)
        assert first.status_code == 200 and first.headers["ETag"], url
        again = seeded.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, url
        assert again.headers.get("X-Content-Type-Options") == "nosniff"
        assert again.headers.get("Referrer-Policy") in STRICT_REFERRERS


def test_error_and_redirect_responses_have_headers(site: Any, make_app: Any) -> None:
    site.write_site(redirects={"/old.xml": "/feeds/atom.xml"})
    with make_app().test_client() as c:
        for resp in (c.get("/old.xml"), c.get("/api/v1/nope"), c.delete("/healthz")):
            assert resp.status_code in (308, 404, 405)
            assert resp.headers.get("X-Content-Type-Options") == "nosniff"
            assert resp.headers.get("Referrer-Policy") in STRICT_REFERRERS


def test_security_module_sets_no_caching_or_cors_headers(site: Any, make_app: Any) -> None:
    """http.py owns Cache-Control, ETag and CORS: the security hook alone adds none of them."""
    from flask import Response

    from feedsvc.security import add_headers

    app = make_app()
    with app.test_request_context("/"):
        for mimetype in ("text/html", "application/json", "application/atom+xml"):
            resp = add_headers(Response("x", mimetype=mimetype))
            names = {k.lower() for k in resp.headers.keys()}
            assert not names & {"cache-control", "etag", "vary", "access-control-allow-origin"}


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
HTML_PAGES = [
    "/",
    "/posts/first",
    "/categories/statements",
    "/tags/cnd",
    "/embed",
    "/api/docs",
    "/no/such/page",
    "/feeds/atom.xml",
    "/feeds/rss.xml",
    "/feeds/categories/statements/atom.xml",
]


@pytest.mark.parametrize("url", HTML_PAGES)
def test_html_pages_work_under_the_csp(seeded: Any, url: str) -> None:
    """What the CSP would block is absent: inline script/style, style attributes, handlers, foreign scripts."""
    from urllib.parse import urlsplit

    from lxml import html as lxml_html

    resp = seeded.get(url, headers={"Accept": BROWSER_ACCEPT})
    if resp.mimetype != "text/html":
        assert url.startswith("/feeds/"), (url, resp.status_code, resp.mimetype)
        return  # a feed served as XML to this Accept: no page policy applies
    assert parse_csp(resp.headers["Content-Security-Policy"]) == EXPECTED_CSP
    data = resp.get_data()
    if resp.headers.get("Content-Encoding") == "gzip":
        import gzip

        data = gzip.decompress(data)
    doc = lxml_html.document_fromstring(data)
    own = {"", "news.example.org", "localhost"}
    problems = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag == "script" and el.get("type") not in ("application/json", "application/ld+json"):
            if not el.get("src"):
                problems.append("inline <script>")
            elif urlsplit(el.get("src")).netloc not in own:
                problems.append(f"foreign script {el.get('src')}")
        if el.tag == "style":
            problems.append("<style> element")
        if el.tag == "link" and "stylesheet" in (el.get("rel") or "") and urlsplit(el.get("href", "")).netloc not in own:
            problems.append(f"foreign stylesheet {el.get('href')}")
        if el.get("style") is not None:
            problems.append(f"style attribute on <{el.tag}>")
        problems += [f"{name} handler on <{el.tag}>" for name in el.attrib if name.lower().startswith("on")]
        for name in ("href", "src", "action", "formaction"):
            if (el.get(name) or "").strip().lower().startswith("javascript:"):
                problems.append(f"javascript: URL in {name}")
    assert not problems, (url, sorted(set(problems)))
