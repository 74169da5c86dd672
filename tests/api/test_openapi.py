"""/api/v1/openapi.json: a valid OpenAPI 3.1 document, true to the API (checked by schemathesis)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from feedsvc.api.schemas import ListArgs

PATHS = [
    "/api/v1/posts",
    "/api/v1/posts/{slug}",
    "/api/v1/categories",
    "/api/v1/categories/{slug}",
    "/api/v1/categories/{slug}/posts",
    "/api/v1/tags",
    "/api/v1/openapi.json",
]
#: What the brief asks of every response: no 5xx, and nothing the document does not describe.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Not run: positive_data_acceptance. The document gives date patterns (ranges of month, day,
# hour...), which still admit 2021-02-30; the API rightly answers such values with a 400.


@pytest.fixture
def corpus_app(site: Any, make_app: Any) -> Any:
    """An app with posts that use every optional member (event, image, attachments, aliases)."""
    site.post(
        "alpha",
        "Alpha *body*.",
        date="2021-03-01",
        tags=["UN", "Ação"],
        aliases=["old-alpha"],
        image="/a.png",
        image_alt="A chart",
        attachments=[{"url": "/a.pdf", "mime_type": "application/pdf", "title": "A"}],
    )
    site.post(
        "bravo",
        date="2021-03-02T10:00:00+05:30",
        categories=["events"],
        lang="fr",
        author={"name": "B", "uri": "https://b.example.org/"},
        event={
            "start": "2021-04-01T10:00:00Z",
            "end": "2021-04-01T11:00:00Z",
            "location": "Online",
            "url": "https://example.org/e",
            "timezone": "Europe/Vienna",
            "attendance": "mixed",
            "registration_url": "https://example.org/register",
            "languages": ["fr", "ru"],
        },
    )
    for i in range(25):
        site.post(f"filler-{i:02d}", f"Filler {i}.", date=f"2020-01-{i + 1:02d}", tags=[f"t{i % 3}"])
    return make_app(MAX_PER_PAGE=30)


@pytest.fixture
def spec(corpus_app: Any) -> dict[str, Any]:
    """The served document."""
    r = corpus_app.test_client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    return r.get_json()


def test_document_is_valid_openapi_31(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)
    assert sorted(spec["paths"]) == sorted(PATHS)
    assert spec["servers"] == [{"url": "https://news.example.org"}]


def test_document_parameters_come_from_the_validating_schema(spec: dict[str, Any]) -> None:
    params = {p["name"]: p for p in spec["paths"]["/api/v1/posts"]["get"]["parameters"]}
    assert set(params) == set(ListArgs().fields)
    assert params["per_page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 30, "default": 20}
    assert params["page"]["schema"]["minimum"] == 1
    assert params["category"]["schema"]["enum"] == ["statements", "events", "publications", "empty"]
    cat_params = {p["name"] for p in spec["paths"]["/api/v1/categories/{slug}/posts"]["get"]["parameters"]}
    assert cat_params == set(params) - {"category"} | {"slug"}


@pytest.mark.parametrize("value", ["0000-01-01", "0000-12-31T23:59:59Z", "0000-06-01T12:00:00"])
def test_date_patterns_refuse_year_zero(corpus_app: Any, spec: dict[str, Any], value: str) -> None:
    """Python has no year 0: the documented pattern says so (schemathesis sent 0000-01-01 as valid)."""
    import re

    params = {p["name"]: p for p in spec["paths"]["/api/v1/posts"]["get"]["parameters"]}
    for name in ("since", "until", "updated_since"):
        assert not re.search(params[name]["schema"]["pattern"], value), (name, value)
        resp = corpus_app.test_client().get("/api/v1/posts", query_string={name: value})
        assert resp.status_code == 400 and resp.get_json()["error"]["details"][0]["name"] == name
    assert re.search(params["since"]["schema"]["pattern"], "0001-01-01")


def test_post_schema_matches_the_contract(spec: dict[str, Any]) -> None:
    post = spec["components"]["schemas"]["Post"]
    assert set(post["properties"]) == {
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
        "image",
        "image_alt",
        "attachments",
        "event",
        "links",
        "translations",
    }
    assert set(post["properties"]) - set(post["required"]) == {"image", "image_alt", "event"}
    event = spec["components"]["schemas"]["Event"]
    assert set(event["properties"]) == {
        "start",
        "end",
        "location",
        "url",
        "timezone",
        "attendance",
        "registration_url",
        "languages",
        "all_day",
    }
    assert set(event["required"]) == {"start", "attendance"}
    assert event["properties"]["all_day"]["type"] == "boolean"
    assert event["properties"]["attendance"]["enum"] == ["online", "offline", "mixed"]
    assert post["properties"]["translations"]["items"] == {"$ref": "#/components/schemas/Translation"}
    translation = spec["components"]["schemas"]["Translation"]
    assert set(translation["required"]) == set(translation["properties"]) == {"lang", "slug", "url", "title"}
    assert post["additionalProperties"] is False
    tagref = spec["components"]["schemas"]["TagRef"]
    assert set(tagref["required"]) == {"tag", "slug"}


def test_cli_prints_the_same_document(corpus_app: Any, spec: dict[str, Any]) -> None:
    result = corpus_app.test_cli_runner().invoke(args=["openapi", "print"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == spec


class _Page(HTMLParser):
    """Collects what the docs page would load and the code spans it shows."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.loads: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.scripts += tag == "script"
        if tag in ("link", "img", "iframe") and (a.get("href") or a.get("src")):
            self.loads.append(a.get("href") or a.get("src") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_docs_page_is_readable_without_script_or_cdn(corpus_app: Any, spec: dict[str, Any]) -> None:
    c = corpus_app.test_client()
    r = c.get("/api/docs")
    assert r.status_code == 200 and r.mimetype == "text/html"
    page = _Page()
    page.feed(r.get_data(as_text=True))
    assert page.scripts == 0
    assert all(url.startswith("/") and not url.startswith("//") for url in page.loads), page.loads
    for url in page.loads:  # everything it loads is served here
        assert c.get(url).status_code == 200
    text = " ".join(page.text)
    for path in PATHS:
        assert f"GET {path}" in text
    for name in ("Post", "Category", "Tag", "PostPage", "Error", "since", "updated_since", "X-Total-Count"):
        assert name in text
    assert c.head("/api/docs").status_code == 200


@pytest.mark.parametrize(
    ("path", "mode"),
    [(p, GenerationMode.POSITIVE) for p in PATHS]
    + [
        # Only the listings have parameters that can be made invalid (a slug is any non-empty text).
        (p, GenerationMode.NEGATIVE)
        for p in ("/api/v1/posts", "/api/v1/categories/{slug}/posts")
    ],
)
def test_schemathesis_finds_no_5xx_and_no_schema_violation(corpus_app: Any, path: str, mode: Any) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", corpus_app)
    op = schema[path]["GET"]
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])

    @given(case=op.as_strategy(generation_mode=mode))
    @settings(max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        # The WSGI transport does not decode gzip/br, so ask for the identity encoding.
        case.call_and_validate(headers={"Accept-Encoding": "identity"}, checks=checks)

    run()
