"""Markdown -> sanitised, absolutised HTML; plain text; summaries.

The only module that imports the Markdown renderer (cmarkgfm, GitHub's cmark-gfm)
and the HTML sanitiser (nh3).
"""

from __future__ import annotations

import ctypes
import html
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import nh3
from cmarkgfm import _cmark
from cmarkgfm.cmark import Options

from .errors import ContentError

# Raw HTML is let through cmark on purpose: nh3 below is the one place that decides
# what survives. GitHub's extensions: tables, autolinks, strikethrough, task lists.
_CMARK_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_VALIDATE_UTF8

# An allow-list fit for feed readers: structure, text semantics, tables, images.
# No script/style/iframe/form, no event handlers, no style attributes.
_TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area", "center", "acronym", "tt", "strike"}
_ATTRIBUTES: dict[str, set[str]] = {
    **{k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items() if k in _TAGS},
    "a": {"href", "hreflang", "title"},
    "img": {"alt", "height", "width", "src", "title"},
    "abbr": {"title"},
    "time": {"datetime"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "ol": {"start"},
    "li": {"value"},
}
#: The URL schemes any output may link to: the body's links and every URL field (values.url_problem).
URL_SCHEMES = {"http", "https", "mailto", "tel"}
#: Prefixes urlsplit would find a scheme in: the common case, without parsing the URL.
_ABSOLUTE = ("https://", "http://", "mailto:")
_URL_ATTRS = {("a", "href"), ("img", "src"), ("blockquote", "cite"), ("q", "cite"), ("del", "cite"), ("ins", "cite")}

# XML 1.0 §2.2 Char, minus the C1 controls and DEL that XML "discourages" and that
# feed validators flag. Everything matched here is removed from every text field.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FIRST_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
_WS = re.compile(r"\s+")


#: ``_XML_FORBIDDEN``'s characters that are one byte in UTF-8: the C0 controls but tab, LF and CR,
#: and DEL. Each of the others starts with C2 (C1 controls), ED (surrogates, passed) or EF BF
#: (U+FFFE, U+FFFF).
_FORBIDDEN_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
#: Texts at least this long are first checked as bytes: no regular expression scan when clean.
_SCAN_AS_BYTES = 256


def xml_clean(text: str) -> str:
    """Remove characters that XML 1.0 forbids (or discourages) from ``text``."""
    if len(text) >= _SCAN_AS_BYTES:
        raw = text.encode("utf-8", "surrogatepass")
        if (
            len(raw.translate(None, _FORBIDDEN_BYTES)) == len(raw)
            and b"\xc2" not in raw
            and b"\xed" not in raw
            and b"\xef\xbf" not in raw
        ):
            return text  # about twice as fast as the scan below, for a body with nothing to remove
    return _XML_FORBIDDEN.sub("", text)


#: A path from the root that urljoin takes as it is: no empty, '.' or '..' segment inside, no
#: ';' parameters, no empty query or fragment (urljoin drops those), plain ASCII throughout.
_ROOTED = re.compile(
    r"(?:/(?!\.\.?(?:[/?#]|\Z))[A-Za-z0-9._~!$&'()*+,=:@%-]+)+/?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]+)?(?:#[A-Za-z0-9._~!$&'()*+,;=:@%/?#-]+)?|/"
)


def absolute_url(url: str, base_url: str) -> str:
    """Resolve a possibly relative URL against the site's base URL (with a trailing slash)."""
    url = url.strip()
    if url.startswith(_ABSOLUTE) or not url:
        return url
    if url[0] == "/" and _ROOTED.fullmatch(url):
        origin = _origin(base_url)
        if origin is not None:
            return origin + url  # what urljoin gives, without parsing the base and the path again
    if urlsplit(url).scheme:
        return url
    return urljoin(base_url.rstrip("/") + "/", url)


@lru_cache(maxsize=16)
def _origin(base_url: str) -> str | None:
    """``scheme://host`` of the base URL, which a path from the root is appended to; None when urljoin
    would not join a path so (no host, a scheme it does not resolve against)."""
    base = base_url.rstrip("/") + "/"
    root = urljoin(base, "/")
    if not root.endswith("/") or not urlsplit(root).netloc or urljoin(base, "/a/b") != root + "a/b":
        return None
    return root[:-1]


class _CmarkMem(ctypes.Structure):
    _fields_ = [
        ("calloc", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)),
        ("realloc", ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)),
        ("free", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ]


# cmarkgfm's github_flavored_markdown_to_html never frees the document tree nor the HTML
# string it renders (theacodes/cmarkgfm#53): ~45 KB lost per post, 4.5 GB for a first load
# of 100,000 posts. Same calls as that wrapper, through the same library, plus the frees.
_cm = ctypes.CDLL(_cmark.__file__)  # the already-loaded extension: same handle, same state
_cm.cmark_node_free.argtypes = [ctypes.c_void_p]
_cm.cmark_node_free.restype = None
_cm.cmark_get_default_mem_allocator.restype = ctypes.POINTER(_CmarkMem)
_cmark_free = _cm.cmark_get_default_mem_allocator().contents.free
_GFM_EXTENSIONS = (b"table", b"autolink", b"tagfilter", b"strikethrough", b"tasklist")


