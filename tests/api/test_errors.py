"""One JSON error shape under /api and /feeds (Flask's own 404/405 too), HTML elsewhere, no stack traces."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from feedsvc.errors import ApiError


def boom() -> Any:
    """A view with a bug."""
    raise RuntimeError("secret internals /etc/passwd")


def invalid() -> Any:
    """A view whose schema rejects two fields at once."""

    class S(Schema):
        a = fields.Int(required=True)
        b = fields.Str(validate=validate.Length(max=1))

    S().load({"b": "xyz"})


def api_error() -> Any:
    """A view raising ApiError."""
    raise ApiError(409, "conflict", "no way", [{"name": "x", "reason": "y"}])


@pytest.fixture
def app(site: Any, make_app: Any) -> Any:
    """An app with one post and deliberately failing views in and out of /api."""
    site.post("alpha", date="2021-01-01")
    app = make_app()
    for prefix in ("/api/v1/_test", "/feeds/_test", "/_test"):
        app.add_url_rule(f"{prefix}/boom", f"boom{prefix}", boom)
        app.add_url_rule(f"{prefix}/invalid", f"invalid{prefix}", invalid)
        app.add_url_rule(f"{prefix}/api-error", f"api_error{prefix}", api_error)
    return app


def error_of(resp: Any, status: int) -> dict[str, Any]:
    """The error member of a JSON error response, checking the shape."""
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/json"
    doc = resp.get_json()
    assert set(doc) == {"error"}
    err = doc["error"]
    assert {"status", "code", "message"} <= set(err) <= {"status", "code", "message", "details"}
    assert err["status"] == status and isinstance(err["code"], str) and err["message"]
    assert b"Traceback" not in resp.data
    return err


@pytest.mark.parametrize(
    "url",
    [
        "/api",
        "/api/",
        "/api/v1",
        "/api/v2/posts",
        "/api/v1/nope",
        "/api/v1/posts/a/b",
        "/feeds",
        "/feeds/nope.xml",
        "/feeds/categories/x/nope",
    ],
)
def test_unknown_urls_under_api_and_feeds_are_json_404(client: Any, url: str) -> None:
    err = error_of(client.get(url), 404)
    assert err["code"] == "not_found"
    head = client.head(url)
    assert head.status_code == 404 and head.data == b""


@pytest.mark.parametrize("url", ["/api/v1/posts", "/api/v1/posts/alpha", "/api/v1/tags", "/feeds/atom.xml"])
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_json_405_with_allow(client: Any, url: str, method: str) -> None:
    resp = client.open(url, method=method)
    err = error_of(resp, 405)
    assert err["code"] == "method_not_allowed"
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allowed and method not in allowed


@pytest.mark.parametrize("url", ["/nope", "/apix", "/feedsx/atom.xml", "/posts/nope"])
def test_errors_elsewhere_are_not_json(client: Any, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert client.post("/").status_code == 405 and client.post("/").mimetype != "application/json"


@pytest.mark.parametrize("prefix", ["/api/v1/_test", "/feeds/_test"])
def test_a_bug_is_a_json_500_without_internals(client: Any, prefix: str, caplog: Any) -> None:
    with caplog.at_level(logging.ERROR):
        resp = client.get(f"{prefix}/boom")
    err = error_of(resp, 500)
    assert err["code"] == "internal_error"
    assert b"secret" not in resp.data and b"RuntimeError" not in resp.data
    assert "secret internals" in caplog.text  # logged for us, not shown to them


def test_a_bug_elsewhere_is_plain_text_without_internals(client: Any) -> None:
    resp = client.get("/_test/boom")
    assert resp.status_code == 500 and resp.mimetype == "text/plain"
    assert b"secret" not in resp.data and b"Traceback" not in resp.data


def test_validation_error_is_400_listing_every_field(client: Any) -> None:
    err = error_of(client.get("/api/v1/_test/invalid"), 400)
    assert err["code"] == "invalid_parameters"
    assert [d["name"] for d in err["details"]] == ["a", "b"]
    assert all(set(d) == {"name", "reason"} and d["reason"] for d in err["details"])
    assert "a" in err["message"] and "b" in err["message"]
    html = client.get("/_test/invalid")
    assert html.status_code == 400 and html.mimetype == "text/html"


def test_api_error_keeps_status_code_and_details(client: Any) -> None:
    err = error_of(client.get("/feeds/_test/api-error"), 409)
    assert err == {"status": 409, "code": "conflict", "message": "no way", "details": [{"name": "x", "reason": "y"}]}
    plain = client.get("/_test/api-error")
    assert plain.status_code == 409 and plain.mimetype == "text/plain"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/posts?q=%ff%fe",
        "/api/v1/posts/%ff",
        "/api/v1/posts/%00",
        "/api/v1/posts?page=%00",
        "/api/v1/posts?since=%c0%80",
        "/api/v1/posts/" + "a" * 5000,
        "/api/v1/posts?" + "x=1&" * 2000,
        "/api/v1/categories/%2e%2e%2f%2e%2e",
        "/api/v1/posts?tag=<script>",
        "/api/v1/posts?per_page=1%0d%0aX-Evil:%201",
    ],
)
def test_hostile_requests_get_a_json_answer_never_a_5xx(client: Any, url: str) -> None:
    resp = client.get(url)
    assert resp.status_code < 500
    assert resp.mimetype == "application/json"
    assert "X-Evil" not in resp.headers
    if resp.status_code >= 400:
        error_of(resp, resp.status_code)


def test_validation_error_from_nested_messages_is_flattened() -> None:
    from feedsvc.errors import validation_details

    exc = ValidationError({"b": ["bad"], "a": {"0": ["x", "y"]}, "_schema": ["whole"]})
    assert validation_details(exc) == [
        {"name": "request", "reason": "whole"},
        {"name": "a.0", "reason": "x"},
        {"name": "a.0", "reason": "y"},
        {"name": "b", "reason": "bad"},
    ]
