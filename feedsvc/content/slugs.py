"""Post slugs: what an explicit slug may hold, and the slug derived from a file name or title.

Slugs may use lowercase letters of any script (NFC), digits and hyphens. A derived slug
folds accented Latin to ASCII exactly as the first releases did (``Décriminalisation`` ->
``decriminalisation``), so no published URL or id moves, and keeps the letters of every
other script (``заявление-о-политике`` stays as written). Tag slugs are another rule
(``markdown.slugify``: every script folded), kept as published.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: Longest slug accepted or derived (characters).
MAX_SLUG = 120
_LETTERS = frozenset({"Ll", "Lo", "Lm"})
_MARKS = frozenset({"Mn", "Mc", "Me"})


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


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character of a derived slug: Latin folded to ASCII, other scripts kept, the rest a separator."""
    if ch.isascii():
        return ch if ch.isalnum() else " "
    cat = unicodedata.category(ch)
    if cat[0] not in "LMN":
        return " "
    if cat[0] == "M":
        return ch  # a vowel sign or virama belongs to its word
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base.isascii():
        return "".join(c if c.isalnum() else " " for c in base)
    if "LATIN" in unicodedata.name(ch, ""):
        return ""  # a Latin letter with no ASCII form was always dropped: keep its URLs
    return ch if cat in _LETTERS or cat == "Nd" else " "


def derive_slug(text: str) -> str:
    """The slug a file stem or title gives ("" when it has no letter or digit)."""
    folded = "".join(_fold_char(ch) for ch in unicodedata.normalize("NFC", text.casefold()))
    words = folded.split()
    # A word may not start with a combining mark (left alone by the fold above).
    words = [w.lstrip("".join(c for c in w if unicodedata.category(c) in _MARKS)) if w[:1] and
             unicodedata.category(w[0]) in _MARKS else w for w in words]
    slug = "-".join(w for w in words if w)
    slug = unicodedata.normalize("NFC", slug)
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rstrip("-")
    return slug


def stem_slug(stem: str) -> str:
    """A file stem's slug, without a leading ``YYYY-MM-DD-`` ("" when nothing is left)."""
    if len(stem) > 11 and stem[:4].isdigit() and stem[4] == "-" and stem[7] == "-" and stem[10] == "-":
        stem = stem[11:]
    return derive_slug(stem)
