"""The parser's fast paths give what the general ways give, for any input (issue 23, point 4).

Front matter composed by libyaml (small, no anchor or alias) loads to the same value, or
fails with the same error, as by the counting composer; the sanitiser's skipped passes, the
plain text of rendered HTML and the ASCII slug rule give the same strings as the full ways.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feedsvc.content import markdown, slugs, values
from feedsvc.content.errors import ContentError
from feedsvc.content.frontmatter import FAST_MAX_CHARS, MAX_NODES, _counted_load, _fast_load, load_yaml
from feedsvc.content.model import Author, Category, Site
from feedsvc.content.parse import parse_post

#: Pieces of YAML syntax, so random documents reach nesting, flow and block styles, tags, merges, errors.
_YAML_BITS = st.sampled_from(
    [
        "a",
        "b",
        "title",
        ":",
        ": ",
        "- ",
        "-",
        "[",
        "]",
        "{",
        "}",
        ", ",
        "? ",
        "\n",
        "  ",
        "    ",
        "'",
        '"',
        "1",
        "0x1f",
        "1e3",
        ".inf",
        "~",
        "null",
        "true",
        "True",
        "yes",
        "no",
        "on",
        "2021-01-01",
        "2021-01-01T10:00:00Z",
        "!!str ",
        "!!int ",
        "!!map ",
        "!!seq ",
        "!!binary ",
        "!!timestamp ",
        "!foo ",
        "<<: ",
        "#",
        " # c",
        "|",
        ">",
        "\t",
        "%YAML 1.1\n",
        "---\n",
        "...\n",
        "=",
        "\\",
        "é",
        "\u2028",
        "\x85",
        "\ufeff",
        "@",
        "`",
    ]
)
_nested = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def _outcome(load: Any, text: str) -> tuple[str, Any]:
    try:
        value = load(text)
    except ContentError as exc:
        return "error", (exc.field, exc.message)
    except Exception as exc:  # any other failure (such as '!!int' with no digits) must match too
        return "raised", (type(exc).__name__, str(exc))
    return "value", (repr(value), _types(value))


def _types(value: Any) -> Any:
    if isinstance(value, dict):
        return [(type(k).__name__, _types(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value).__name__


def _same_load(text: str) -> None:
    counted = _outcome(lambda t: _counted_load(t, "front matter", MAX_NODES), text)
    assert _outcome(load_yaml, text) == counted


@settings(max_examples=600, deadline=None)
@given(st.lists(_YAML_BITS, max_size=40).map("".join))
@example("a: [" * 40 + "]" * 40)  # deeper than MAX_DEPTH: the counting way refuses it
@example("- " * 40 + "x")
@example("a: 1\na: 2\n")  # duplicate key
@example("<<: {a: 1}\na: 2\n")
@example("")
@example("---\n---\n")
@example("1: a\n1.0: b\n")  # keys equal once built: a duplicate
@example("a: !!map {b: 1}\nc: !!seq [1, true, ~, 0x1f, 1e3]\n")
@example("a: !!str [x]\n")
@example("=: 1\nb: =\n")
@example("? [a]\n: b\n")
@example("a: !!binary aGk=\nb: !!int\n")
@example("!!map\n")  # a collection tag on a scalar: PyYAML builds it later, and refuses it then
@example("a: !!omap [b: 1]\n")
def test_front_matter_fast_way_matches_counting_way(text: str) -> None:
    _same_load(text)


@settings(max_examples=300, deadline=None)
@given(_nested, st.sampled_from([None, "'", '"']), st.booleans())
def test_dumped_documents_load_alike(data: Any, style: str | None, flow: bool) -> None:
    _same_load(yaml.safe_dump(data, default_style=style, default_flow_style=flow, allow_unicode=True))


def test_fast_way_is_taken_for_ordinary_front_matter() -> None:
    text = "title: A post\ndate: 2021-01-01\ncategories: [news]\ntags:\n  - HIV\n  - Naloxone\nauthor:\n  name: A\n"
    text += "draft: false\nn: 3\nx: ~\n"
    assert _fast_load(text, MAX_NODES) == (True, _counted_load(text, "front matter", MAX_NODES))
    assert _fast_load("a: &x 1\nb: *x\n", MAX_NODES) == (False, None)  # aliases: always counted
    assert _fast_load("a: " + "x" * FAST_MAX_CHARS, MAX_NODES) == (False, None)


#: Markdown from pieces that reach raw HTML, references, entities, links, the noncharacters and NBSP.
_MD_BITS = st.sampled_from(
    [
        "word",
        " ",
        "\n",
        "\n\n",
        "# ",
        "- ",
        "> ",
        "| a | b |\n|---|---|\n| c | d |\n",
        "`x`",
        "```\ncode\n```\n",
        "&",
        "&amp;",
        "&amp",
        "&nbsp;",
        "&#160;",
        "&#xA0;",
        "&#38;",
        "&#x26;",
        "&lt;",
        "&quot;",
        "&ampx",
        "\xa0",
        "\ufffe",
        "\uffff",
        "\x7f",
        "\x01",
        "é",
        "日本",
        "<b>",
        "</b>",
        "<div>",
        "</div>",
        "<p>",
        "</p>",
        "<br>",
        '<a href="/x?a=1&b=2">l</a>',
        "[l](/rel)",
        "[l](https://e.org/&x)",
        '![i](img.png "t&")',
        "<!-- c -->",
        "<script>x</script>",
        "<img src=x onerror=y>",
        '"',
        "'",
        "<",
        ">",
        "*",
        "_",
        "~~s~~",
        "- [ ] t\n",
    ]
)


def _full_protect(raw: str) -> str:
    """``markdown._protect`` without its early return: every substitution applied."""
    raw = markdown._SLOW_REF.sub(
        markdown._ref_placeholder, markdown._NONCHAR.sub(lambda m: markdown._PLACEHOLDERS[m.group(0)], raw)
    )
    return raw


def _full_html_to_text(fragment: str) -> str:
    """The plain-text rule as first written: a space before each block end, then every tag removed."""
    if not fragment:
        return ""
    text = markdown.html.unescape(markdown._TAG.sub("", markdown._BLOCK_END.sub(r" \g<0>", fragment)))
    return " ".join(text.split())


@settings(max_examples=400, deadline=None)
@given(st.lists(_MD_BITS | st.text(max_size=5), max_size=40).map("".join))
def test_render_fast_paths_match_full_ways(body: str) -> None:
    raw = markdown.gfm_to_html(markdown.xml_clean(body), options=markdown._CMARK_OPTIONS)
    try:
        fast = markdown._protect(raw)
    except ContentError:
        return
    assert fast == _full_protect(raw)
    html = markdown.render(body, "https://example.org/base/")
    assert markdown.html_to_text(html) == _full_html_to_text(html)
    for match in markdown._FIRST_PARAGRAPH.finditer(html):
        assert markdown.html_to_text(match.group(1)) == _full_html_to_text(match.group(1))


_MARKS = frozenset({"Mn", "Mc", "Me"})


def _general_slug(text: str) -> str:
    """``slugs.derive_slug`` by its general way only (every character folded one by one)."""
    slug = slugs._derive(text)
    return slug[: slugs.MAX_SLUG].rstrip("-") if len(slug) > slugs.MAX_SLUG else slug


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=127), max_size=200))
@example("2021-01-01-Hello_World--x" * 8)
@example("-" * 130 + "a")
def test_ascii_slug_rule_matches_general_rule(text: str) -> None:
    assert derive_ascii(text) == _general_slug(text)


def derive_ascii(text: str) -> str:
    assert text.isascii()
    return slugs.derive_slug(text)


def test_general_slug_rule_still_folds_accents() -> None:
    assert slugs.derive_slug("Décriminalisation à Genève") == "decriminalisation-a-geneve"
    assert unicodedata.is_normalized("NFC", slugs.derive_slug("заявление о политике"))
    assert re.fullmatch("[a-z0-9-]*", slugs.derive_slug("Hello, World! 2021"))


#: Pieces of relative and absolute URLs: dot segments, empty segments, parameters, empty queries and fragments.
_URL_BITS = st.sampled_from(
    ["/", "//", "a", "b.c", ".", "..", "...", ";p", "?", "?q=1", "&", "#", "#f", "%20", "=", ":", "@", "~", "é", " ", "\t"]
)
_BASES = st.sampled_from(
    [
        "http://127.0.0.1:8000",
        "https://example.org/",
        "https://example.org/news",
        "https://u@h.org:8443/a/b/",
        "https://h.org/?q",
        "HTTPS://H.ORG",
    ]
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_URL_BITS, max_size=12).map("".join), _BASES)
@example("/posts/15#section-1", "http://127.0.0.1:8000")
@example("/a/..", "https://example.org/news")
@example("/a?", "https://example.org/")
def test_rooted_url_fast_way_matches_urljoin(url: str, base: str) -> None:
    """A path from the root appended to the base's origin is what urljoin gives."""
    expected = url.strip()
    if expected and not expected.startswith(markdown._ABSOLUTE) and not markdown.urlsplit(expected).scheme:
        expected = markdown.urljoin(base.rstrip("/") + "/", expected)
    assert markdown.absolute_url(url, base) == expected


