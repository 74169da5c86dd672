"""Turn a content directory into an Index; re-parse only what changed on reload."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import operator
import os
import pickle
import stat
import threading
import time
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from . import markdown
from .bodies import BodyStore, bodies_from, bodies_to
from .errors import ContentError
from .frontmatter import load_yaml, split
from .index import Index, Search, post_tokens
from .model import Attachment, Author, Category, Event, Post, Problem, Site, Tag
from .validate import PostSchema, SiteSchema, all_errors, first_error, parse_when

log = logging.getLogger("feedsvc.content")

SITE_FILE = "site.yaml"
POSTS_DIR = "posts"
#: Default largest post file accepted (bytes); bigger files are reported, not parsed.
MAX_POST_BYTES = 8 * 1024 * 1024
_POST_SCHEMA = PostSchema()
_SITE_SCHEMA = SiteSchema()
Progress = Callable[[int, int], None]
#: Bumped whenever parsing changes what a Post holds (invalidates on-disk parse caches).
PARSER_VERSION = "7"
_SLUG = operator.attrgetter("slug")
_DATE_TS = operator.attrgetter("date_ts")
_NAME = operator.attrgetter("name")
#: Seconds between parse-cache rewrites after the first load (0: on every change).
CACHE_REWRITE_INTERVAL = 300.0


class ParseCache:
    """Parsed posts pickled on disk so a restart re-parses only files that changed.

    Two files: ``parse-cache.pickle`` (posts, search postings) and the side file it names,
    ``parse-cache-<token>.bodies``, holding the compressed bodies back to back. A read
    copies the side file into the loader's BodyStore in the kernel, so no body passes
    through the Python heap. The side file is written first under a fresh name and the
    pickle replaced atomically after it, so a crash never pairs a pickle with the wrong
    bodies. Trusted like the content itself: it lives in a directory only the service writes.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / "parse-cache.pickle"

    def read(self, cache_id: str, store: BodyStore) -> tuple[dict[str, _Entry], Any]:
        """Entries (bodies copied into ``store``) and the search state saved with them (({}, None) when unusable)."""
        try:
            with self.path.open("rb") as fh:
                saved_id, side_name = pickle.load(fh)  # noqa: S301 - our own file
                if saved_id != cache_id:
                    return {}, None
                with bodies_from(store, self.path.with_name(side_name)):
                    entries, state = pickle.load(fh)  # noqa: S301 - our own file
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
            return {}, None
        return entries, state

    def write(self, cache_id: str, entries: dict[str, _Entry], state: Any = None) -> None:
        """Save entries atomically (a crash never leaves a half-written cache)."""
        side = self.path.with_name(f"parse-cache-{os.urandom(8).hex()}.bodies")
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with side.open("wb") as bodies, tmp.open("wb") as fh:
                pickle.dump((cache_id, side.name), fh, protocol=pickle.HIGHEST_PROTOCOL)
                with bodies_to(bodies):
                    pickle.dump((entries, state), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("parse cache not written: %s", exc)
            for leftover in (tmp, side):
                leftover.unlink(missing_ok=True)
            return
        for old in self.path.parent.glob("parse-cache-*.bodies"):  # earlier caches' bodies
            if old.name != side.name:
                old.unlink(missing_ok=True)


class SiteError(Exception):
    """site.yaml is missing or invalid: nothing can be published without it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def load_site(path: Path, base_url: str | None = None) -> Site:
    """Read and validate site.yaml (``base_url`` overrides its own); raises SiteError."""
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SiteError([Problem(name, "file", f"cannot read: {exc.strerror or exc}")]) from None
    try:
        data = load_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SiteError([Problem(name, "file", f"not UTF-8 text (byte {exc.start})")]) from None
    except ContentError as exc:
        raise SiteError([Problem(name, exc.field, exc.message)]) from None
    if not isinstance(data, dict):
        raise SiteError([Problem(name, "site", "must be a mapping of fields")])
    try:
        d = _SITE_SCHEMA.load(data)
    except ValidationError as exc:
        raise SiteError([Problem(name, f, m) for f, m in all_errors(exc.messages)]) from None
    base = (base_url or d["base_url"]).rstrip("/")
    return Site(
        title=markdown.plain(d["title"]),
        subtitle=markdown.plain(d["subtitle"]),
        base_url=base,
        id_authority=d["id_authority"],
        language=d["language"],
        timezone=d["timezone"],
        author=Author(**d["author"]),
        icon=markdown.absolute_url(d["icon"], base) if d["icon"] else None,
        logo=markdown.absolute_url(d["logo"], base) if d["logo"] else None,
        rights=markdown.plain(d["rights"]) if d["rights"] else None,
        permalink=d["permalink"],
        categories=tuple(
            Category(slug, markdown.plain(c["title"]), markdown.plain(c["description"]))
            for slug, c in d["categories"].items()
        ),
        websub_hub=d["websub_hub"],
        redirects=tuple(sorted(d["redirects"].items())),
    )


def default_slug(stem: str) -> str:
    """File stem without a leading ``YYYY-MM-DD-``, made URL-safe."""
    if len(stem) > 11 and stem[:4].isdigit() and stem[4] == "-" and stem[7] == "-" and stem[10] == "-":
        stem = stem[11:]
    return markdown.slugify(stem) or "post"  # SHIM (issue 14, helper C): letters of any script


def parse_post(raw: bytes, source: str, site: Site, mtime_ns: int = 0) -> Post | None:
    """Parse one post file's bytes; None for a draft. Raises ContentError naming the field."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError("file", f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    if "\x00" in text:
        raise ContentError("file", "contains NUL bytes (binary file?)")
    fm, body = split(text)
    try:
        d: dict[str, Any] = _POST_SCHEMA.load(fm)
    except ValidationError as exc:
        raise ContentError(*first_error(exc.messages)) from None
    if d["draft"]:
        return None
    tz = site.tz
    date = parse_when(d["date"], tz)
    updated = parse_when(d["updated"], tz) if d["updated"] is not None else date
    if updated < date:
        raise ContentError("updated", "is before date")
    for c in d["categories"]:
        if site.category(c) is None:
            raise ContentError("categories", f"unknown category {c!r} (declare it in site.yaml)")
    tags: dict[str, Tag] = {}
    for label in d["tags"]:
        label = markdown.plain(label)
        slug = markdown.slugify(label)
        if not slug:
            raise ContentError("tags", f"tag {label!r} has no letters or digits")
        tags.setdefault(slug, Tag(slug, label))
    slug = d["slug"] or default_slug(Path(source).stem)
    base = site.base_url
    html = markdown.render(body, base)
    summary = markdown.plain(d["summary"]) if d["summary"] else markdown.first_paragraph(html)
    author = Author(**{k: (markdown.plain(v) if v else None) for k, v in d["author"].items()}) \
        if d["author"] else site.author
    event = None
    if d["event"]:
        e = d["event"]
        etz = tz if not e["timezone"] else __import__("zoneinfo").ZoneInfo(e["timezone"])
        event = Event(
            start=parse_when(e["start"], etz),
            end=parse_when(e["end"], etz) if e["end"] is not None else None,
            location=markdown.plain(e["location"]) if e["location"] else None,
            url=e["url"],
            timezone=e["timezone"],
        )
    # RFC 4151 tag URI from the frozen authority and the date as written: a new domain
    # or base_url never re-issues a post.
    post_id = d["id"] or f"tag:{site.id_authority}:{date.date().isoformat()}:{slug}"
    return Post(
        id=markdown.plain(post_id),
        slug=slug,
        title=markdown.plain(d["title"]),
        date=date,
        updated=updated,
        categories=tuple(dict.fromkeys(d["categories"])),
        tags=tuple(tags.values()),
        summary=summary,
        author=author,
        lang=d["lang"] or site.language,
        source=source,
        image=markdown.absolute_url(d["image"], base) if d["image"] else None,
        attachments=tuple(
            Attachment(markdown.absolute_url(a["url"], base), a["mime_type"], a["size_in_bytes"],
                       markdown.plain(a["title"]) if a["title"] else None)
            for a in d["attachments"]
        ),
        event=event,
        aliases=tuple(a for a in dict.fromkeys(d["aliases"]) if a != slug),
        translation_of=d["translation_of"],
        mtime_ns=mtime_ns,
        # Level 1: the bodies live in the body store's file, not the heap, so ~8 % more
        # bytes there cost less than level 6's extra ~0.2 ms CPU per post on a first start.
        html_z=zlib.compress(html.encode("utf-8"), 1),
        # Stored, not derived per request: the API sends it with every post, and deriving
        # it (~0.15 ms) was most of a cache-miss API page.
        text_z=zlib.compress(markdown.html_to_text(html).encode("utf-8"), 1),
    )


#: What a scan says of one post file: (relpath, path, stat, None) or (relpath, path, None, problem).
_Found = tuple[str, str, os.stat_result | None, Problem | None]
#: (problem, sha256 of the file, post or None for a draft, its search tokens if computed)
_Parsed = tuple[Problem | None, str, Post | None, set[str] | None]
#: A first start with at least this many files to parse uses every CPU.
PARALLEL_MIN_FILES = 1000


def _parse_file(rel: str, path: Path | str, sig: tuple[int, int, int], site: Site, max_bytes: int,
                with_tokens: bool) -> _Parsed:
    """Read and parse one post file; problems are returned, not raised."""
    try:
        if sig[1] > max_bytes:
            raise ContentError("file", f"is {sig[1]} bytes; the limit is {max_bytes}")
        raw = Path(path).read_bytes()
        post = parse_post(raw, rel, site, sig[0])
    except ContentError as exc:
        return Problem(rel, exc.field, exc.message), "", None, None
    except OSError as exc:
        return Problem(rel, "file", f"cannot read: {exc.strerror or exc}"), "", None, None
    except RecursionError:
        return Problem(rel, "body", "Markdown nested too deeply"), "", None, None
    tokens = post_tokens(post) if with_tokens and post is not None else None
    return None, hashlib.sha256(raw).hexdigest(), post, tokens


_worker_args: tuple[Site, int] | None = None


def _init_parse_worker(site: Site, max_bytes: int) -> None:
    global _worker_args
    _worker_args = (site, max_bytes)


#: Files per job of a parallel parse. Each job returns its posts with their search
#: postings already merged (token -> uids): the loading process then extends one array
#: per distinct token of the chunk instead of appending ~400 uids per post itself.
PARALLEL_CHUNK = 256


def _parse_chunk(job: tuple[int, list[tuple[str, str, tuple[int, int, int]]]]) -> tuple[list[_Parsed], dict[str, array]]:
    """Parse a run of files whose posts get uids ``base``, ``base + 1``, ... (gaps for failures)."""
    assert _worker_args is not None
    site, max_bytes = _worker_args
    base, files = job
    results: list[_Parsed] = []
    postings: dict[str, array] = {}
    for i, (rel, path, sig) in enumerate(files):
        problem, sha, post, tokens = _parse_file(rel, path, sig, site, max_bytes, True)
        if post is not None and tokens:
            uid = base + i
            for token in tokens:
                uids = postings.get(token)
                if uids is None:
                    postings[token] = array("I", (uid,))
                else:
                    uids.append(uid)
        results.append((problem, sha, post, None))
    return results, postings


def _post_file(real_root: str, rel: str, path: str, is_symlink: Callable[[], bool],
               stat_of: Callable[[], os.stat_result]) -> _Found:
    """(rel, path, stat, None) for a post file, or (rel, path, None, problem) saying why not.

    Shared by the full scan and the targeted one; a symlinked file is followed only to a
    target inside the content directory (``real_root``).
    """
    try:
        if is_symlink():
            target = os.path.realpath(path)
            if os.path.commonpath([real_root, target]) != real_root:
                return rel, path, None, Problem(rel, "file", "symlink leads outside the content directory")
        return rel, path, stat_of(), None
    except OSError as exc:
        return rel, path, None, Problem(rel, "file", f"cannot read: {exc.strerror or exc}")


@dataclass(slots=True)
class _Entry:
    """What the loader remembers about one file between scans."""

    sig: tuple[int, int, int]
    sha: str
    post: Post | None  # None: draft, or broken with no good version
    #: The post's id in the loader's search postings (-1: no post).
    uid: int
    problem: Problem | None = None

    def __getstate__(self) -> tuple:  # the parse cache: see Post.__getstate__
        return (self.sig, self.sha, self.post, self.uid, self.problem)

    def __setstate__(self, state: tuple) -> None:
        self.sig, self.sha, self.post, self.uid, self.problem = state


class Loader:
    """Builds Index snapshots of one content directory, re-parsing only changed files."""

    def __init__(self, root: str | os.PathLike[str], max_post_bytes: int = MAX_POST_BYTES,
                 base_url: str | None = None, parse_cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root)
        self.max_post_bytes = max_post_bytes
        self.base_url = base_url
        self._parse_cache = ParseCache(parse_cache_dir) if parse_cache_dir else None
        self._cache_dirty = False
        self._dir_mtime_ns = 0
        self._site_mtime_ns = 0
        self._entries: dict[str, _Entry] = {}
        self._site: Site | None = None
        self._site_sig: tuple[int, int, int] | None = None
        self._site_sha = ""
        self._site_problems: list[Problem] = []
        self._reported: set[str] = set()
        self._last: Index | None = None
        self._cache_written = time.monotonic()
        self._shared: dict[Any, Any] = {}
        #: Where the compressed bodies live (out of the heap: see bodies.py).
        self._bodies = BodyStore()
        #: rel -> the (mtime_ns, size, inode) its entry was made from (what a rescan compares).
        self._sigs: dict[str, tuple[int, int, int]] = {}
        self._reset_search()

    def _reset_search(self, state: Any = None) -> None:
        """Start the inverted index afresh (or from a parse cache's saved state)."""
        #: token -> uids of the posts containing it, ascending; only ever appended to.
        self._postings: dict[str, array] = {}
        self._next_uid = 0
        self._dead = 0  # uids in the postings whose post is gone (edited, deleted)
        if state is not None:
            self._postings, self._next_uid, self._dead = state

    def _index_tokens(self, post: Post, tokens: set[str] | frozenset[str] | None = None) -> int:
        """Give a new post a fresh uid and add its tokens to the postings."""
        uid = self._next_uid
        self._next_uid += 1
        postings = self._postings
        for token in post_tokens(post) if tokens is None else tokens:
            uids = postings.get(token)
            if uids is None:
                postings[token] = array("I", (uid,))
            else:
                uids.append(uid)
        return uid

    # -- scanning ------------------------------------------------------------------
    def _walk(self) -> Iterator[_Found]:
        """Yield (relpath, path, stat, problem) for every post file, each directory in name order.

        Streams: a rescan of 100,000 files keeps no per-file objects (in a gunicorn master
        they would land in pages its workers share). Raises the first OSError of an
        unreadable directory after the walk, before the caller looks for deletions.
        """
        # os.scandir by hand rather than os.walk + pathlib: one stat per file, nothing more.
        posts = self.root / POSTS_DIR
        real_root = os.path.realpath(self.root)
        errors: list[OSError] = []
        try:
            dir_mtime = os.stat(posts).st_mtime_ns
        except OSError:
            dir_mtime = 0

        def visit(dirpath: str, reldir: str) -> Iterator[_Found]:
            nonlocal dir_mtime
            try:
                with os.scandir(dirpath) as it:
                    entries = sorted(it, key=_NAME)
            except OSError as exc:
                errors.append(exc)
                return
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                rel = f"{reldir}/{name}"
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    if entry.is_symlink():
                        yield rel, entry.path, None, Problem(rel, "file", "symlinked directories are not followed")
                        continue
                    try:
                        dir_mtime = max(dir_mtime, entry.stat().st_mtime_ns)
                    except OSError:
                        pass
                    yield from visit(entry.path, rel)
                    continue
                if name.endswith(".md"):
                    yield _post_file(real_root, rel, entry.path, entry.is_symlink, entry.stat)

        yield from visit(str(posts), POSTS_DIR)
        # An unreadable directory must not look like deleted posts: fail the whole scan.
        errors = [e for e in errors if not (isinstance(e, FileNotFoundError) and Path(e.filename) == posts)]
        if errors:
            raise errors[0]
        self._dir_mtime_ns = dir_mtime

    def _stat_changed(self, changed: Iterable[str]) -> tuple[list[_Found], list[str]]:
        """What ``_walk`` would say about just these paths: (files, paths gone), sorted.

        Paths not under posts/, hidden ones and non-Markdown files are not posts and are
        ignored, as a full scan ignores them; a directory's mtime still moves
        Last-Modified when a file in it is created or deleted.
        """
        real_root = os.path.realpath(self.root)
        found: list[_Found] = []
        gone: list[str] = []
        parents: set[str] = set()
        for rel in sorted(changed):
            parts = rel.split("/")
            if (len(parts) < 2 or parts[0] != POSTS_DIR or not rel.endswith(".md")
                    or any(not p or p.startswith(".") for p in parts)):
                continue
            path = os.path.join(self.root, *parts)
            parents.add(os.path.dirname(path))
            try:
                link = os.lstat(path)
            except FileNotFoundError:
                gone.append(rel)
                continue
            except OSError:
                link = None  # _post_file names the problem
            if link is not None and stat.S_ISDIR(link.st_mode):
                continue  # a directory named *.md: the watcher asks for a full scan
            found.append(_post_file(real_root, rel, path, lambda: link is not None and stat.S_ISLNK(link.st_mode),
                                    lambda: os.stat(path)))
        for parent in parents:
            try:
                self._dir_mtime_ns = max(self._dir_mtime_ns, os.stat(parent).st_mtime_ns)
            except OSError:
                pass
        return found, gone

    def load(self, progress: Progress | None = None, paths: Iterable[str] | None = None) -> Index:
        """Scan the tree and return a fresh Index (raises SiteError only if site.yaml never loaded).

        ``paths``: only these paths (relative to the root) may differ from the last
        load, so only they are looked at (see ``watch.Watcher``); None scans everything.
        """
        before = (self._site, self._site_problems, self._site_sha, self._site_mtime_ns, self._dir_mtime_ns)
        self._load_site()
        assert self._site is not None
        site = self._site
        if site is not before[0]:
            paths = None  # every post was dropped: parse everything again
        gone: list[str] = []
        files: Iterable[_Found]
        if paths is not None:
            files, gone = self._stat_changed(paths)
        elif self._last is None:
            files = list(self._walk())  # a first load parses them all, maybe in parallel
        else:
            files = self._walk()  # a rescan streams (nothing per file is kept)
        problems: list[Problem] = list(self._site_problems)
        total = len(files) if isinstance(files, list) else 0
        changed = False
        pool, parsed = self._parse_in_parallel(files) if isinstance(files, list) else (None, None)
        n = 0
        try:
            for n, (rel, path, st, problem) in enumerate(files, 1):  # noqa: B007 - n is the count after
                if progress and (n % 500 == 0 or n == total):
                    progress(n, total)
                if problem is not None:
                    self._keep_last_good(rel, problem)
                    changed = True
                    continue
                assert st is not None
                sig = (st.st_mtime_ns, st.st_size, st.st_ino)
                if self._sigs.get(rel) == sig:
                    continue
                if parsed is not None:
                    self._apply(rel, sig, *next(parsed))
                else:
                    self._parse(rel, path, sig, site)
                changed = True
        finally:
            if pool is not None:
                pool.terminate()
        # Every file seen has an entry now, so there are deleted files only if there are
        # more entries (not walking them all keeps a worker's scan off the shared pages).
        if paths is not None:
            deleted = [rel for rel in gone if rel in self._entries]
        elif len(self._entries) > n:
            # Rare (a full scan that found files gone): walk the names again to know which.
            seen = {rel for rel, *_ in self._walk()}
            deleted = [r for r in self._entries if r not in seen]
        else:
            deleted = []
        if deleted:
            for rel in deleted:
                if self._entries[rel].post is not None:
                    self._dead += 1
                del self._entries[rel]
                self._sigs.pop(rel, None)
                self._cache_dirty = True
                changed = True
        if changed and (self._last is None or parsed is not None):
            # Fresh, contiguous tuples: a rescan in a forked worker only reads these (and
            # increments their refcounts), so it dirties a few pages, not every post's.
            self._sigs = {rel: (e.sig[0], e.sig[1], e.sig[2]) for rel, e in self._entries.items()}
        after = (self._site, self._site_problems, self._site_sha, self._site_mtime_ns, self._dir_mtime_ns)
        if not changed and self._last is not None and all(a is b or a == b for a, b in zip(before, after, strict=True)):
            # Nothing on disk moved since the last scan: the last snapshot is exactly what
            # _build would make again (and keeps its memoised queries and search index).
            return self._last
        if self._parse_cache is not None and self._cache_dirty and (
                self._last is None or time.monotonic() - self._cache_written >= CACHE_REWRITE_INTERVAL):
            # Written at start-up, then at most every few minutes: rewriting every post
            # on each reload in every worker cost ~1 s CPU per edit at 10,000 posts. A
            # restart re-parses the few files edited since (each entry is checked by stat).
            self._cache_written = time.monotonic()
            self._parse_cache.write(self._cache_id(site), {
                rel: e for rel, e in self._entries.items() if e.problem is None},
                (self._postings, self._next_uid, self._dead))
            self._cache_dirty = False
        self._bodies.flush()  # before anything reads or forks
        self._last = self._build(site, problems)
        return self._last

    def _cache_id(self, site: Site) -> str:
        """Parse-cache validity: what shapes a parsed post besides its own bytes."""
        return hashlib.sha256(f"{PARSER_VERSION}|{self.root.resolve()}|{site!r}".encode()).hexdigest()

    def _load_site(self) -> None:
        path = self.root / SITE_FILE
        try:
            st = path.stat()
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError as exc:
            if self._site is None:
                raise SiteError([Problem(SITE_FILE, "file", f"cannot read: {exc.strerror or exc}")]) from None
            self._site_problems = [Problem(SITE_FILE, "file", f"cannot read ({exc.strerror}); serving the last good version")]
            return
        if sig == self._site_sig:
            return
        try:
            site = load_site(path, self.base_url)
        except SiteError as exc:
            if self._site is None:
                raise
            self._site_sig = sig
            self._site_problems = [Problem(p.path, p.field, p.message + " (serving the last good site.yaml)")
                                   for p in exc.problems]
            return
        self._site_sig = sig
        self._site_problems = []
        self._site_mtime_ns = st.st_mtime_ns
        self._site_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if site != self._site:
            # base_url, timezone, categories... shape every post: parse all again.
            self._site = site
            self._entries.clear()
            self._reset_search()
            if self._parse_cache is not None:
                entries, state = self._parse_cache.read(self._cache_id(site), self._bodies)
                if entries and state is not None:
                    for entry in entries.values():
                        if entry.post is not None:
                            self._shared_parts(entry.post)
                    self._entries.update(entries)
                    self._reset_search(state)
            self._sigs = {rel: e.sig for rel, e in self._entries.items()}

    def _parse(self, rel: str, path: Path | str, sig: tuple[int, int, int], site: Site) -> None:
        self._apply(rel, sig, _parse_file(rel, path, sig, site, self.max_post_bytes, False))

    def _parse_in_parallel(self, files: list[_Found],
                           ) -> tuple[Any, Iterator[tuple[_Parsed, int]] | None]:
        """Parse the files that changed in worker processes when there are many (a first start).

        Returns (pool, results in file order) or (None, None) to parse here. Forks only
        while this process has no other thread (gunicorn's master at preload, the CLI).
        """
        procs = min(os.cpu_count() or 1, 8)
        if (len(files) < PARALLEL_MIN_FILES or procs < 2 or threading.active_count() != 1
                or "fork" not in multiprocessing.get_all_start_methods()):
            return None, None
        todo = []
        for rel, path, st, problem in files:
            if problem is None and st is not None:
                sig = (st.st_mtime_ns, st.st_size, st.st_ino)
                if self._sigs.get(rel) != sig:
                    todo.append((rel, str(path), sig))
        if len(todo) < PARALLEL_MIN_FILES:
            return None, None
        assert self._site is not None
        pool = multiprocessing.get_context("fork").Pool(
            procs, initializer=_init_parse_worker, initargs=(self._site, self.max_post_bytes))
        # todo[j] gets uid first + j: ascending in file order, as _index_tokens assigns them.
        first = self._next_uid
        self._next_uid += len(todo)
        jobs = [(first + j, todo[j:j + PARALLEL_CHUNK]) for j in range(0, len(todo), PARALLEL_CHUNK)]

        def results() -> Iterator[tuple[_Parsed, int]]:
            postings = self._postings
            for (base, _), (parsed, chunk_postings) in zip(jobs, pool.imap(_parse_chunk, jobs), strict=True):
                for token, uids in chunk_postings.items():
                    mine = postings.get(token)
                    if mine is None:
                        postings[token] = uids
                    else:
                        mine.extend(uids)
                for i, one in enumerate(parsed):
                    yield one, base + i

        return pool, results()

    def _set_entry(self, rel: str, entry: _Entry) -> None:
        self._entries[rel] = entry
        self._sigs[rel] = entry.sig

    def _apply(self, rel: str, sig: tuple[int, int, int], parsed: _Parsed, uid: int | None = None) -> None:
        """Record the outcome of parsing one file (``uid``: already in the postings)."""
        problem, sha, post, tokens = parsed
        if problem is not None:
            self._keep_last_good(rel, problem, sig)
            return
        old = self._entries.get(rel)
        if old is not None and old.post is not None:
            self._dead += 1
        if post is not None:
            post = self._shared_parts(post)
        if post is None:
            uid = -1
        elif uid is None:
            uid = self._index_tokens(post, tokens)
        self._set_entry(rel, _Entry(sig, sha, post, uid))
        self._cache_dirty = True

    def _shared_parts(self, post: Post) -> Post:
        """The post with its body in the BodyStore, its tags and category tuple shared with equal ones of other posts.

        Equal values, one copy: ~650 bytes per post, 65 MB at 100,000 posts. ``post`` is
        fresh from the parser and referenced nowhere else yet, so its fields are swapped
        in place (no copy of the whole post, no second ``__post_init__``).
        """
        for name in ("html_z", "text_z"):
            value = getattr(post, name)
            if isinstance(value, bytes) and value:
                object.__setattr__(post, name, self._bodies.put(value))
        shared = self._shared
        tags = tuple(shared.setdefault(t, t) for t in post.tags)
        cats = shared.setdefault(post.categories, post.categories)
        if cats is not post.categories:
            object.__setattr__(post, "categories", cats)
        if any(a is not b for a, b in zip(tags, post.tags, strict=True)):
            object.__setattr__(post, "tags", tags)
        return post

    def _keep_last_good(self, rel: str, problem: Problem, sig: tuple[int, int, int] = (0, 0, 0)) -> None:
        """Record a problem; a file that was good keeps its last good post published."""
        old = self._entries.get(rel)
        if old is not None and old.post is not None:
            problem = Problem(problem.path, problem.field, problem.message + " (serving the last good version)")
            self._set_entry(rel, _Entry(sig, old.sha, old.post, old.uid, problem))
        else:
            self._set_entry(rel, _Entry(sig, "", None, -1, problem))
        key = str(problem)
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s", problem)

    def _build(self, site: Site, problems: list[Problem]) -> Index:
        chosen: dict[str, _Entry] = {}
        owner: dict[str, str] = {}
        entries = self._entries
        for rel in sorted(entries):  # by path: the first file claims a duplicated slug
            entry = entries[rel]
            if entry.problem is not None:
                problems.append(entry.problem)
            post = entry.post
            if post is None:
                continue
            if post.slug in owner:
                p = Problem(rel, "slug", f"{post.slug!r} is already used by {owner[post.slug]}")
                problems.append(p)
                if str(p) not in self._reported:
                    self._reported.add(str(p))
                    log.warning("%s", p)
                continue
            owner[post.slug] = rel
            chosen[rel] = entry
        # Post.sort_key's order (newest first, ties by slug) from two stable C-level sorts.
        posts: list[Post] = sorted((e.post for e in chosen.values()), key=_SLUG)  # type: ignore[misc]
        posts.sort(key=_DATE_TS, reverse=True)
        h = hashlib.sha256(self._site_sha.encode())
        h.update("".join([f"\0{p.source}\0{chosen[p.source].sha}" for p in posts]).encode())
        # Unpublishing (draft) or deleting touches the tree but no remaining post.
        mtimes = [self._dir_mtime_ns, self._site_mtime_ns]
        mtimes += [e.sig[0] for e in self._entries.values() if e.post is None]
        content_mtime = datetime.fromtimestamp(max(mtimes) / 1e9, UTC)
        if self._dead > max(1000, len(posts)):
            self._compact()
        ordinal = array("i", [-1]) * self._next_uid
        for i, p in enumerate(posts):
            ordinal[chosen[p.source].uid] = i
        return Index(
            site=site,
            posts=tuple(posts),  # type: ignore[arg-type]
            version=h.hexdigest()[:32],
            problems=tuple(problems),
            content_mtime=content_mtime,
            search=Search(self._postings, ordinal),
        )

    def _compact(self) -> None:
        """Drop the uids of edited and deleted posts (new arrays: snapshots keep theirs)."""
        alive = bytearray(self._next_uid)
        for e in self._entries.values():
            if e.post is not None and e.uid >= 0:
                alive[e.uid] = 1
        fresh: dict[str, array] = {}
        for token, uids in self._postings.items():
            kept = array("I", [u for u in uids if alive[u]])
            if kept:
                fresh[token] = kept
        self._postings = fresh
        self._dead = 0


def load_index(root: str | os.PathLike[str], progress: Progress | None = None) -> Index:
    """Load a content directory once (for the CLI, exports and tests)."""
    return Loader(root).load(progress)
