"""Validators, 304s, HEAD, compression, Cache-Control, Vary and CORS on every document kind."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import brotli
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from support.http_kit import KINDS, fill, has_endpoint

from feedsvc import caching, http
from feedsvc.caching import render_cache

IDS = [k[0] for k in KINDS]


@pytest.fixture
def served(site: Any, make_app: Any) -> Any:
    """An app over a site holding every document kind."""
    fill(site)
    return make_app()


@pytest.fixture
def c(served: Any) -> Any:
    """Its test client."""
    with served.test_client() as client:
        yield client


def _url(app: Any, kind: tuple[str, str, str]) -> str:
    if not has_endpoint(app, kind[1]):
        pytest.skip(f"route {kind[1]} is not registered yet")
    return kind[2]


def _ok(c: Any, url: str, **headers: str) -> Any:
    resp = c.get(url, headers=headers)
    assert resp.status_code == 200, (url, resp.status_code, resp.data[:300])
    return resp


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_validators_and_304_flows(served: Any, c: Any, kind: tuple[str, str, str]) -> None:
    url = _url(served, kind)
    first = _ok(c, url)
    etag, lm = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert parsedate_to_datetime(lm) <= datetime.now(UTC)
    cc = first.headers["Cache-Control"]
    assert "public" in cc and "max-age=300" in cc and "stale-while-revalidate=" in cc and "stale-if-error=" in cc
    vary = first.headers.get("Vary", "")

    for cond in (
        {"If-None-Match": etag},
        {"If-None-Match": f"W/{etag}"},
        {"If-None-Match": f'"nope", {etag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": lm},
        {"If-None-Match": etag, "If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
    ):
        for method in ("GET", "HEAD"):
            r = c.open(url, method=method, headers=cond)
            assert r.status_code == 304, (cond, method)
            assert r.data == b""
            # A 304 carries what the 200 would: ETag, Cache-Control, Vary (RFC 9110 15.4.5).
            assert r.headers["ETag"] == etag and r.headers["Cache-Control"] == cc
            assert r.headers.get("Vary", "") == vary

    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2).
    assert c.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": lm}).status_code == 200
    # Older copies, invented future dates and garbage get the document.
    older = format_datetime(parsedate_to_datetime(lm) - timedelta(seconds=1), usegmt=True)
    future = format_datetime(datetime.now(UTC) + timedelta(days=3650), usegmt=True)
    for ims in (older, future, "yesterday", "Mon, 99 Foo 2021 99:99:99 GMT", ""):
        assert c.get(url, headers={"If-Modified-Since": ims}).status_code == 200, ims

    head = c.head(url)
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == etag and head.headers["Content-Length"] == str(len(first.data))
    assert head.headers["Content-Type"] == first.headers["Content-Type"]


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_each_encoding_has_its_own_strong_etag(served: Any, c: Any, kind: tuple[str, str, str]) -> None:
    url = _url(served, kind)
    plain = _ok(c, url, **{"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    tags = {plain.headers["ETag"]}
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        r = _ok(c, url, **{"Accept-Encoding": coding})
        assert r.headers["Content-Encoding"] == coding
        assert decode(r.data) == plain.data
        assert r.headers["Content-Type"] == plain.headers["Content-Type"]
        tags.add(r.headers["ETag"])
        # Its 304 names the same coding's tag; another coding's tag is not this representation's.
        r304 = c.get(url, headers={"Accept-Encoding": coding, "If-None-Match": r.headers["ETag"]})
        assert r304.status_code == 304 and r304.headers["ETag"] == r.headers["ETag"]
        assert c.get(url, headers={"Accept-Encoding": "identity", "If-None-Match": r.headers["ETag"]}).status_code == 200
    assert len(tags) == 3
    # Both offered: Brotli preferred; gzip refused with q=0 is never sent.
    assert _ok(c, url, **{"Accept-Encoding": "gzip, deflate, br"}).headers["Content-Encoding"] == "br"
    assert "Content-Encoding" not in _ok(c, url, **{"Accept-Encoding": "gzip;q=0"}).headers


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_cors_only_under_api_and_feeds(served: Any, c: Any, kind: tuple[str, str, str]) -> None:
    url = _url(served, kind)
    r = _ok(c, url, Origin="https://partner.example")
    if url.startswith(("/api", "/feeds")):
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        exposed = {h.strip().lower() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"link", "x-total-count", "etag"} <= exposed
        r304 = c.get(url, headers={"Origin": "https://partner.example", "If-None-Match": r.headers["ETag"]})
        assert r304.status_code == 304 and r304.headers["Access-Control-Allow-Origin"] == "*"
    else:
        assert "Access-Control-Allow-Origin" not in r.headers
    # '*' does not depend on the Origin, so caches need not key on it.
    assert "origin" not in r.headers.get("Vary", "").lower()


@pytest.mark.parametrize("url", ["/api/v1/posts", "/feeds/atom.xml", "/api/v1/posts/first-statement"])
def test_cors_preflight(served: Any, c: Any, url: str) -> None:
    if not served.url_map.bind("x").test(url.split("?")[0], method="GET"):
        pytest.skip(f"{url} not routed yet")
    r = c.options(
        url,
        headers={
            "Origin": "https://partner.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match, x-requested-with",
        },
    )
    assert 200 <= r.status_code < 300
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "HEAD"} <= methods
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert "if-none-match" in allowed and "*" in allowed
    assert int(r.headers["Access-Control-Max-Age"]) > 0
    assert r.data == b""


def test_error_responses_under_api_are_cors_readable_and_not_cached(c: Any) -> None:
    r = c.get("/api/v1/no-such-thing", headers={"Origin": "https://partner.example"})
    assert r.status_code == 404
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "max-age" not in r.headers.get("Cache-Control", "")


def test_cache_control_follows_settings(site: Any, make_app: Any) -> None:
    fill(site)
    app = make_app(MAX_AGE=123, STALE_WHILE_REVALIDATE=7, STALE_IF_ERROR=4567)
    r = app.test_client().get("/api/v1/posts")
    cc = {p.strip() for p in r.headers["Cache-Control"].split(",")}
    assert cc == {"public", "max-age=123", "stale-while-revalidate=7", "stale-if-error=4567"}
    # RSS <ttl> (minutes) agrees with max-age: readers honouring it poll no later than caches expire.
    rss = app.test_client().get("/feeds/rss.xml")
    assert "max-age=123" in rss.headers["Cache-Control"]
    ttl = etree.fromstring(rss.data).findtext("channel/ttl")
    assert ttl is not None and int(ttl) * 60 in range(123 - 59, 123 + 60)


header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    inm=st.one_of(st.none(), header_text, st.just('"x", W/"y", *')),
    ims=st.one_of(
        st.none(),
        header_text,
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
            lambda d: format_datetime(d.replace(tzinfo=UTC), usegmt=True)
        ),
    ),
    accept=st.one_of(st.none(), header_text),
)
def test_garbage_conditional_headers_never_break(c: Any, inm: str | None, ims: str | None, accept: str | None) -> None:
    headers = {
        k: v for k, v in (("If-None-Match", inm), ("If-Modified-Since", ims), ("Accept-Encoding", accept)) if v is not None
    }
    r = c.get("/api/v1/posts", headers=headers)
    assert r.status_code in (200, 304)
    if r.status_code == 304:
        if inm is not None:
            assert inm.strip() == "*" or r.headers["ETag"].strip('"') in inm or "*" in inm
        else:
            sent = parsedate_to_datetime(ims)  # type: ignore[arg-type]
            assert sent <= datetime.now(UTC)  # a future date never yields a 304


# -- the module itself, through a probe blueprint ----------------------------------------------------
@pytest.fixture
def probe(site: Any, make_app: Any) -> Any:
    """An app with a test-only view rendering through caching.render + http.send."""
    from flask import Blueprint

    fill(site)
    app = make_app()
    bp = Blueprint("probe", __name__)
    body = ("<p>" + "probe " * 400 + "</p>").encode()

    @bp.get("/probe/<name>")
    def view(name: str) -> Any:
        def produce() -> caching.Representation:
            return caching.Representation(
                body + name.encode(),
                "text/html; charset=utf-8",
                datetime(2021, 1, 1, tzinfo=UTC),
                headers=(("Link", '<https://x.example/>; rel="alternate"'),),
            )

        return http.send(caching.render("probe.view", {"name": name}, produce))

    app.register_blueprint(bp)
    return app


def test_compressed_once_then_reused(probe: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = http.compress_body

    def counting(data: bytes, coding: str) -> bytes:
        calls.append(coding)
        return real(data, coding)

    monkeypatch.setattr(http, "compress_body", counting)
    client = probe.test_client()
    bodies = {client.get("/probe/a", headers={"Accept-Encoding": enc}).data for enc in ["gzip"] * 5 + ["br"] * 5}
    assert sorted(calls) == ["br", "gzip"]
    assert len(bodies) == 2
    # Deterministic bytes: gzip carries no timestamp, so every worker agrees with the ETag.
    assert client.get("/probe/a", headers={"Accept-Encoding": "gzip"}).data[4:8] == b"\0\0\0\0"


def test_hits_render_once_and_304_keeps_extra_headers_out(probe: Any) -> None:
    client = probe.test_client()
    rc = render_cache(probe)
    first = client.get("/probe/b")
    for _ in range(5):
        assert client.get("/probe/b").data == first.data
    assert rc.renders == 1
    assert first.headers["Link"].startswith("<https://x.example/>")
    r304 = client.get("/probe/b", headers={"If-None-Match": first.headers["ETag"]})
    assert r304.status_code == 304 and "Link" not in r304.headers and "Content-Type" not in r304.headers


def test_a_views_own_cache_control_is_kept_on_200_and_304(probe: Any) -> None:
    from flask import Blueprint

    bp = Blueprint("own", __name__)

    @bp.get("/own")
    def own() -> Any:
        return http.send(
            caching.render(
                "own.view",
                {},
                lambda: caching.Representation(
                    b"x" * 600,
                    "text/plain; charset=utf-8",
                    datetime(2021, 1, 1, tzinfo=UTC),
                    headers=(("Cache-Control", "public, max-age=31536000, immutable"), ("Vary", "Accept")),
                ),
            )
        )

    probe.register_blueprint(bp)
    client = probe.test_client()
    r = client.get("/own")
    assert r.headers.getlist("Cache-Control") == ["public, max-age=31536000, immutable"]
    assert r.headers["Vary"] == "Accept, Accept-Encoding"
    r304 = client.get("/own", headers={"If-None-Match": r.headers["ETag"]})
    assert r304.status_code == 304
    assert r304.headers.getlist("Cache-Control") == ["public, max-age=31536000, immutable"]
    assert r304.headers["Vary"] == "Accept, Accept-Encoding"


def test_last_modified_is_the_representations_own_never_the_workers_clock(probe: Any) -> None:
    # One ETag, one Last-Modified on every worker (issue 18): the response layer reads no
    # clock; the writer dates content changes by its own (content/changes.py).
    from flask import Blueprint

    bp = Blueprint("future", __name__)
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)

    @bp.get("/future")
    def future() -> Any:
        return http.send(caching.Representation(b"soon", "text/plain; charset=utf-8", later))

    probe.register_blueprint(bp)
    for _ in range(2):
        r = probe.test_client().get("/future")
        assert parsedate_to_datetime(r.headers["Last-Modified"]) == later
        assert r.headers["ETag"] == f'"{caching.body_etag(b"soon")}"'
    # An If-Modified-Since later than our clock is still ignored (RFC 9110 13.1.3) unless it
    # is exactly the representation's own date.
    later_still = format_datetime(later + timedelta(days=1), usegmt=True)
    assert probe.test_client().get("/future", headers={"If-Modified-Since": later_still}).status_code == 200


def test_healthz_is_never_cached_and_answers_head(c: Any) -> None:
    r = c.get("/healthz")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "ETag" not in r.headers  # live status: nothing to revalidate
    h = c.head("/healthz")
    assert h.status_code == 200 and h.data == b""


# -- responses not built by send (/metrics, /healthz): the same coding rules, the same bytes --------
def _unsent_urls(site: Any, make_app: Any) -> tuple[Any, list[str]]:
    """An app whose /healthz lists enough problems to be worth compressing, and those URLs."""
    fill(site)
    for i in range(8):
        (site.root / "posts" / f"broken-{i}.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    app = make_app()
    with app.test_client() as c:
        for url in ("/metrics", "/healthz"):
            assert len(c.get(url).data) >= app.config["COMPRESS_MIN_SIZE"], url
    return app, ["/metrics", "/healthz"]


@pytest.mark.parametrize(
    ("accept", "refused"),
    [
        ("br;q=0", {"br"}),
        ("gzip;q=0", {"gzip"}),
        ("br;q=0, gzip;q=0", {"br", "gzip"}),
        ("br;q=0, gzip;q=0, identity;q=0", {"br", "gzip"}),
        ("br;q=0, *", {"br"}),
        ("*;q=0", {"br", "gzip"}),
    ],
)
def test_a_refused_coding_is_never_sent_by_any_response(site: Any, make_app: Any, accept: str, refused: set[str]) -> None:
    """q=0 means "not acceptable" (RFC 9110 12.5.3) on every response, not only the documents send() answers."""
    app, urls = _unsent_urls(site, make_app)
    with app.test_client() as c:
        for url in urls:
            r = c.get(url, headers={"Accept-Encoding": accept})
            assert r.status_code == 200
            assert r.headers.get("Content-Encoding") not in refused, (url, accept, r.headers.get("Content-Encoding"))
            assert "Accept-Encoding" in r.headers["Vary"]


def test_gzip_of_any_response_carries_no_clock(site: Any, make_app: Any) -> None:
    """The gzip header's MTIME is 0 on every response: the same body gives the same bytes at any second."""
    app, urls = _unsent_urls(site, make_app)
    with app.test_client() as c:
        for url in urls:
            r = c.get(url, headers={"Accept-Encoding": "gzip"})
            assert r.headers["Content-Encoding"] == "gzip", url
            assert r.data[4:8] == b"\0\0\0\0", (url, r.data[:10].hex())
            assert gzip.decompress(r.data).startswith(b"{" if url == "/healthz" else b"#")
