"""The OpenAPI 3.1 document, built by apispec from the schemas that validate and serialise.

Also the human-readable ``/api/docs`` page (rendered server-side from the same document:
no JavaScript, no CDN) and the ``flask --app feedsvc openapi print`` command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import click
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, render_template
from markupsafe import Markup, escape
from marshmallow import fields

from .. import http
from ..caching import render
from ..content import Site
from ..extensions import current_index
from ..representation import Representation
from ..version import __version__
from . import schemas as s

ERROR = {"$ref": "#/components/schemas/Error"}
#: Root-relative paths of this document and of the docs page's stylesheet.
OPENAPI_JSON = "/api/v1/openapi.json"
DOCS_CSS = "/api/docs/docs.css"
_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}


def _json(schema: Any, description: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    resp: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        resp["headers"] = dict(headers)
    return resp


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "A parameter has a bad value; `details` lists every one.",
        404: "No such resource (or page).",
        410: "The post was withdrawn at its `expires` time (also answered for its old slugs).",
        503: "A search (`q`) while the full-text index is still being built after a large load, such as a first "
        "start (code `search_not_ready`, with `Retry-After`); every other request is answered meanwhile.",
    }
    out = {str(c): _json(ERROR, text[c]) for c in codes}
    out["304"] = {"description": "Not modified (conditional request with If-None-Match / If-Modified-Since)."}
    out["default"] = _json(ERROR, "Any other error (405, 429, 5xx) in the same shape.")
    return out


_PAGE_HEADERS = {
    "Link": {"description": "RFC 8288 links: first, prev, next, last.", "required": True, "schema": {"type": "string"}},
    "X-Total-Count": {
        "description": "Number of matching posts on all pages.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}


def _list_op(summary: str, params: list[Any], tag: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "tags": [tag],
            "parameters": params,
            "responses": {"200": _json("PostPage", "One page of posts, newest first.", _PAGE_HEADERS), **_errors(400, 404, 503)},
        }
    }


def build_spec(site: Site, config: Mapping[str, Any]) -> APISpec:
    """The APISpec of the API for ``site`` and this deployment's page limits."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title=f"{site.title} API",
        version=__version__,
        openapi_version="3.1.0",
        plugins=[plugin],
        servers=[{"url": site.base_url}],
        info={
            "description": (
                "Posts, categories and tags of the site, read-only. Every endpoint answers GET and HEAD, "
                "with ETag/Last-Modified validators. Optional members are omitted, never null. A known "
                "parameter with a bad value, an empty value, or given more than once, is a 400 naming every "
                "bad parameter; unknown parameters (cache busters) are ignored. The feeds under /feeds apply "
                "the same rules to page, lang and q, with the same status and error body."
            )
        },
    )
    plugin.map_to_openapi_type(fields.Url, "string", "uri")
    comp = spec.components
    # Nested schemas first, so the ones that use them refer to these named components.
    for name, schema in (
        ("Author", s.AuthorSchema),
        ("TagRef", s.TagRefSchema),
        ("Attachment", s.AttachmentSchema),
        ("Event", s.EventSchema),
        ("Translation", s.TranslationSchema),
        ("PostLinks", s.PostLinksSchema),
        ("FeedLinks", s.FeedLinksSchema),
        ("PageMeta", s.PageMetaSchema),
        ("PageLinks", s.PageLinksSchema),
        ("ErrorDetail", s.ErrorDetailSchema),
        ("ErrorBody", s.ErrorBodySchema),
        ("Error", s.ErrorSchema),
        ("Post", s.PostSchema),
        ("PostPage", s.PostPageSchema),
        ("Category", s.CategorySchema),
        ("Tag", s.TagSchema),
    ):
        comp.schema(name, component={"description": (schema.__doc__ or "").strip()}, schema=schema)
    args = s.ListArgs(
        per_page=config["PER_PAGE"], max_per_page=config["MAX_PER_PAGE"], categories=[c.slug for c in site.categories]
    )
    list_params = [{"in": "query", "schema": args}]
    cat_params = [
        _SLUG,
        {
            "in": "query",
            "schema": s.ListArgs(per_page=config["PER_PAGE"], max_per_page=config["MAX_PER_PAGE"], exclude=("category",)),
        },
    ]
    spec.path("/api/v1/posts", operations=_list_op("Posts, newest first, filtered and paginated.", list_params, "posts"))
    spec.path(
        "/api/v1/posts/{slug}",
        operations={
            "get": {
                "summary": "One post.",
                "tags": ["posts"],
                "parameters": [_SLUG],
                "responses": {
                    "200": _json("Post", "The post."),
                    "308": {
                        "description": "A retired slug: permanent redirect to the post's current URL.",
                        "headers": {"Location": {"required": True, "schema": {"type": "string", "format": "uri"}}},
                    },
                    **_errors(404, 410),
                },
            }
        },
    )
    spec.path(
        "/api/v1/categories",
        operations={
            "get": {
                "summary": "Every category declared by the site, in the site's order.",
                "tags": ["categories"],
                "responses": {
                    "200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Category"}}, "The categories."),
                    **_errors(),
                },
            }
        },
    )
    spec.path(
        "/api/v1/categories/{slug}",
        operations={
            "get": {
                "summary": "One category.",
                "tags": ["categories"],
                "parameters": [_SLUG],
                "responses": {"200": _json("Category", "The category."), **_errors(404)},
            }
        },
    )
    spec.path(
        "/api/v1/categories/{slug}/posts",
        operations=_list_op("A category's posts, filtered and paginated like /posts.", cat_params, "categories"),
    )
    spec.path(
        "/api/v1/tags",
        operations={
            "get": {
                "summary": "Every tag in use, sorted by slug.",
                "tags": ["tags"],
                "responses": {
                    "200": _json({"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}, "The tags."),
                    **_errors(),
                },
            }
        },
    )
    spec.path(
        OPENAPI_JSON,
        operations={
            "get": {
                "summary": "This document.",
                "tags": ["meta"],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document."), **_errors()},
            }
        },
    )
    return spec


def spec_dict(site: Site, config: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    return build_spec(site, config).to_dict()


def _inline_code(text: str | None) -> Markup:
    """Escaped text with `backticks` shown as <code> (the descriptions' only markup)."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text or ""))))


def _docs() -> Response:
    """/api/docs: the OpenAPI document as a readable HTML page (no script, no CDN)."""
    index = current_index()

    def produce() -> Representation:
        html = render_template(
            "api/docs.html",
            spec=spec_dict(index.site, current_app.config),
            md=_inline_code,
            # Root-relative like every page's assets, never url_for: url_for prefixes the request's
            # SCRIPT_NAME (which gunicorn takes from a header), and this page is cached for everyone.
            css_url=DOCS_CSS,
            openapi_url=OPENAPI_JSON,
        )
        return Representation(html.encode(), "text/html; charset=utf-8", index.last_modified(()))

    return http.send(render("api.docs", {}, produce))


def _docs_css() -> Response:
    """The docs page's stylesheet (the site's CSP forbids inline styles)."""
    index = current_index()
    return http.send(
        render(
            "api.docs_css",
            {},
            lambda: Representation(render_template("api/docs.css").encode(), "text/css; charset=utf-8", index.last_modified(())),
        )
    )


def register(bp: Blueprint) -> None:
    """Add /api/docs (outside the blueprint's /api/v1 prefix) and the `openapi print` command."""

    @bp.record_once
    def _routes(state: Any) -> None:
        app: Flask = state.app
        app.add_url_rule("/api/docs", "api_docs", _docs, methods=["GET"])
        app.add_url_rule(DOCS_CSS, "api_docs_css", _docs_css, methods=["GET"])

    @bp.cli.command("print")
    def print_spec() -> None:
        """Print the OpenAPI 3.1 document (JSON) of the API."""
        doc = spec_dict(current_index().site, current_app.config)
        click.echo(json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False))
