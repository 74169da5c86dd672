"""canonical_json.to_json gives json.dumps' canonical bytes for every document feedsvc makes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.canonical_json import to_json


def reference(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


# Text biased towards what needs escaping: quotes, backslashes, every control character,
# non-ASCII (2-, 3- and 4-byte UTF-8), U+2028/9, DEL, markup characters.
_chars = st.one_of(
    st.sampled_from(list('"\\\n\r\t\b\f\x00\x01\x1f\x7f\u2028\u2029é€😀<>&/')), st.characters(exclude_categories=("Cs",))
)
_text = st.text(_chars, max_size=40)
_long = st.builds(lambda a, b, n: a + "xé" * n + b, _text, _text, st.integers(200, 3000))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), _text, _long)
_docs = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.one_of(_text, _long), inner, max_size=5)),
    max_leaves=30,
)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(_docs)
def test_same_bytes_as_json_dumps(doc: Any) -> None:
    assert to_json(doc) == reference(doc)


def test_real_documents_same_bytes(client, site) -> None:
    site.post("a", "Ünïcode “quotes” \\ back\tslash\n\n<b>bold</b> 😀", title='A "title"', tags=["x"])
    for url in (
        "/api/v1/posts",
        "/api/v1/posts/a",
        "/api/v1/tags",
        "/api/v1/openapi.json",
        "/feeds/feed.json",
        "/api/v1/posts?page=9",
    ):
        body = client.get(url).data
        assert body == reference(json.loads(body)), url


@pytest.mark.parametrize("s", ["\ud800", "\udfff" + "x" * 600])
def test_lone_surrogate_is_refused(s: str) -> None:
    with pytest.raises(UnicodeEncodeError):
        reference({"k": s})
    with pytest.raises(TypeError):
        to_json({"k": s})


def test_not_serialisable_and_circular_are_refused() -> None:
    with pytest.raises(TypeError):
        to_json({"k": object()})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError):
        to_json(loop)
