"""One reload: from the content directory into the index database, then an Index of it.

``Loader.load()`` reads site.yaml (sitefile.py), finds the post files that changed since
the database was written (filediff.py: all of them, or the paths inotify reported), parses
them (parallel.py: in worker processes when there are many), and applies the result in one
transaction (store/writer.py); a database that cannot serve is rebuilt beside it. Only one
process writes a database (store/dbfile.py): a process that cannot take the lock only
reads what the writer publishes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

from .filediff import diff
from .forked import in_child
from .index import Index, read_header
from .model import Problem, Site
from .parallel import parse_all
from .parse import MAX_POST_BYTES, PARSER_VERSION
from .scan import Tree
from .site import SiteError
from .sitefile import SiteFile
from .store import fulltext
from .store.codecs import site_data
from .store.dbfile import MEMORY, Database, corrupt
from .store.schema import CLAIM_PROBLEMS
from .store.writer import Writer

log = logging.getLogger("feedsvc.content")
Progress = Callable[[int, int], None]
#: Files applied per transaction on a first load (a restart after a crash keeps what was done).
BATCH = 2000
#: The signature recorded for a file whose bytes could not be read: it never matches a file's.
NO_SIG = (0, 0, 0)


class Loader:
    """Keeps one content directory's index database up to date; each ``load()`` returns an Index of it."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        max_post_bytes: int = MAX_POST_BYTES,
        base_url: str | None = None,
        index_path: str | os.PathLike[str] = MEMORY,
    ) -> None:
        self.root = Path(root)
        self.max_post_bytes = max_post_bytes
        self.database = Database(index_path, PARSER_VERSION)
        self.tree = Tree(self.root)
        self._reported: set[str] = set()
        self.site_file = SiteFile(self.root, base_url, self._report)
        #: Reasons the last good content is being served (unreadable tree, unwritable database).
        self.degraded: list[str] = []
        self._full_scan_due = True
        #: The last change instant this process recorded: a database rebuilt while running
        #: dates every post after it (Last-Modified never goes back; changes.py).
        self._clock_floor = 0
        #: The clock the writer dates changes by (changes.py); nothing else reads it.
        self.now: Callable[[], float] = time.time
        #: Wait for the clock rather than date a change ahead of it (the reload thread sets it;
        #: an explicit ``load`` never waits, and two within one second date the second ahead).
        self.pace_by_clock = False
        #: Leave the full text of a large load (more than ``BATCH`` files) for ``fill_search``, so
        #: the rest is served sooner (a server, whose reload thread fills it); off, every load
        #: writes it at once (the CLI, exports).
        self.defer_search = False
        #: The last load could not apply what it found (retried at the next reload, see ``due``).
        self.failed = False
        self._db_fault: str | None = None
        #: Why the last load could not write the database (a full disk), or None.
        self.unwritable: str | None = None
        #: Why the last load could not read the content tree (posts/ unreadable or gone), or None.
        self.unreadable: OSError | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The writer's connection."""
        return self.database.conn

    def load(self, progress: Progress | None = None, paths: Iterable[str] | None = None) -> Index:
        """Bring the database up to date with the tree and return an Index of it.

        ``paths``: only these paths (relative to the root) may differ from the last load;
        None looks at every file. Raises SiteError only when no good site.yaml was ever seen.
        """
        if not self.database.try_become_writer():
            return read_header(self.conn, self.database.path, owner=self.database)
        fault, rebuild = self.database.fault()
        self._db_fault = fault
        if rebuild:
            assert fault is not None
            return self._rebuild(progress, fault)
        try:
            index = self._load(progress, paths, fault)
        except sqlite3.DatabaseError as exc:
            if not corrupt(exc):
                raise
            return self._rebuild(progress, f"index database {self.database.path} is damaged ({exc})")
        self.database.settled()
        return index

    def due(self) -> bool:
        """Whether the next reload must run even if no content file changed.

        The last one failed (its changes are still to apply), found the database at fault (to
        see whether that is over), or the file is not as this process left it (deleted,
        replaced, damaged, or its directory taken away).
        """
        return self.failed or self._db_fault is not None or self.database.moved()

    def _rebuild(self, progress: Progress | None, fault: str) -> Index:
        """Build the database afresh beside the broken one and put it in place once complete.

        Readers keep the last good state meanwhile; when the rebuild fails too (a full disk, a
        directory taken away) the old connection goes on serving, degraded, retried next reload.
        """
        log.error("%s: rebuilding it from the content", fault)
        self._full_scan_due = True
        try:
            self.database.begin_rebuild()
            self._load(progress, None)
            if not self.failed:
                self.database.finish_rebuild()
                self.degraded = list(self.database.problems)
                return read_header(self.conn, self.database.path, self.degraded, owner=self.database)
            fault = f"{fault}; rebuilding it failed ({'; '.join(self.degraded)})"
        except (OSError, sqlite3.Error, LookupError) as exc:
            fault = f"{fault}; rebuilding it failed ({exc})"
        self.database.abandon_rebuild()
        self.failed = True
        self._full_scan_due = True
        reason = f"{fault} (serving the last good content; retried every reload)"
        self.degraded = [*self.database.problems, reason]
        if reason not in self._reported:
            self._reported.add(reason)
            log.error("content degraded: %s", reason)
        return read_header(self.conn, self.database.path, self.degraded, owner=self.database)

    def _load(self, progress: Progress | None, paths: Iterable[str] | None, fault: str | None = None) -> Index:
        self.degraded = list(self.database.problems) + ([fault] if fault else [])
        self.failed = False
        self.unwritable = None
        self.unreadable = None
        site, site_changed = self.site_file.load(self.conn)
        self.degraded += [str(p) for p in self.site_file.problems]
        if site_changed or self._full_scan_due:
            paths = None
        try:
            self._apply(site, site_changed, paths, progress)
        except OSError as exc:
            self.unreadable = exc
            self.degraded.append(f"content directory unreadable: {exc} (serving the last good content)")
            self._full_scan_due = True
            self.failed = True
            self._write_status()
        except sqlite3.Error as exc:
            self._rollback()
            if corrupt(exc):
                raise
            self.degraded.append(f"index database cannot be written: {exc} (serving the last good content; retried every reload)")
            self.unwritable = str(exc)
            self._full_scan_due = True
            self.failed = True
            self._write_status()
        for reason in self.degraded:
            if reason not in self._reported:
                self._reported.add(reason)
                log.error("content degraded: %s", reason)
        return read_header(self.conn, self.database.path, self.degraded, owner=self.database)

    def fill_search(self) -> int:
        """Write one step of the full text a large load left (store/fulltext.py); how many posts still wait.

        A step that fails (a full disk, the file being replaced) is logged (once for the same
        error) and tried again at the next reload; what it wrote is rolled back, so nothing is lost.
        """
        if not self.database.writer:
            return 0
        try:
            if not fulltext.waiting(self.conn):  # one index probe: nothing queued (the common case)
                return 0
            left = fulltext.fill(self.conn)
        except sqlite3.Error as exc:
            reason = f"full-text index: a step failed ({exc}); tried again at every reload"
            if reason not in self._reported:
                self._reported.add(reason)
                log.warning("%s", reason)
            return 0
        if not left:
            log.info("full-text index: complete; searches are answered")
        return left

    def load_in_child(self, progress: Progress | None = None) -> Index:
        """``load()`` done by a forked child, so the heap this process forks workers from stays small.

        A full scan of a large tree makes tens of MB of short-lived objects (a signature per
        file, parsed posts on their way to the database); freed, they still stay in this
        process's heap, which every worker forked from it would inherit. The child writes the
        database (it shares this process's writer lock), this process then reads its state.
        Falls back to ``load()`` where a child cannot be forked safely (other threads running;
        forked.py).
        """
        answer = in_child(self.database, lambda: self._child_load(progress))
        if answer is None:
            return self.load(progress)  # no child, or it failed: do it here, and let any error show
        problems = [Problem(*p) for p in orjson.loads(answer)]
        if problems:
            raise SiteError(problems)
        self._full_scan_due = False  # the child just scanned everything
        self.database.settled()  # the child's writes are this process's own
        return self.load(progress, paths=())  # site.yaml and the state the child committed

    def _child_load(self, progress: Progress | None) -> tuple[bytes, int]:
        """The child's part: a load, answering site.yaml's problems; status 2 when it failed (the parent retries)."""
        try:
            self.load(progress)
            answer = b"[]"
        except SiteError as exc:
            answer = orjson.dumps([[p.path, p.field, p.message] for p in exc.problems])
        return answer, 2 if self.failed else 0  # a failed load is done again by the parent, to report it

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _status(self) -> dict[str, object]:
        """What readers in other processes show of this load's faults (meta rows)."""
        return {
            "degraded": orjson.dumps(self.degraded),
            "site_problems": orjson.dumps([[p.path, p.field, p.message] for p in self.site_file.problems]),
        }

    def _write_status(self) -> None:
        """Store the current faults when they changed (a load that failed wrote nothing else)."""
        status = self._status()
        try:
            stored = dict(self.conn.execute("SELECT key, value FROM meta WHERE key IN ('degraded', 'site_problems')"))
            if all(stored.get(k) == v for k, v in status.items()):
                return  # the same fault as last time: readers keep their state
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [*status.items(), ("state", os.urandom(8).hex())])
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            self._rollback()  # a full disk: this process still reports it (``degraded``)

    def _report(self, problem: Problem) -> None:
        key = str(problem)
        if key not in self._reported:
            self._reported.add(key)
            log.warning("%s", problem)

    # -- files -------------------------------------------------------------------------------
    def _apply(self, site: Site, site_changed: bool, paths: Iterable[str] | None, progress: Progress | None) -> None:
        conn = self.conn
        files = diff(conn, self.tree, self.root, paths, site_changed, self.max_post_bytes)
        todo, problems, gone = files.todo, files.problems, files.gone
        self._full_scan_due = False
        total = len(todo)
        pending = {"site": site_changed}
        fresh = self._clock_floor == 0 and conn.execute("SELECT 1 FROM meta WHERE key = 'clock'").fetchone() is None
        defer = self.defer_search and total > BATCH

        def begin() -> Writer:
            nonlocal problems, gone
            conn.execute("BEGIN IMMEDIATE")
            writer = Writer(
                conn, self.now, fresh, self._clock_floor, time.sleep if self.pace_by_clock else None, defer_search=defer
            )
            writer.force = site_changed  # a new site.yaml shapes every post: publish each again
            writer.catch_up()  # dates and expiries reached since the last commit (schedule.py)
            if pending.pop("site", False):
                self._site_change(writer, site)
            for prel, psig, problem in problems:
                self._report(writer.file_problem(prel, psig, "", problem))
            for g in gone:
                writer.file_gone(g)
            problems, gone = [], []
            return writer

        writer: Writer | None = None
        for done, (rel, sig, parsed, prepared) in enumerate(parse_all(site, todo, self.max_post_bytes), 1):
            writer = writer or begin()
            problem, sha, post = parsed
            if problem is not None:
                # A signature stands for the bytes read: none read (no permission, gone, too big),
                # none recorded, so the next scan looks again (a chmod moves no mtime, size nor inode).
                self._report(writer.file_problem(rel, sig if sha else NO_SIG, sha, problem))
            else:
                writer.file_parsed(rel, sig, sha, post, prepared, new=rel not in files.known)
            if progress and (done % 500 == 0 or done == total):
                progress(done, total)
            if done % BATCH == 0 and total > BATCH:  # a first load commits as it goes
                self._commit(writer, site, paths is None)
                writer = None
        self._commit(writer or begin(), site, paths is None)

    def _site_change(self, writer: Writer, site: Site) -> None:
        """A new site.yaml: every file is parsed again; posts in undeclared categories are unpublished now."""
        for source in writer.drop_posts_not_in(c.slug for c in site.categories):
            self._report(
                Problem(
                    source,
                    "categories",
                    "its category is no longer declared in site.yaml: unpublished until the post or site.yaml is fixed",
                )
            )

    def _settle(self, writer: Writer) -> None:
        """Decide slug and id owners and translation groups, and log the problems they raise (once each)."""
        writer.settle()
        writer.link_translations()
        for row in self.conn.execute(CLAIM_PROBLEMS).fetchall():
            self._report(Problem(*row))
        for row in self.conn.execute("SELECT path, field, message FROM link_problems").fetchall():
            self._report(Problem(*row))

    def _commit(self, writer: Writer, site: Site, full: bool) -> None:
        conn = self.conn
        if writer.changed:
            self._settle(writer)
        no_post = conn.execute("SELECT max(mtime_ns) FROM files WHERE has_post = 0").fetchone()[0] or 0
        prev = conn.execute("SELECT value FROM meta WHERE key = 'dir_mtime_ns'").fetchone()
        # A full walk knows every directory's mtime; a targeted scan only those it looked at.
        dir_mtime = self.tree.dir_mtime_ns if full else max(self.tree.dir_mtime_ns, int(prev[0]) if prev else 0)
        site_mtime = self.site_file.mtime_ns
        data = site_data(site)
        meta: dict[str, object] = {
            "site": data,
            "site_key": hashlib.sha256(data + PARSER_VERSION.encode()).hexdigest(),
            "dir_mtime_ns": dir_mtime,
            "content_mtime_ns": max(dir_mtime, site_mtime, no_post),
            "site_mtime_ns": site_mtime,
            **self._status(),
        }
        stored = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self._clock_floor = max(self._clock_floor, writer.changes.clock)
        if not writer.changed and all(stored.get(k) == v for k, v in meta.items()):
            conn.execute("ROLLBACK")  # nothing a reader sees would change: readers keep their state
            return
        writer.finish({**meta, "state": os.urandom(8).hex()})
        conn.execute("COMMIT")
        self._clock_floor = writer.changes.clock

    def close(self) -> None:
        """Release the database."""
        self.database.close()


def load_index(root: str | os.PathLike[str], progress: Progress | None = None) -> Index:
    """Load a content directory once, into memory (the CLI, exports and tests)."""
    return Loader(root).load(progress)