def _address(ptr: object) -> int:
    return int(_cmark.ffi.cast("uintptr_t", ptr))


def gfm_to_html(text: str, options: int = 0) -> str:
    """cmarkgfm.github_flavored_markdown_to_html(text, options), without its memory leak."""
    lib = _cmark.lib
    options |= Options.CMARK_OPT_GITHUB_PRE_LANG
    lib.cmark_gfm_core_extensions_ensure_registered()
    parser = lib.cmark_parser_new(options)
    try:
        for name in _GFM_EXTENSIONS:
            lib.cmark_parser_attach_syntax_extension(parser, lib.cmark_find_syntax_extension(name))
        data = text.encode("utf-8")
        lib.cmark_parser_feed(parser, data, len(data))
        root = lib.cmark_parser_finish(parser)  # owned by the caller
        try:
            if lib.cmark_node_get_type(root) == lib.CMARK_NODE_NONE:
                raise ValueError("Error parsing markdown!")
            raw = lib.cmark_render_html(root, options, lib.cmark_parser_get_syntax_extensions(parser))
            try:
                # cmark writes &#xFFFE; and &#xFFFF; as the bare bytes 0xFE, 0xFF (not UTF-8)
                return str(_cmark.ffi.string(raw).decode("utf-8", "replace"))
            finally:
                _cmark_free(_address(raw))
        finally:
            _cm.cmark_node_free(_address(root))
    finally:
        lib.cmark_parser_free(parser)


#: Work the sanitiser's tree builder may do on one post: the sum, over the tags of the
#: rendered HTML, of the depth each opens or closes at (html5ever walks the stack of open
#: elements per tag, so deeply nested HTML costs depth x tags: 1.1 MB of nested <div>s
#: took 12 s). This budget is about 0.4 s on this hardware; ordinary posts are far below.
MAX_NESTING_WORK = 100_000_000
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^>]*?(/?)>")
_VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
        "p",
        "li",
        "dt",
        "dd",
        "tr",
        "td",
        "th",
        "option",
        "rt",
        "rp",
    }
)


def _check_nesting(raw: str) -> None:
    """Refuse HTML whose nesting would make sanitising it take seconds (``body`` error)."""
    if raw.count("<") ** 2 // 2 < MAX_NESTING_WORK:
        return  # even fully nested, this many tags cannot exceed the budget
    depth = work = deepest = 0
    for m in _TAG_NAME.finditer(raw):
        if m.group(2).lower() in _VOID or m.group(3):
            continue
        depth = max(0, depth - 1) if m.group(1) else depth + 1
        deepest = max(deepest, depth)
        work += depth
        if work > MAX_NESTING_WORK:
            raise ContentError(
                "body", f"HTML nested too deeply ({deepest}+ open elements); close your tags or flatten the structure"
            )


# nh3 (ammonia on html5ever) spends, for every '&' or U+00A0 in a text node, time in
# proportion to that node's length: a 1 MB paragraph of '&' took 10 s, 6 MB of U+00A0
# 245 s ('<', '>' and other text stay linear). Both characters therefore go through the
# sanitiser as two noncharacters that cannot otherwise reach it (xml_clean removes them
# from the Markdown, and from the HTML cmark renders), and are written back as the
# references nh3 itself writes for them, in text and in attribute values alike. The
# noncharacters already there (which xml_clean removes from the output anyway) become
# DEL, which the sanitiser reads as the same kind of text and xml_clean removes too.
_AMP, _NBSP = "\ufffe", "\uffff"
_PLACEHOLDERS = {"&": _AMP, "\xa0": _NBSP, "\ufffe": "\x7f", "\uffff": "\x7f"}
_SLOW_REF = re.compile(
    r"&(?:(?:amp|AMP|nbsp)(?:;|(?![A-Za-z0-9=]))|NonBreakingSpace;"
    r"|#0*([0-9]{1,7})(?![0-9]);?|#[xX]0*([0-9a-fA-F]{1,6})(?![0-9a-fA-F]);?)"
)
_NONCHAR = re.compile("[\xa0\ufffe\uffff]")
#: What is left after the substitution (references in raw HTML it does not rewrite, such
#: as ``&ampx``) may cost at most this many (characters x references); about 0.6 s here.
MAX_REFERENCE_WORK = 50_000_000_000
_SAFE_REFS = ("&lt;", "&gt;", "&quot;")


def _ref_placeholder(m: re.Match[str]) -> str:
    dec, hexa = m.group(1), m.group(2)
    if dec is None and hexa is None:
        return _AMP if m.group(0)[1] in "aA" else _NBSP
    char = chr(min(int(dec) if dec is not None else int(hexa, 16), 0x10FFFF))
    return _PLACEHOLDERS.get(char, m.group(0))


