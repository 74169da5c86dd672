"""The post schema's quick load gives what Schema.load gives, value or errors, for any front matter (issue 23, point 4)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields

from feedsvc.content import validate
from feedsvc.content.errors import ContentError
from feedsvc.content.model import Author, Category, Site
from feedsvc.content.parse import parse_post
from feedsvc.content.quickload import QuickLoad

_SCHEMA = validate.PostSchema()
_QUICK = QuickLoad(_SCHEMA)

#: Values valid and invalid for the post fields: text, dates, slugs, lists, mappings, wrong types.
_VALUES = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1.5,
        "",
        "  ",
        "A title",
        "\u202etxt",
        "\x01x",
        "x" * 1001,
        "2021-06-01",
        "2021-06-01T10:00:00+02:00",
        "2021-13-01",
        "0999-01-01",
        "news",
        "Bad Slug",
        "en",
        "pt-BR",
        "/images/a.jpg",
        "javascript:alert(1)",
        "https://example.org/x",
        "a b",
        [],
        ["news"],
        ["news", "news"],
        ["Bad Slug"],
        ["HIV", "Naloxone"],
        [None],
        [1],
        {},
        {"name": "A"},
        {"name": "A", "email": "bad"},
        {"name": "A", "uri": "/rel"},
        {"nom": "A"},
        {"start": "2021-01-01", "end": "2020-01-01"},
        {"start": "2021-01-01T10:00:00", "timezone": "Europe/London", "languages": ["en", "fr"]},
        {"start": "x"},
        [{"url": "/f.pdf", "mime_type": "application/pdf", "size_in_bytes": 10}],
        [{"url": "/f.pdf", "mime_type": "bad", "size_in_bytes": -1}],
        [{"url": "/f.pdf"}],
    ]
)
_KEYS = st.sampled_from([*_SCHEMA.load_fields, "draf", "Title"])


def _outcome(load: Any, data: Any) -> tuple[str, Any]:
    try:
        return "value", repr(load(data))
    except ValidationError as exc:
        return "errors", (repr(exc.messages), repr(exc.valid_data))


@settings(max_examples=1500, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=10), st.booleans())
@example({"title": "T", "date": "2021-06-01", "categories": ["news"]}, True)
@example({"title": "T", "date": "2021-06-01", "categories": ["news"], "draf": True}, False)
def test_quick_load_matches_schema_load(data: dict[str, Any], ordinary: bool) -> None:
    if ordinary:  # most front matter is valid: start from a post that loads
        data = {"title": "T", "date": "2021-06-01", "categories": ["news"], **data}
    assert _outcome(_QUICK.load, data) == _outcome(_SCHEMA.load, data)


def test_quick_load_is_taken_for_valid_front_matter() -> None:
    data = {"title": "T", "date": "2021-06-01", "categories": ["news"], "tags": ["HIV"], "author": "A"}
    calls: list[Any] = []

    class Counting(validate.PostSchema):
        def load(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return super().load(*args, **kwargs)

    quick = QuickLoad(Counting())
    assert quick.load(data) == _SCHEMA.load(data) and calls == []
    with pytest.raises(ValidationError):
        quick.load({**data, "draf": True})
    assert len(calls) == 1  # an unknown key: Schema.load, whose errors are reported


def test_post_schemas_have_no_hooks() -> None:
    """QuickLoad skips Schema.load's hooks: the post schema and the schemas it nests must have none."""
    for schema in (validate.PostSchema, validate.EventSchema, validate.AttachmentSchema, validate.AuthorSchema):
        hooked = [name for name, member in vars(schema).items() if hasattr(member, "__marshmallow_hook__")]
        assert hooked == [], (schema.__name__, hooked)
    assert [n for n, m in vars(validate.SiteSchema).items() if hasattr(m, "__marshmallow_hook__")]  # the check sees hooks


def test_schema_with_data_key_always_loads_through_marshmallow() -> None:
    class Keyed(Schema):
        a = fields.Str(data_key="b")

    assert not QuickLoad(Keyed()).plain
    assert QuickLoad(Keyed()).load({"b": "x"}) == {"a": "x"}


def test_front_matter_error_reported_as_before() -> None:
    """An unknown field still names itself (``file: field: message``)."""
    raw = b"---\ntitle: T\ndate: 2021-06-01\ncategories: [news]\ndraf: true\n---\nBody\n"
    site = Site("S", "https://example.org", "example.org,2021", "en", "UTC", Author("A"), categories=(Category("news", "News"),))
    with pytest.raises(ContentError) as caught:
        parse_post(raw, "x.md", site)
    assert (caught.value.field, caught.value.message) == ("draf", "Unknown field.")


def test_nested_objects_load_quickly_and_refusals_through_marshmallow(monkeypatch: pytest.MonkeyPatch) -> None:
    """An event, an author mapping and attachments are loaded by their fields too (QuickNested); a
    nested refusal goes through Schema.load, so its errors are marshmallow's, under the field's name."""
    calls: list[str] = []
    for schema in (validate.EventSchema, validate.AuthorSchema, validate.AttachmentSchema):
        real = schema.load

        def counting(self: Any, *args: Any, _real: Any = real, _name: str = schema.__name__, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(schema, "load", counting)
    data = {
        "title": "T",
        "date": "2021-06-01",
        "categories": ["news"],
        "author": {"name": "A", "uri": "https://example.org/a"},
        "event": {"start": "2021-07-01T10:00:00", "timezone": "Europe/London", "languages": ["en", "fr"]},
        "attachments": [{"url": "/f.pdf", "mime_type": "application/pdf", "size_in_bytes": 10}],
    }
    loaded = _QUICK.load(data)
    assert calls == []
    assert loaded["event"]["languages"] == ["en", "fr"] and loaded["attachments"][0]["size_in_bytes"] == 10
    with pytest.raises(ValidationError) as caught:
        _QUICK.load({**data, "event": {"start": "2021-07-01", "attendance": "maybe"}})
    assert caught.value.messages == {"event": {"attendance": ["Must be one of: online, offline, mixed."]}}
    assert "EventSchema" in calls
