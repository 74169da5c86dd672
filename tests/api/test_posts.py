"""/api/v1/posts and /api/v1/posts/<slug>: shapes, filters, paging, headers, bad parameters."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

POST_KEYS = {
    "id",
    "slug",
    "url",
    "title",
    "summary",
    "content_html",
    "content_text",
    "date_published",
    "date_modified",
    "categories",
    "tags",
    "author",
    "lang",
    "attachments",
    "links",
    "translations",
}
OPTIONAL_KEYS = {"image", "image_alt", "event"}


@pytest.fixture
def corpus(site: Any) -> Any:
    """Five posts around a day boundary in the site's timezone (Europe/London, BST in April)."""
    site.post(
        "alpha",
        "Alpha body about naloxone.",
        date="2021-03-01T10:00:00Z",
        categories=["statements"],
        tags=["Harm Reduction", "UN"],
        summary="Alpha summary.",
    )
    site.post(
        "bravo",
        "Bravo body.",
        date="2021-03-15",
        updated="2021-06-01T12:00:00Z",
        categories=["events"],
        tags=["UN"],
        lang="fr",
        event={"start": "2021-04-12T14:00:00+02:00", "end": "2021-04-12T15:30:00+02:00", "location": "Vienna"},
    )
    site.post(
        "charlie",
        "Charlie body with a [link](/reports/c.pdf).",
        date="2021-04-01T23:30:00+01:00",
        categories=["publications", "statements"],
        image="/img/c.png",
        aliases=["old-charlie"],
        author={"name": "Jo Writer", "uri": "https://jo.example.org/"},
        attachments=[{"url": "/files/c.pdf", "mime_type": "application/pdf", "size_in_bytes": 1234}],
    )
    site.post(
        "delta",
        "Delta body mentions naloxone too.",
        date="2021-04-02T00:30:00+01:00",
        categories=["statements"],
        tags=["Drug Policy"],
    )
    site.post("echo", "Echo body.", date="2020-12-31", categories=["statements"], lang="pt")
    return site


@pytest.fixture
def api(corpus: Any, make_app: Any) -> Any:
    """A test client over the corpus, with a small page size."""
    with make_app(PER_PAGE=2, MAX_PER_PAGE=3).test_client() as c:
        yield c


def slugs(resp: Any) -> list[str]:
    """The slugs of a page's items, in order."""
    assert resp.status_code == 200, resp.data
    return [p["slug"] for p in resp.get_json()["items"]]


def all_pages(client: Any, url: str) -> list[str]:
    """Every slug of a listing, following links.next from ``url``."""
    out: list[str] = []
    while url:
        r = client.get(url)
        out += slugs(r)
        nxt = r.get_json()["links"].get("next")
        url = urlsplit(nxt)._replace(scheme="", netloc="").geturl() if nxt else ""
    return out


def test_list_is_newest_first_with_meta_links_and_headers(api: Any) -> None:
    r = api.get("/api/v1/posts")
    assert slugs(r) == ["delta", "charlie"]
    doc = r.get_json()
    assert doc["meta"] == {"page": 1, "per_page": 2, "total_items": 5, "total_pages": 3}
    base = "https://news.example.org/api/v1/posts"
    assert doc["links"] == {
        "self": f"{base}?page=1&per_page=2",
        "first": f"{base}?page=1&per_page=2",
        "last": f"{base}?page=3&per_page=2",
        "next": f"{base}?page=2&per_page=2",
    }
    assert r.headers["X-Total-Count"] == "5"
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers["Link"]))
    assert links == {"first": doc["links"]["first"], "next": doc["links"]["next"], "last": doc["links"]["last"]}
    assert r.mimetype == "application/json"
    # Same content, same bytes: compact JSON with sorted keys.
    assert r.data == json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def test_middle_and_last_page_links(api: Any) -> None:
    mid = api.get("/api/v1/posts?page=2")
    assert slugs(mid) == ["alpha", "bravo"] or slugs(mid) == ["bravo", "alpha"]
    assert slugs(mid) == ["bravo", "alpha"]  # 2021-03-15 before 2021-03-01: newest first
    assert set(mid.get_json()["links"]) == {"self", "first", "last", "next", "prev"}
    assert 'rel="prev"' in mid.headers["Link"] and 'rel="next"' in mid.headers["Link"]
    last = api.get("/api/v1/posts?page=3")
    assert slugs(last) == ["echo"]
    assert "next" not in last.get_json()["links"] and 'rel="next"' not in last.headers["Link"]


def test_walking_pages_finds_every_post_once(api: Any) -> None:
    assert all_pages(api, "/api/v1/posts?per_page=3") == ["delta", "charlie", "bravo", "alpha", "echo"]


