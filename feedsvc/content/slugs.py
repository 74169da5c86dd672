"""Post slugs: what an explicit slug may hold, and the slug derived from a file name or title.

Slugs may use lowercase letters of any script (NFC), digits and hyphens. A derived slug
folds accented Latin to ASCII exactly as the first releases did (``Décriminalisation`` ->
``decriminalisation``), so no published URL or id moves, and keeps the letters of every
other script (``заявление-о-политике`` stays as written).

Tag slugs are another rule (``tag_slug``): every script folded, case and accents dropped
(``Décriminalisation`` -> ``decriminalisation``, ``Заявление`` -> ``заявление``, ``Ελλάδα`` ->
``ελλαδα``), kept as published, except that a word of a script written with vowel signs and
viramas (Devanagari, Bengali, Tamil, Thai, Myanmar...) stays whole: the first rule split it at
every such mark (``हिंदी समाचार`` -> ``ह-द-सम-च-र``, so different tags met on one slug). Tags whose
slug that changed are found by their old slug too (``tag_slug_before_marks``), which redirects.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Longest slug accepted or derived (characters).
MAX_SLUG = 120
_LETTERS = frozenset({"Ll", "Lo", "Lm"})
_MARKS = frozenset({"Mn", "Mc", "Me"})
_ASCII_WORD = re.compile("[a-z0-9]+")
_WORD = re.compile(r"\w+")
#: Canonical combining classes of the marks a tag slug keeps: nukta (7), virama (9) and the
#: fixed-position vowel and tone marks of Telugu, Thai, Lao and Tibetan (84-132). Every other
#: combining mark is an accent folded away, as it always was (Latin, Greek, Cyrillic, Hebrew
#: points and Arabic harakat, kana voicing marks).
_KEPT_CLASSES = frozenset({7, 9, *range(84, 133)})


def slug_problem(value: str) -> str | None:
    """Why ``value`` is not a valid explicit slug, or None when it is."""
    if not value:
        return "must not be empty"
    if len(value) > MAX_SLUG:
        return f"must be at most {MAX_SLUG} characters"
    if unicodedata.normalize("NFC", value) != value:
        return "must be in Unicode NFC form (compose accents with their letters)"
    if value.startswith("-") or value.endswith("-"):
        return "must not start or end with a hyphen"
    prev = "-"
    for ch in value:
        cat = unicodedata.category(ch)
        ok = ch == "-" or cat in _LETTERS or cat == "Nd" or (cat in _MARKS and prev != "-")
        if not ok:
            return "must be lowercase letters (any script), digits and hyphens (e.g. 'my-post' or 'заявление-2024')"
        prev = ch
    return None


def _word_char(c: str) -> bool:
    cat = unicodedata.category(c)
    return cat in _LETTERS or cat == "Nd" or cat in _MARKS or (c.isascii() and c.isalnum())


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character of a derived slug: Latin folded to ASCII (as always), other scripts kept, the rest a space."""
    if ch.isascii():
        return ch if ch.isalnum() else " "
    base = [c for c in unicodedata.normalize("NFKD", ch).casefold() if not unicodedata.combining(c)]
    if any(c.isalnum() and not c.isascii() and "LATIN" not in unicodedata.name(c, "") for c in base):
        # A letter or digit of another script: kept as written (compatibility forms as their letters).
        return "".join(c if _word_char(c) else " " for c in unicodedata.normalize("NFKC", ch).casefold())
    # Latin and compatibility forms: their ASCII letters and digits; a Latin letter with no
    # ASCII form was always dropped (København -> kbenhavn), so its URLs stay as published.
    return "".join(c if c.isascii() and c.isalnum() else ("" if c.isalnum() else " ") for c in base)


def derive_slug(text: str) -> str:
    """The slug a file stem or title gives ("" when it has no letter or digit)."""
    # ASCII folds to its lowercase letters and digits, everything else being a separator:
    # the same as the general way below, without its work per character.
    slug = "-".join(_ASCII_WORD.findall(text.lower())) if text.isascii() else _derive(text)
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rstrip("-")
    return slug


def _derive(text: str) -> str:
    """``derive_slug`` for any text, before the length cut."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text.casefold()):
        if unicodedata.category(ch) in _MARKS:
            # A vowel sign or virama belongs to the word of another script before it; on
            # Latin (or nothing) it was always dropped.
            if out and out[-1] and not out[-1][-1].isascii() and not out[-1][-1].isspace():
                out.append(ch)
            continue
        out.append(_fold_char(ch))
    # A word may not start with a combining mark (one a compatibility form decomposed to).
    words = ("".join(out)).split()
    words = [w.lstrip("".join(c for c in w if unicodedata.category(c) in _MARKS)) for w in words]
    return unicodedata.normalize("NFC", "-".join(w for w in words if w))


def stem_slug(stem: str) -> str:
    """A file stem's slug, without a leading ``YYYY-MM-DD-`` ("" when nothing is left)."""
    if len(stem) > 11 and stem[:4].isdigit() and stem[4] == "-" and stem[7] == "-" and stem[10] == "-":
        stem = stem[11:]
    return derive_slug(stem)


def tag_slug(text: str) -> str:
    """A tag's slug: folded Unicode words (letters, digits, the marks written on them) joined by hyphens."""
    if text.isascii():
        return "-".join(_WORD.findall(text.lower().replace("_", " ")))
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.category(c) in _MARKS:
            if unicodedata.combining(c) not in _KEPT_CLASSES and unicodedata.combining(c):
                continue  # an accent: folded away
            if out and out[-1] != " ":
                out.append(c)  # a vowel sign, virama or tone mark: part of the word it is written on
            continue
        out.append(c if c.isalnum() else " ")
    return "-".join("".join(out).split())


def tag_slug_before_marks(text: str) -> str:
    """The slug the first releases gave a tag (every mark a word boundary or dropped): its old URLs redirect."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return "-".join(_WORD.findall(folded.replace("_", " ")))