def _protect(raw: str) -> str:
    """``raw`` with each '&' and U+00A0 it stands for replaced by a placeholder (see above).

    :raises ContentError: ``body`` when the references left would still take seconds.
    """
    if "&" not in raw and raw.isascii():
        return raw  # nothing to replace: every character above is '&' or outside ASCII
    if "\xa0" in raw or "\ufffe" in raw or "\uffff" in raw:  # three substring searches: faster than one regex scan
        raw = _NONCHAR.sub(lambda m: _PLACEHOLDERS[m.group(0)], raw)
    if "&" in raw:  # every reference starts with '&' (and the line above puts none in)
        raw = _SLOW_REF.sub(_ref_placeholder, raw)
        left = raw.count("&") - sum(raw.count(ref) for ref in _SAFE_REFS)
        if left * len(raw) > MAX_REFERENCE_WORK:
            raise ContentError(
                "body", f"too many character references ({left}) in raw HTML for its size; write the characters themselves"
            )
    return raw


def render(markdown: str, base_url: str) -> str:
    """Render CommonMark + GFM to sanitised HTML with every link and image made absolute.

    :raises ContentError: ``body`` when the HTML is nested too deeply, or holds too many
        character references, to sanitise quickly.
    """

    def _filter(tag: str, attr: str, value: str) -> str | None:
        if (tag, attr) in _URL_ATTRS:
            # Many feed readers ignore xml:base, so relative URLs would break there.
            return absolute_url(value, base_url)
        return value

    raw = gfm_to_html(xml_clean(markdown), options=_CMARK_OPTIONS)
    _check_nesting(raw)
    cleaned = nh3.clean(
        _protect(raw),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_filter,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return xml_clean(cleaned.replace(_AMP, "&amp;").replace(_NBSP, "&nbsp;"))


_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|td|th|tr|blockquote|pre|div)>|<br\s*/?>")
# A tag of sanitised HTML: nh3 escapes '<' and '>' in text and in attribute values and
# strips comments, so this matches its tags exactly (a test checks it against lxml).
_TAG = re.compile(r"<[^>]*>")


def html_to_text(fragment: str) -> str:
    """Plain text of sanitised HTML (what ``render`` returns, or a part of it), whitespace folded."""
    if not fragment:
        return ""
    # Block ends become spaces so words of adjacent paragraphs do not run together (a block
    # end is a whole tag, and in sanitised HTML every '<' opens one: the tags left go after).
    text = html.unescape(_TAG.sub("", _BLOCK_END.sub(" ", fragment)))
    return " ".join(text.split())  # str.split folds the same whitespace as \s+, 4x faster


#: A derived summary (the first paragraph) is cut to at most this many characters, at a
#: word boundary, and then ends with an ellipsis: one huge paragraph must not make every
#: listing that carries summaries huge.
SUMMARY_MAX_CHARS = 400
ELLIPSIS = "\u2026"


def cut_summary(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    """``text`` if it fits in ``limit`` characters, else its longest prefix ending at a word boundary + "…".

    A single word longer than the limit (Chinese, Thai, a run of emoji) is cut inside it, between
    two characters as readers see them: never inside a flag, an emoji sequence or a letter's marks.
    """
    if len(text) <= limit:
        return text
    head = text[: limit + 1]  # one more: is the limit itself a boundary?
    cut = head.rfind(" ")
    head = head[:cut] if cut > 0 else text[: _cluster_start(text, limit)]
    return head.rstrip(" ,;:") + ELLIPSIS


def _cluster_start(text: str, i: int) -> int:
    """The nearest index at or before ``i`` not inside a user-perceived character (a letter and its
    marks, an emoji with its ZWJ, skin-tone, variation or tag parts, a flag's pair); else ``i``."""
    j = i
    while 0 < j < len(text) and (text[j - 1] == ZWJ or unicodedata.category(text[j])[0] == "M" or text[j] in _EXTEND):
        j -= 1
    run = j  # regional indicators pair up into flags: an odd run before j splits one
    while 0 < run and "\U0001f1e6" <= text[run - 1] <= "\U0001f1ff" and j < len(text) and "\U0001f1e6" <= text[j] <= "\U0001f1ff":
        run -= 1
    return (j - (j - run) % 2) or i


ZWJ = "\u200d"
#: What continues the character before it besides marks (UAX #29 Extend/ZWJ): ZWJ, skin tones, tags.
_EXTEND = frozenset([ZWJ, *map(chr, range(0x1F3FB, 0x1F400)), *map(chr, range(0xE0020, 0xE0080))])


def first_paragraph(fragment: str) -> str:
    """The first paragraph of rendered HTML as plain text ("" when there is none), cut by ``cut_summary``."""
    for match in _FIRST_PARAGRAPH.finditer(fragment):
        text = html_to_text(match.group(1))
        if text:
            return cut_summary(text)
    return cut_summary(html_to_text(fragment))


def plain(text: str) -> str:
    """A single-line plain-text field: XML-clean, whitespace folded."""
    return _WS.sub(" ", xml_clean(text)).strip()