def test_page_past_the_end_is_404_json(api: Any) -> None:
    r = api.get("/api/v1/posts?page=4")
    assert r.status_code == 404
    assert r.get_json()["error"]["status"] == 404


def test_empty_result_has_one_empty_page(api: Any) -> None:
    r = api.get("/api/v1/posts?tag=no-such-tag")
    assert slugs(r) == []
    assert r.get_json()["meta"] == {"page": 1, "per_page": 2, "total_items": 0, "total_pages": 1}
    assert api.get("/api/v1/posts?tag=no-such-tag&page=2").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=statements", ["delta", "charlie", "alpha", "echo"]),
        ("category=events", ["bravo"]),
        ("category=empty", []),
        ("tag=un", ["bravo", "alpha"]),
        ("tag=harm-reduction", ["alpha"]),
        ("lang=fr", ["bravo"]),
        ("lang=pt", ["echo"]),
        ("lang=de", []),
        ("q=naloxone", ["delta", "alpha"]),
        ("q=NALOXONE%20body", ["delta", "alpha"]),
        ("q=alpha%20summary", ["alpha"]),
        # A date alone is the whole day in the site's timezone (Europe/London, BST = UTC+1).
        ("since=2021-04-01&until=2021-04-01", ["charlie"]),
        ("since=2021-04-02", ["delta"]),
        ("until=2021-04-01", ["charlie", "bravo", "alpha", "echo"]),
        ("since=2021-04-01T22:30:00Z", ["charlie", "delta"][::-1]),
        ("since=2021-04-01T22:30:01Z", ["delta"]),
        ("until=2021-03-01T10:00:00Z", ["alpha", "echo"]),
        ("until=2021-03-01T09:59:59%2B00:00", ["echo"]),
        ("since=2021-04-01T23:30:00", ["delta", "charlie"]),  # no offset: site time
        ("updated_since=2021-05-01", ["bravo"]),
        ("category=statements&tag=drug-policy", ["delta"]),
        ("category=statements&q=naloxone&until=2021-03-31", ["alpha"]),
        ("tag=un&lang=en", ["alpha"]),
    ],
)
def test_filters(api: Any, query: str, expected: list[str]) -> None:
    assert all_pages(api, f"/api/v1/posts?{query}&per_page=3") == expected


def test_filter_links_keep_the_filters(api: Any) -> None:
    doc = api.get("/api/v1/posts?category=statements&q=body&_=1700000000").get_json()
    qs = parse_qs(urlsplit(doc["links"]["next"]).query)
    assert qs == {"category": ["statements"], "q": ["body"], "page": ["2"], "per_page": ["2"]}


def test_unknown_parameters_are_ignored(api: Any) -> None:
    plain = api.get("/api/v1/posts?tag=un")
    busted = api.get("/api/v1/posts?tag=un&_=1700000000&utm_source=x&utm_source=y")
    assert busted.status_code == 200 and busted.data == plain.data


def test_post_object_shape(api: Any) -> None:
    r = api.get("/api/v1/posts/charlie")
    assert r.status_code == 200
    p = r.get_json()
    assert set(p) == POST_KEYS | {"image"}  # no event: omitted, never null
    assert p["slug"] == "charlie" and p["title"] == "Charlie"
    assert p["url"] == "https://news.example.org/posts/charlie"
    assert p["links"] == {"self": "https://news.example.org/api/v1/posts/charlie"}
    assert p["id"].startswith("tag:example.org,2021:")
    assert p["date_published"] == "2021-04-01T23:30:00+01:00"
    assert p["categories"] == ["publications", "statements"]
    assert p["tags"] == []
    assert p["author"] == {"name": "Jo Writer", "uri": "https://jo.example.org/"}
    assert p["image"] == "https://news.example.org/img/c.png"
    assert p["attachments"] == [
        {"url": "https://news.example.org/files/c.pdf", "mime_type": "application/pdf", "size_in_bytes": 1234}
    ]
    assert 'href="https://news.example.org/reports/c.pdf"' in p["content_html"]
    assert "Charlie body" in p["content_text"] and "<" not in p["content_text"]
    assert api.get("/api/v1/posts").get_json()["items"][1] == p  # the same object in listings


