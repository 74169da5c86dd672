"""The immutable, queryable snapshot of all published posts."""

from __future__ import annotations

import bisect
from array import array
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from .markdown import tokens as text_tokens
from .model import Category, Post, Problem, Site, Tag

_EMPTY: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """Normalised filters for Index.query; hashable so results can be memoised."""

    category: str | None = None
    tag: str | None = None
    lang: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    updated_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Search:
    """The loader's inverted index, seen from one snapshot.

    ``postings`` maps a token to the uids of the posts containing it, ascending. The
    loader only ever appends uids larger than any before, and an edited or deleted post's
    uid simply stops being mapped: ``ordinal[uid]`` is the uid's position in this
    snapshot's posts, or -1. So one postings table serves every snapshot and a reload
    costs the changed posts only, instead of rebuilding ~400 entries per post.
    """

    postings: Mapping[str, array]
    ordinal: array

    def matching(self, words: Sequence[str]) -> set[int]:
        """Ordinals of the posts containing every word."""
        lists = sorted((self.postings.get(w) or array("I") for w in words), key=len)
        if not lists[0]:
            return set()
        acc = set(lists[0])
        for uids in lists[1:]:
            acc.intersection_update(uids)
            if not acc:
                return acc
        ordinal, n = self.ordinal, len(self.ordinal)
        return {o for o in (ordinal[u] for u in acc if u < n) if o >= 0}


