"""One rule per query argument (issue 15.4): the API and the feeds answer the same value alike.

Every case is sent to an API listing and to feeds (Atom, JSON Feed, a category calendar, an
archive where the argument applies): the status and the whole error body must be identical.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.feeds_checks import populate

API = ["/api/v1/posts", "/api/v1/categories/statements/posts"]
FEEDS = ["/feeds/atom.xml", "/feeds/categories/statements/feed.json", "/feeds/tags/cnd/rss.xml", "/feeds/calendar.ics"]
#: Archives take page and lang (not q).
ARCHIVES = ["/feeds/archive/2021/atom.xml"]
LONG_Q = "x" * 201

#: (query, status, bad parameters) — the nine cases the clients tried, and their neighbours.
CASES = [
    ("q=", 400, ["q"]),
    ("q=%20%20", 400, ["q"]),
    ("page=2000000", 400, ["page"]),
    ("page=", 400, ["page"]),
    ("lang=", 400, ["lang"]),
    ("page=1&page=2", 400, ["page"]),
    ("lang=en&lang=fr", 400, ["lang"]),
    ("q=a&q=b", 400, ["q"]),
    (f"q={LONG_Q}", 400, ["q"]),
    ("page=0", 400, ["page"]),
    ("page=%2B1", 400, ["page"]),
    ("page=%D9%A3", 400, ["page"]),
    ("page=1e3", 400, ["page"]),
    ("lang=not%20a%20tag", 400, ["lang"]),
    ("q=a%00b", 400, ["q"]),
    ("page=0&lang=&q=", 400, ["lang", "page", "q"]),
    ("page=999", 404, []),
    ("page=1000000", 404, []),
    ("q=report", 200, []),
    ("q=%20report%20%20", 200, []),
    ("lang=EN", 200, []),
    ("utm_source=x&_=170000", 200, []),
    ("page=1", 200, []),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from support.site import SiteTree

    from feedsvc import create_app

    site = SiteTree(tmp_path_factory.mktemp("args") / "content")
    populate(site)
    app = create_app(
        {"CONTENT_DIR": str(site.root), "RELOAD_INTERVAL": 0, "RENDER_BUDGET": "off"}
    )  # many searches from one client: the budget is not under test
    app.testing = True
    with app.test_client() as c:
        yield c


def answer(client: Any, path: str, query: str) -> tuple[int, Any]:
    r = client.get(f"{path}?{query}")
    if r.status_code == 200:
        return 200, None
    assert r.mimetype == "application/json", (path, query, r.data[:200])
    return r.status_code, json.loads(r.data)


@pytest.mark.parametrize("query, status, names", CASES, ids=[c[0][:30] for c in CASES])
def test_api_and_feeds_answer_alike(client: Any, query: str, status: int, names: list[str]) -> None:
    answers = {path: answer(client, path, query) for path in API + FEEDS}
    reference = answers[API[0]]
    for path, got in answers.items():
        assert got == reference, (path, query)  # the same status and the very same error body
    if "q=" not in query:  # an archive: the same rules for page and lang (its 404 names the year's part)
        for path in ARCHIVES:
            got = answer(client, path, query)
            assert got == reference if status != 404 else got[0] == 404, (path, query)
    got_status, body = reference
    assert got_status == status, body
    if status == 400:
        err = body["error"]
        assert err["code"] == "invalid_parameters" and err["status"] == 400
        assert sorted({d["name"] for d in err["details"]}) == names
        assert err["message"] == f"invalid parameter{'s' if len(names) > 1 else ''}: {', '.join(names)}"
    elif status == 404:
        assert body["error"]["code"] == "not_found" and "does not exist" in body["error"]["message"]


def test_the_messages_state_one_rule(client: Any) -> None:
    """What the clients read, spelled once."""

    def reasons(query: str) -> dict[str, str]:
        body = answer(client, "/feeds/atom.xml", query)[1]
        assert body == answer(client, "/api/v1/posts", query)[1]
        return {d["name"]: d["reason"] for d in body["error"]["details"]}

    empty = "must not be empty; leave the parameter out instead"
    assert reasons("q=") == {"q": empty} and reasons("page=") == {"page": empty} and reasons("lang=") == {"lang": empty}
    assert reasons("page=1&page=1") == {"page": "given more than once; give it once"}
    assert reasons(f"q={LONG_Q}") == {"q": "at most 200 characters"}
    assert reasons("page=2000000") == {"page": "must be from 1 to 1000000"}
    assert reasons("page=x") == {"page": "must be a whole number written with the digits 0-9 only"}


def test_a_folded_search_is_one_feed_and_one_listing(client: Any) -> None:
    spaced, plain = client.get("/feeds/atom.xml?q=%20report%20"), client.get("/feeds/atom.xml?q=report")
    assert spaced.data == plain.data  # same feed id, title and self link
    api = client.get("/api/v1/posts?q=%20report%20").get_json()
    assert api["links"]["self"] == "https://news.example.org/api/v1/posts?page=1&per_page=20&q=report"


_VALUES = st.sampled_from(
    [
        "",
        " ",
        "1",
        "2",
        "0",
        "01",
        "+1",
        "1e3",
        "٣",
        "2000000",
        "999999",
        "en",
        "EN",
        "fr",
        "pt-BR",
        "x" * 36,
        "a\x00b",
        "report",
        "a" * 201,
        "%",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["page", "lang", "q", "utm"]), _VALUES), max_size=4))
def test_any_combination_answers_alike(client: Any, pairs: list[tuple[str, str]]) -> None:
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)
    reference = answer(client, API[0], query)
    for path in FEEDS:
        assert answer(client, path, query) == reference, (path, query)