def test_rooted_url_fast_way_is_taken() -> None:
    assert markdown._ROOTED.fullmatch("/images/15-4.jpg?w=1#top")
    assert markdown._origin("https://example.org/news") == "https://example.org"
    assert not markdown._ROOTED.fullmatch("/a/../b") and not markdown._ROOTED.fullmatch("//host/x")


def test_ascii_url_characters_refused_as_by_the_general_rule() -> None:
    """Every ASCII character: refused in a URL exactly when it is a space or in category C or Z."""
    for code in range(128):
        ch = chr(code)
        general = ch.isspace() or unicodedata.category(ch)[0] in "CZ"
        problem = values.url_problem(f"/a{ch}b")
        assert (problem is not None and problem.startswith("must not contain spaces")) == general, repr(ch)
        if general:
            assert f"U+{code:04X}" in str(problem)


@pytest.mark.parametrize(
    ("start", "error"),
    [
        ("9998-12-31T20:00:00", True),  # 9999 only in the site's zone (UTC+14): the second zone's check
        ("9998-12-31T08:00:00", False),
        ("9998-12-31T23:00:00-05:00", True),  # 9999 in UTC: the first zone's check, made once
    ],
)
def test_event_time_checked_in_its_zone_and_the_sites(start: str, error: bool) -> None:
    """An event time is read and checked in its own zone once, then checked in the site's zone."""
    site = Site(
        "S",
        "https://example.org",
        "example.org,2021",
        "en",
        "Pacific/Kiritimati",
        Author("A"),
        categories=(Category("news", "N"),),
    )
    raw = f"---\ntitle: T\ndate: 2021-06-01\ncategories: [news]\nevent:\n  start: {start}\n  timezone: UTC\n---\nB\n"
    if not error:
        post = parse_post(raw.encode(), "x.md", site)
        assert post is not None and post.event is not None and post.event.start.year == 9998
        return
    with pytest.raises(ContentError) as caught:
        parse_post(raw.encode(), "x.md", site)
    assert caught.value.field == "event.start"
    assert caught.value.message.endswith("is outside the supported years 1000-9998 (in UTC and in the site's timezone)")