def test_post_with_event_tags_and_defaults(api: Any) -> None:
    p = api.get("/api/v1/posts/bravo").get_json()
    assert set(p) == POST_KEYS | {"event"}
    assert p["event"] == {
        "start": "2021-04-12T14:00:00+02:00",
        "end": "2021-04-12T15:30:00+02:00",
        "location": "Vienna",
        "attendance": "offline",
    }
    assert p["tags"] == [{"tag": "UN", "slug": "un"}]
    assert p["lang"] == "fr"
    assert p["date_modified"] == "2021-06-01T12:00:00+00:00"
    a = api.get("/api/v1/posts/alpha").get_json()
    assert set(a) == POST_KEYS
    assert a["author"] == {"name": "Test Network", "uri": "https://example.org/"}  # no e-mail, ever
    assert a["tags"] == [{"tag": "Harm Reduction", "slug": "harm-reduction"}, {"tag": "UN", "slug": "un"}]


def test_alias_redirects_permanently(api: Any) -> None:
    r = api.get("/api/v1/posts/old-charlie")
    assert r.status_code == 308
    assert r.headers["Location"] == "https://news.example.org/api/v1/posts/charlie"


def test_unknown_post_is_404_json(api: Any) -> None:
    r = api.get("/api/v1/posts/nope")
    assert r.status_code == 404 and r.mimetype == "application/json"
    assert r.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("url", ["/api/v1/posts?tag=un", "/api/v1/posts/alpha"])
def test_head_has_the_get_headers_and_no_body(api: Any, url: str) -> None:
    get, head = api.get(url), api.head(url)
    assert head.status_code == 200 and head.data == b""
    names = ["Content-Type", "ETag", "Last-Modified"] + (["Link", "X-Total-Count"] if "?" in url else [])
    for name in names:
        assert get.headers.get(name) and head.headers.get(name) == get.headers[name], name


def test_conditional_get(api: Any) -> None:
    r = api.get("/api/v1/posts")
    again = api.get("/api/v1/posts", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "+1"),
        ("page", " 1"),
        ("page", "1 "),
        ("page", "1e3"),
        ("page", "1.0"),
        ("page", "abc"),
        ("page", "٣"),
        ("page", "３"),
        ("page", ""),
        ("page", "0x10"),
        ("page", "99999999999999999999999999"),
        ("page", "1000001"),
        ("per_page", "0"),
        ("per_page", "4"),
        ("per_page", "١"),
        ("per_page", "1_0"),
        ("category", "nope"),
        ("category", ""),
        ("tag", ""),
        ("q", ""),
        ("q", "x" * 201),
        ("lang", "1"),
        ("lang", "en_GB"),
        ("lang", ""),
        ("lang", "en\n"),
        ("tag", "un\x00"),
        ("q", "a\tb"),
        ("since", "yesterday"),
        ("since", "2021-02-30"),
        ("since", "2021-4-1"),
        ("since", "٢٠٢١-٠١-٠١"),
        ("until", "2021-04-01T25:00:00Z"),
        ("until", "2021-04-01T10:00:00+25:00"),
        ("updated_since", "2021"),
        ("since", ""),
        ("since", "2021-04-01T10:00" + ":00:00"),
    ],
)
def test_bad_value_is_400_naming_the_parameter(api: Any, param: str, value: str) -> None:
    r = api.get("/api/v1/posts", query_string={param: value})
    assert r.status_code == 400, r.data
    err = r.get_json()["error"]
    assert err["status"] == 400 and err["code"] == "invalid_parameters"
    assert [d["name"] for d in err["details"]] == [param]
    assert param in err["message"]


@pytest.mark.parametrize("param", ["page", "per_page", "category", "tag", "lang", "q", "since"])
def test_repeated_parameter_is_400(api: Any, param: str) -> None:
    value = {"page": "1", "per_page": "1", "category": "events", "lang": "en", "since": "2021-01-01"}.get(param, "x")
    r = api.get(f"/api/v1/posts?{param}={value}&{param}={value}")
    assert r.status_code == 400
    (detail,) = r.get_json()["error"]["details"]
    assert detail["name"] == param and "more than once" in detail["reason"]


def test_several_bad_parameters_are_all_listed(api: Any) -> None:
    r = api.get(
        "/api/v1/posts?page=x&per_page=0&category=nope&lang=1&since=soon&until=later"
        "&updated_since=2021-13-01&tag=a&tag=b&_=ignored"
    )
    assert r.status_code == 400
    details = r.get_json()["error"]["details"]
    assert sorted(d["name"] for d in details) == sorted(
        ["page", "per_page", "category", "lang", "since", "until", "updated_since", "tag"]
    )
    assert all(d["reason"] for d in details)


