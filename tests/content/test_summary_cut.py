"""A derived summary (the first paragraph) is cut at a word boundary to SUMMARY_MAX_CHARS, with an ellipsis."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from feedsvc.content.markdown import ELLIPSIS, SUMMARY_MAX_CHARS, cut_summary, first_paragraph, render

BASE = "https://news.example.org"
words = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Z", "C")), min_size=1, max_size=30),
    min_size=1,
    max_size=200,
)


@given(words)
def test_cut_is_a_word_prefix_within_the_limit(ws: list[str]) -> None:
    text = " ".join(ws)
    out = cut_summary(text)
    if len(text) <= SUMMARY_MAX_CHARS:
        assert out == text
        return
    assert out.endswith(ELLIPSIS)
    head = out[:-1]
    assert len(head) <= SUMMARY_MAX_CHARS
    assert text.startswith(head)
    if len(ws[0]) <= SUMMARY_MAX_CHARS:  # a word boundary exists: the cut is at one
        rest = text[len(head) :]
        assert rest[:1] in (" ", ",", ";", ":")
        assert len(head) > SUMMARY_MAX_CHARS - 31 - 3  # never much shorter than needed (words <= 30)


def test_a_huge_single_paragraph_gives_a_short_summary() -> None:
    html = render("word " * 1_500_000, BASE)  # 7.5 MB in one paragraph
    summary = first_paragraph(html)
    assert len(summary) <= SUMMARY_MAX_CHARS + 1 and summary.endswith("word" + ELLIPSIS)


def test_short_paragraph_is_kept_whole() -> None:
    assert first_paragraph(render("Short one.\n\nSecond.", BASE)) == "Short one."


def test_summary_in_the_api_is_cut(site: Any, make_app: Any) -> None:
    site.post("long", "lorem ipsum " * 5000, title="Long", date="2021-04-01", categories=["statements"])
    with make_app().test_client() as c:
        item = c.get("/api/v1/posts").get_json()["items"][0]
    assert len(item["summary"]) <= SUMMARY_MAX_CHARS + 1 and item["summary"].endswith(ELLIPSIS)
    assert len(item["content_text"]) > 50_000  # the full text is still there


#: Grapheme clusters a reader sees as one character: a cut inside one leaves half of it (a lone
#: regional indicator, a family emoji without its last members, a Thai or Devanagari consonant
#: without its vowel sign, a letter without its decomposed accent).
CLUSTERS = [
    "x",
    "中",
    "🇺🇦",
    "🇫🇷",
    "👨\u200d👩\u200d👧\u200d👦",
    "🏳\ufe0f\u200d🌈",
    "👍🏽",
    "e\u0301",
    "กี",
    "हिं",
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # the flag of Scotland (tag sequence)
]


@given(st.lists(st.sampled_from(CLUSTERS), min_size=150, max_size=400))
def test_a_cut_inside_a_word_keeps_whole_characters(clusters: list[str]) -> None:
    """Text with no space to cut at (Chinese, Thai, a run of emoji) is cut between grapheme clusters."""
    text = "".join(clusters)
    out = cut_summary(text)
    if out == text:
        return
    head = out[: -len(ELLIPSIS)]
    assert len(head) <= SUMMARY_MAX_CHARS
    boundaries = set(itertools.accumulate(map(len, clusters), initial=0))
    assert text.startswith(head) and len(head) in boundaries
    assert len(head) > SUMMARY_MAX_CHARS - 10  # never much shorter than the limit (clusters are short)