def test_text_dates_read_once_per_zone() -> None:
    """parse_when keeps what it read from a text date per zone: the same instants, the same errors."""
    london, tokyo = ZoneInfo("Europe/London"), ZoneInfo("Asia/Tokyo")
    for _ in range(2):
        assert values.parse_when("2021-06-01", london).isoformat() == "2021-06-01T00:00:00+01:00"
        assert values.parse_when(" 2021-06-01 ", tokyo).isoformat() == "2021-06-01T00:00:00+09:00"
        assert values.parse_when("2021-06-01T10:00:00Z", tokyo).isoformat() == "2021-06-01T10:00:00+00:00"
        for bad, message in [
            ("2021-13-01", "not an ISO 8601 date or datetime: '2021-13-01'"),
            ("  ", "not an ISO 8601 date or datetime: '  '"),
        ]:
            with pytest.raises(ValueError, match=re.escape(message)):
                values.parse_when(bad, london)
        with pytest.raises(ValueError, match="outside the supported years"):
            values.parse_when("0999-12-31", ZoneInfo("UTC"))


_FORBIDDEN_SOMEWHERE = st.sampled_from(["\x00", "\x0b", "\x1f", "\x7f", "\x80", "\x9f", "\ud800", "\udfff", "\ufffe", "\uffff"])
_ALLOWED_NEAR = st.sampled_from(["\t", "\n", "\r", " ", "~", "\xa0", "\xc2", "\xed", "\ud7ff", "\ue000", "\ufffd", "\U00010000"])


@settings(max_examples=600, deadline=None)
@given(
    st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=300),
    st.lists(_FORBIDDEN_SOMEWHERE | _ALLOWED_NEAR, max_size=4),
    st.integers(0, 400),
)
@example("x" * 300, [], 0)
@example("x" * 300, ["\x85"], 150)
def test_xml_clean_of_long_text_removes_what_the_scan_removes(text: str, inserts: list[str], at: int) -> None:
    """A text of 256 characters or more is checked as UTF-8 bytes first; what comes out is the scan's."""
    for ch in inserts:
        text = text[:at] + ch + text[at:]
    text = text.ljust(256 + len(text) % 7, "a")
    assert markdown.xml_clean(text) == markdown._XML_FORBIDDEN.sub("", text)


def _years(when: Any, zones: tuple[ZoneInfo, ...]) -> list[int]:
    try:
        return [when.year, when.astimezone(UTC).year, *(when.astimezone(z).year for z in zones)]
    except OverflowError:
        return [0]


@settings(max_examples=600, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1),
        max_value=datetime(9998, 12, 31, 23, 59),
        timezones=st.sampled_from([ZoneInfo(z) for z in ("UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Europe/London")]),
    ),
    st.lists(st.sampled_from([ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Etc/GMT+12"), ZoneInfo("Asia/Tokyo")]), max_size=2),
)
@example(datetime(1000, 1, 1, 5, tzinfo=ZoneInfo("Pacific/Kiritimati")), [])
@example(datetime(9998, 12, 31, 20, tzinfo=ZoneInfo("UTC")), [ZoneInfo("Pacific/Kiritimati")])
@example(datetime(1001, 1, 1, 0, tzinfo=ZoneInfo("Pacific/Kiritimati")), [ZoneInfo("Etc/GMT+12")])
def test_instants_inside_the_window_are_accepted_as_the_full_check_would(when: Any, zones: list[ZoneInfo]) -> None:
    """check_instant skips the conversions for a year strictly inside the window: an offset moves an
    instant by less than a day, so every zone then shows a year inside it. The full rule decides alike."""
    whole_minutes = when.utcoffset() % timedelta(minutes=1) == timedelta(0)
    full_ok = whole_minutes and all(values.MIN_YEAR <= y <= values.MAX_YEAR for y in _years(when, tuple(zones)))
    try:
        values.check_instant(when, *zones)
    except ValueError:
        assert not full_ok
    else:
        assert full_ok