def test_valid_edge_values(api: Any) -> None:
    assert api.get("/api/v1/posts?page=0003&per_page=2").status_code == 200  # ASCII digits, leading zeros
    assert api.get("/api/v1/posts?per_page=3").get_json()["meta"]["per_page"] == 3
    assert api.get("/api/v1/posts?since=2021-04-01t22:30:00z").status_code == 200
    assert api.get("/api/v1/posts?since=9999-12-31").status_code == 200
    assert api.get("/api/v1/posts?until=0001-01-01T00:00:00%2B01:00").status_code == 200


def test_values_that_look_like_other_parameters_do_not_share_a_cache_entry(api: Any) -> None:
    tricky = api.get("/api/v1/posts?q=naloxone%26tag%3Dun&per_page=3")
    plain = api.get("/api/v1/posts?q=naloxone&tag=un&per_page=3")
    assert slugs(plain) == ["alpha"]
    assert slugs(tricky) == []  # the words naloxone, tag and un: no post has all three


@pytest.mark.parametrize("url", ["/api/v1/posts?tag=un", "/api/v1/posts/alpha", "/api/v1/posts?page=x"])
def test_cross_origin_headers_on_api_responses(api: Any, url: str) -> None:
    """CORS comes from feedsvc/http.py (the http helper); the API's responses must carry it."""
    r = api.get(url, headers={"Origin": "https://partner.example"})
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    exposed = {h.strip().lower() for h in r.headers.get("Access-Control-Expose-Headers", "").split(",")}
    assert {"link", "x-total-count", "etag"} <= exposed
    pre = api.options(url.split("?")[0], headers={"Origin": "https://partner.example", "Access-Control-Request-Method": "GET"})
    assert pre.status_code in (200, 204)
    assert pre.headers.get("Access-Control-Allow-Origin") == "*"
    assert "GET" in pre.headers.get("Access-Control-Allow-Methods", "")


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.text(max_size=25), st.integers(-10, 10**7).map(str), st.from_regex(r"\A[0-9]{1,8}\Z")))
def test_any_page_value_is_accepted_exactly_when_it_is_a_plain_number_in_range(api: Any, value: str) -> None:
    r = api.get("/api/v1/posts", query_string={"page": value, "per_page": "3"})
    valid = re.fullmatch(r"[0-9]+", value, re.ASCII) is not None and 1 <= int(value) <= 1_000_000
    if not valid:
        assert r.status_code == 400 and r.get_json()["error"]["details"][0]["name"] == "page"
    else:
        assert r.status_code == (200 if int(value) <= 2 else 404)


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(param=st.sampled_from(["since", "until", "updated_since", "lang", "tag", "q", "category"]), value=st.text(max_size=40))
def test_any_text_in_any_parameter_is_a_200_or_a_400_naming_it(api: Any, param: str, value: str) -> None:
    r = api.get("/api/v1/posts", query_string={param: value})
    assert r.status_code in (200, 400), r.data
    if r.status_code == 400:
        assert [d["name"] for d in r.get_json()["error"]["details"]] == [param]


def test_image_alt_and_the_event_fields_are_added_members(site: Any, make_app: Any) -> None:
    site.post("pic", "Body.", date="2021-03-01", image="/img/chart.png", image_alt='A chart: "<b>" & more')
    site.post("plain", "Body.", date="2021-03-02", image="/img/bare.png")
    site.post(
        "meet",
        "Body.",
        date="2021-03-03",
        categories=["events"],
        event={
            "start": "2021-04-12T14:00:00+02:00",
            "location": "Vienna",
            "url": "https://e.example.org/live",
            "registration_url": "https://e.example.org/register",
            "languages": ["fr", "ru", "es"],
        },
    )
    site.post(
        "talk",
        "Body.",
        date="2021-03-04",
        categories=["events"],
        event={"start": "2021-04-13T14:00:00+02:00", "location": "https://e.example.org/room"},
    )
    client = make_app().test_client()
    posts = {p["slug"]: p for p in client.get("/api/v1/posts?per_page=10").get_json()["items"]}
    assert posts["pic"]["image_alt"] == 'A chart: "<b>" & more'
    assert "image_alt" not in posts["plain"] and posts["plain"]["image"].endswith("/img/bare.png")
    assert posts["meet"]["event"]["attendance"] == "mixed"  # a place and a URL
    assert posts["meet"]["event"]["registration_url"] == "https://e.example.org/register"
    assert posts["meet"]["event"]["languages"] == ["fr", "ru", "es"]
    assert posts["talk"]["event"] == {
        "start": "2021-04-13T14:00:00+02:00",
        "location": "https://e.example.org/room",
        "attendance": "online",
    }  # no registration_url, no languages: absent
    assert client.get("/api/v1/posts/pic").get_json()["image_alt"] == 'A chart: "<b>" & more'
