"""api.canonical.to_json gives json.dumps' canonical bytes for every document, long strings included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feedsvc.api.canonical import LONG, to_json


def reference(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


# Text biased towards what needs escaping: quotes, backslashes, every control character,
# non-ASCII (2-, 3- and 4-byte UTF-8), U+2028/9, DEL, and the splice marker NUL itself.
_chars = st.one_of(st.sampled_from(list('"\\\n\r\t\b\f\x00\x01\x1f\x7f\u2028\u2029é€😀<>&/')),
                   st.characters(exclude_categories=("Cs",)))
_text = st.text(_chars, max_size=40)
_long = st.builds(lambda a, b, n: a + "x" * n + b, _text, _text, st.integers(LONG - 10, LONG + 50))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), _text, _long)
_docs = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.one_of(_text, _long), inner, max_size=5)), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_docs)
def test_same_bytes_as_json_dumps(doc: Any) -> None:
    assert to_json(doc) == reference(doc)


@pytest.mark.parametrize("s", ["a" * LONG, "é" * LONG + "\\u0000", "\t\n\r" * LONG, "\x00" + "é" * LONG,
                               "x" * LONG + "\b\f", "😀" * LONG + '"'])
def test_long_strings(s: str) -> None:
    doc = {"k": s, "l": [s, {s: s}]}
    assert to_json(doc) == reference(doc)


@pytest.mark.parametrize("s", ["\ud800", "\udfff" + "x" * LONG])
def test_lone_surrogate_fails_like_json_dumps(s: str) -> None:
    with pytest.raises(UnicodeEncodeError):
        reference({"k": s})
    with pytest.raises(UnicodeEncodeError):
        to_json({"k": s})


def test_not_serialisable_and_circular_like_json_dumps() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        to_json({"k": object()})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        to_json(loop)
