"""RFC 5005 §4 archives of a feed scope: one document per calendar year, large years in parts.

Which archive documents exist, which posts each holds and their URLs; ``build.build_archive``
describes one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import urls
from ..content import Index, Post, Query, Site
from .document import Scope
from .scopes import scope_query, variant_params


def archive_keys(index: Index, scope: Scope, lang: str | None, feed_size: int) -> list[tuple[int, int]]:
    """(year, part) of every archive document, oldest first.

    One archive per calendar year (site timezone); a year with more than ``feed_size``
    posts is split into parts filled from its oldest post, so adding a post to a year
    only ever changes that year's last part.
    """
    years = index.archive_years(scope_query(scope, lang))
    return [(year, part) for year, n in years for part in range(1, -(-n // feed_size) + 1)]


def archive_posts(index: Index, scope: Scope, lang: str | None, year: int, part: int, feed_size: int) -> Sequence[Post]:
    """The posts of one archive document, newest first (part 1 holds the year's oldest posts)."""
    since, until = index.year_bounds(year)
    base = scope_query(scope, lang)
    posts = index.query(Query(base.category, base.tag, base.lang, None, since, until))
    n = len(posts)
    return posts[max(0, n - part * feed_size) : max(0, n - (part - 1) * feed_size)]


def newest_archive(index: Index, scope: Scope, lang: str | None, feed_size: int) -> tuple[int, int] | None:
    """``archive_keys(...)[-1]`` from the newest year's count alone."""
    base = scope_query(scope, lang)
    newest = index.query(base)[:1]
    if not newest:
        return None
    year = newest[0].date.astimezone(index.site.tz).year
    since, until = index.year_bounds(year)
    count = len(index.query(Query(base.category, base.tag, base.lang, None, since, until)))
    return year, -(-count // feed_size)


def archive_url(site: Site, fmt: str, scope: Scope, lang: str | None, year: int, part: int) -> str:
    """URL of one archive document (part 1 has no ``page`` parameter)."""
    return urls.archive(site, fmt, year, scope.kind, scope.slug, variant_params(lang, None, part))