class PostList(Sequence[Post]):
    """Posts matching a query, held as their positions in the snapshot's ``posts``.

    Only the posts a caller takes (a page, a feed's newest 50) are ever looked up: in a
    forked worker, building a tuple of every match would bump the reference count of each
    matching post and so copy its memory page out of the pages the workers share.
    Compares equal to any sequence of the same posts.
    """

    __slots__ = ("_posts", "_ords")

    def __init__(self, posts: tuple[Post, ...], ords: array) -> None:
        self._posts = posts
        self._ords = ords

    def __len__(self) -> int:
        return len(self._ords)

    def __getitem__(self, i):  # type: ignore[no-untyped-def,override]
        if isinstance(i, slice):
            return tuple(map(self._posts.__getitem__, self._ords[i]))
        return self._posts[self._ords[i]]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return map(self._posts.__getitem__, self._ords)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(other) == len(self) and all(a is b or a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PostList({len(self)} posts)"


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag with its label and number of posts."""

    tag: Tag
    count: int


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """A declared category with its number of posts."""

    category: Category
    count: int


@dataclass(frozen=True, eq=False)
class Index:
    """All published posts, newest first, with lookups. Never mutated after build."""

    site: Site
    #: Published posts, newest first (ties: slug).
    posts: tuple[Post, ...]
    #: Hash of the published content: the same on every worker and host.
    version: str
    #: Files that could not be published (or are served from their last good version).
    problems: tuple[Problem, ...] = ()
    #: Latest modification seen in the content tree (file/dir mtimes), for Last-Modified.
    content_mtime: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    #: The loader's incremental inverted index, seen from this snapshot (empty: no post matches q).
    search: Search = field(default_factory=lambda: Search({}, array("i")), repr=False)
    #: Set when the content directory could not be read: the reason (index is the last good one).
    degraded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Rebuilt on every reload for every post: comprehensions and C-level containers,
        # no per-post method calls (this is most of a reload's CPU at 10,000 posts).
        posts = self.posts
        by_slug = {p.slug: i for i, p in enumerate(posts)}
        aliases: dict[str, str] = {}
        by_cat: defaultdict[str, list[int]] = defaultdict(list, {c.slug: [] for c in self.site.categories})
        by_tag: defaultdict[str, list[int]] = defaultdict(list)
        by_lang: defaultdict[str, list[int]] = defaultdict(list)
        #: (tag slug, label) -> uses; Tag objects are shared between posts by the loader.
        uses: Counter[Tag] = Counter()
        for i, post in enumerate(posts):
            for alias in post.aliases:
                aliases.setdefault(alias, post.slug)
            for c in post.categories:
                by_cat[c].append(i)
            uses.update(post.tags)
            for t in post.tags:
                by_tag[t.slug].append(i)
            by_lang[post.lang].append(i)
        lm_ts = array("d", [p.changed_ts for p in posts])
        # Descending dates as ascending keys, for bisect on since/until.
        neg_ts = [-p.date_ts for p in posts]
        labels: dict[str, list[tuple[int, str]]] = {}
        for tag, n in uses.items():
            labels.setdefault(tag.slug, []).append((-n, tag.label))
        # The most used label of a slug (ties: the first in code point order).
        tags = {slug: TagInfo(Tag(slug, min(c)[1]), len(by_tag[slug])) for slug, c in labels.items()}
        set_ = object.__setattr__
        set_(self, "_by_slug", by_slug)
        set_(self, "_aliases", {a: s for a, s in aliases.items() if a not in by_slug})
        set_(self, "_by_cat", {k: tuple(v) for k, v in by_cat.items()})
        set_(self, "_by_tag", {k: tuple(v) for k, v in by_tag.items()})
        set_(self, "_by_lang", {k: tuple(v) for k, v in by_lang.items()})
        # Categories and languages are few and large: sets of them make filter combinations
        # cost the smallest filter's size (~16 bytes per post each; tags are many and small).
        set_(self, "_cat_sets", {k: frozenset(v) for k, v in by_cat.items()})
        set_(self, "_lang_sets", {k: frozenset(v) for k, v in by_lang.items()})
        set_(self, "_lang_of", {k.lower(): k for k in by_lang})
        set_(self, "_neg_ts", neg_ts)
        set_(self, "_tags", dict(sorted(tags.items())))
        set_(self, "_memo", {})
        set_(self, "_lm_ts", lm_ts)  # per ordinal: newest of updated and file mtime
        set_(self, "_lm_memo", {})

    # -- lookups ---------------------------------------------------------------
    def get(self, slug: str) -> Post | None:
        """The post with this slug, or None."""
        i = self._by_slug.get(slug)  # type: ignore[attr-defined]
        return None if i is None else self.posts[i]

    def alias_target(self, slug: str) -> str | None:
        """The current slug for a retired one (from a post's ``aliases``), or None."""
        return self._aliases.get(slug)  # type: ignore[attr-defined]

    # SHIM (issue 14, helper C): minimal translations/tag_slug on the old core; the SQLite core replaces them.
    def translations(self, post: Post) -> tuple[Post, ...]:
        """The other published versions of ``post``'s text, sorted by lang (empty: no group)."""
        groups: dict[str, list[Post]] | None = self.__dict__.get("_groups")
        if groups is None:  # built on first use, once per snapshot
            groups = {}
            for p in self.posts:
                if p.translation_of:
                    groups.setdefault(p.translation_of, []).append(p)
            object.__setattr__(self, "_groups", groups)
        root = self.get(post.translation_of) if post.translation_of else post
        if root is None or root.translation_of:
            return ()
        group = [root, *groups.get(root.slug, ())]
        return tuple(sorted((p for p in group if p.slug != post.slug), key=lambda p: (p.lang, p.slug)))

    def tag_slug(self, name_or_slug: str) -> str | None:
        """The canonical slug of a tag given by its slug or any label a post uses (casefolded)."""
        key = name_or_slug.casefold()
        for p in self.posts:
            for t in p.tags:
                if key in (t.slug.casefold(), t.label.casefold()):
                    return t.slug
        return None

    @property
    def categories(self) -> tuple[CategoryInfo, ...]:
        """Declared categories in site.yaml order, with post counts."""
        return tuple(CategoryInfo(c, len(self._by_cat.get(c.slug, _EMPTY)))  # type: ignore[attr-defined]
                     for c in self.site.categories)

    @property
    def tags(self) -> Mapping[str, TagInfo]:
        """Tags by slug (sorted), with label and post count."""
        return MappingProxyType(self._tags)  # type: ignore[attr-defined]

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have posts, sorted."""
        return tuple(sorted(self._by_lang))  # type: ignore[attr-defined]

    def canonical_lang(self, lang: str) -> str:
        """The published spelling of a language tag (BCP 47 tags are case-insensitive: PT-br is pt-BR)."""
        return self._lang_of.get(lang.lower(), lang)  # type: ignore[attr-defined,no-any-return]

    def last_modified(self, posts: Sequence[Post]) -> datetime:
        """Last-Modified for a document listing ``posts``: never earlier than any change.

        Uses the entries' ``updated`` dates and file mtimes, plus the tree's own mtime
        (deletes and unpublishes touch a directory or site.yaml), never later than now.
        """
        return self._last_modified(max((p.changed_ts for p in posts), default=0.0))

    def _last_modified(self, newest: float) -> datetime:
        """The HTTP Last-Modified for entries last changed at ``newest`` (a timestamp)."""
        stamp = max(newest, self.content_mtime.timestamp())
        return min(datetime.fromtimestamp(stamp, UTC), datetime.now(UTC)).replace(microsecond=0)

    # -- querying ----------------------------------------------------------------
    def query_last_modified(self, query: Query | None = None, **filters: object) -> datetime:
        """``last_modified(query(...))``, from a per-post timestamp table (no post is touched).

        A listing's Last-Modified covers every match, not just one page: an edit that moves
        a post between pages changes pages whose own items are all older.
        """
        query = query or Query(**filters)  # type: ignore[arg-type]
        hit = self._lm_memo.get(query)  # type: ignore[attr-defined]
        return hit if hit is not None else self._evaluate(query)[1]

    def query(self, query: Query | None = None, **filters: object) -> Sequence[Post]:
        """Posts matching every given filter, newest first.

        ``category``/``tag``/``lang`` are exact slugs; ``q`` needs every word (case and
        accent insensitive) in the title, summary or body; ``since``/``until`` bound
        the publication date (inclusive), ``updated_since`` the modification date.
        """
        query = query or Query(**filters)  # type: ignore[arg-type]
        hit = self._memo.get(query)  # type: ignore[attr-defined]
        return hit if hit is not None else self._evaluate(query)[0]

    def _evaluate(self, query: Query) -> tuple[Sequence[Post], datetime]:
        """Match ``query`` once; memoise both the posts and their Last-Modified."""
        ords = self._ordinals(query)
        lm_ts: array[float] = self._lm_ts  # type: ignore[attr-defined]
        if isinstance(ords, range):
            # No filter but dates: a slice (the whole tuple itself when unfiltered), so a
            # forked worker does not touch, and copy, the page of every post.
            result = self.posts if ords.start == 0 and ords.stop >= len(self.posts) else self.posts[ords.start:ords.stop]
            newest = max(lm_ts[ords.start:ords.stop], default=0.0)
        else:
            result = PostList(self.posts, array("I", ords))
            newest = max(map(lm_ts.__getitem__, ords), default=0.0)
        last = self._last_modified(newest)
        memo: dict[Query, Sequence[Post]] = self._memo  # type: ignore[attr-defined]
        lm_memo: dict[Query, datetime] = self._lm_memo  # type: ignore[attr-defined]
        if len(memo) > 4096 or len(lm_memo) > 4096:
            memo.clear()
            lm_memo.clear()
        memo[query] = result
        lm_memo[query] = last
        return result, last

    def _ordinals(self, query: Query) -> Sequence[int]:
        # Each filter: (size, its ordinals ascending or None, a set of them or None). Sets
        # are kept for the few, large category and language lists and come with a search;
        # intersecting with a set walks the smaller side, and a search's matches are sorted
        # only when they are the whole answer.
        parts: list[tuple[int, Sequence[int] | None, AbstractSet[int] | None]] = []

        def add(seq: Sequence[int], members: AbstractSet[int] | None = None) -> None:
            parts.append((len(seq), seq, members))

        if query.category is not None:
            add(self._by_cat.get(query.category, _EMPTY), self._cat_sets.get(query.category))  # type: ignore[attr-defined]
        if query.tag is not None:
            add(self._by_tag.get(query.tag, _EMPTY))  # type: ignore[attr-defined]
        if query.lang is not None:
            lang = self.canonical_lang(query.lang)
            add(self._by_lang.get(lang, _EMPTY), self._lang_sets.get(lang))  # type: ignore[attr-defined]
        if query.q is not None:
            words = text_tokens(query.q)
            if not words:
                return _EMPTY
            found = self.search.matching(sorted(words))
            parts.append((len(found), None, found))
        lo, hi = 0, len(self.posts)
        neg_ts: list[float] = self._neg_ts  # type: ignore[attr-defined]
        if query.until is not None:
            lo = bisect.bisect_left(neg_ts, -query.until.timestamp())
        if query.since is not None:
            hi = bisect.bisect_right(neg_ts, -query.since.timestamp())
        if not parts:
            ords: Sequence[int] = range(lo, max(lo, hi))
        elif len(parts) == 1:
            _, seq, members = parts[0]
            base = seq if seq is not None else sorted(members)  # type: ignore[arg-type]
            ords = base[bisect.bisect_left(base, lo):bisect.bisect_left(base, hi)]
        else:
            parts.sort(key=lambda p: p[0])
            _, seq, members = parts[0]
            acc = set(seq if seq is not None else members)  # type: ignore[arg-type]
            for _, seq, members in parts[1:]:
                acc.intersection_update(members if members is not None else seq)  # type: ignore[arg-type]
                if not acc:
                    break
            ords = sorted(acc) if lo == 0 and hi >= len(self.posts) else sorted(i for i in acc if lo <= i < hi)
        if query.updated_since is not None:
            cutoff = query.updated_since
            ords = [i for i in ords if self.posts[i].updated >= cutoff]
        return ords


def post_tokens(post: Post) -> frozenset[str]:
    """The search tokens of a post: its title, summary and body."""
    return frozenset(text_tokens(f"{post.title} {post.summary} {post.content_text}"))
