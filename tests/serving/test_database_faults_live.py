"""The index database's faults while real gunicorn serves: deleted, truncated, corrupt, unreachable, full.

Every fault is survived: polled documents keep answering 200 from the last good state,
/healthz says ``degraded`` with the reason (never an error), and the service recovers by
itself when the cause goes. Where permissions matter the servers run without the
capabilities that let root ignore them; where a full disk matters the database is on a
small tmpfs (mounted and unmounted here).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.gunicorn_server import Server
from support.http_kit import fill

pytestmark = pytest.mark.slow

#: Root that file permissions apply to (no CAP_DAC_OVERRIDE nor CAP_DAC_READ_SEARCH).
UNPRIVILEGED = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")
#: Seconds any one fault may take to be rebuilt or recovered from before the test gives up.
RECOVERY = 20.0

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="mounts a tmpfs and drops root's capabilities"
)


class Poller:
    """Polls a feed and /healthz over one kept-alive connection, as an aggregator does, recording every answer."""

    def __init__(self, port: int, path: str = "/feeds/atom.xml") -> None:
        self.port, self.path = port, path
        self.answers: list[tuple[float, str, int, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self._stop.is_set():
            for path in (self.path, "/healthz"):
                try:
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    self.answers.append((time.monotonic(), path, resp.status, resp.read()))
                except (OSError, http.client.HTTPException) as exc:
                    self.answers.append((time.monotonic(), path, 0, repr(exc).encode()))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            time.sleep(0.01)
        conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def since(self, t0: float) -> list[tuple[float, str, int, bytes]]:
        return [a for a in list(self.answers) if a[0] >= t0]

    def served(self, text: str, t0: float) -> float:
        """When the polled feed first showed ``text`` after t0 (waits up to RECOVERY seconds)."""
        deadline = time.monotonic() + RECOVERY
        while time.monotonic() < deadline:
            for t, path, status, body in self.since(t0):
                if path == self.path and status == 200 and text.encode() in body:
                    return t
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not served within {RECOVERY} s")

    def health_said(self, words: str, t0: float) -> bool:
        """Whether /healthz answered degraded with ``words`` in a reason after t0 (waits up to RECOVERY seconds)."""
        deadline = time.monotonic() + RECOVERY
        while time.monotonic() < deadline:
            for _, path, status, body in self.since(t0):
                if path == "/healthz" and status == 200 and b'"degraded"' in body and words.encode() in body:
                    return True
            time.sleep(0.05)
        return False


def _non_200(answers: list[tuple[float, str, int, bytes]]) -> list[tuple[str, int, bytes]]:
    return [(path, status, body[:200]) for _, path, status, body in answers if status != 200]


def _published(db: Path) -> int:
    conn = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM posts WHERE published = 1").fetchone()[0])
    finally:
        conn.close()


def _start(site: Any, tmp_path: Path, db: Path, **env: str) -> Server:
    return Server(site.root, tmp_path / "gunicorn.out", FEEDSVC_RELOAD_INTERVAL="0.2", FEEDSVC_INDEX_PATH=str(db), **env)


@pytest.fixture
def db_dir(site: Any, tmp_path: Path) -> Iterator[Path]:
    """``site`` filled, and a directory for its database (a tmpfs mounted there is unmounted after)."""
    fill(site)
    where = tmp_path / "db"
    where.mkdir()
    try:
        yield where
    finally:
        os.chmod(where, 0o755)
        subprocess.run(["umount", str(where)], capture_output=True, check=False)


def _mount_tmpfs(where: Path, size: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)], check=True)


def _post(site: Any, name: str, words: int = 1) -> None:
    # newest, yet past: a future date is a scheduled post now
    site.post(name, f"{name} body. " + "Filling words " * words, title=name, date="2026-01-01")


# -- one fault at a time ----------------------------------------------------------------------


def _open_files(pid: int) -> set[str]:
    """What a process has open (a descriptor closed while it is listed is skipped)."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.add(os.readlink(fd))
        except FileNotFoundError:
            continue
    return found


def test_workers_do_not_hold_the_writer_lock(site: Any, tmp_path: Path) -> None:
    fill(site)
    db = tmp_path / "index.sqlite3"
    server = _start(site, tmp_path, db)
    try:
        lock = str(db) + ".lock"
        assert lock in _open_files(server.proc.pid)
        for worker in server.workers():
            assert lock not in _open_files(worker), f"worker {worker} holds the writer's lock file"
    finally:
        server.stop()


def test_readers_never_create_the_database_file(site: Any, tmp_path: Path) -> None:
    fill(site)
    db = tmp_path / "index.sqlite3"
    server = Server(site.root, tmp_path / "gunicorn.out", workers=1, FEEDSVC_INDEX_PATH=str(db))  # no reloads
    try:
        assert server.get("/feeds/atom.xml")[0] == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        status, _, body = server.get("/feeds/atom.xml")  # from the file it had open: the last good state
        assert status == 200 and b"</feed>" in body
        assert server.get("/api/v1/posts?page=1")[0] == 200  # not cached: read from the open file
        assert not db.exists(), "a reader created the database file"
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["deleted", "truncated", "corrupted"])
def test_a_database_damaged_while_running_is_rebuilt_and_never_answers_500(site: Any, tmp_path: Path, fault: str) -> None:
    fill(site)
    db = tmp_path / "index.sqlite3"
    server = _start(site, tmp_path, db)
    poller = Poller(server.port)
    try:
        before = _published(db)
        time.sleep(0.5)  # steady polling: the feed is served and cached
        t0 = time.monotonic()
        _damage(db, fault)
        site.post(
            "2026-01-01-during", "Written while the database was broken.", title="During the fault", date="2026-01-01"
        )  # newest, yet past: a future date is a scheduled post now
        poller.served("During the fault", t0)
        answers = poller.since(t0)
    finally:
        poller.stop()
        server.stop()
    assert _non_200(answers) == []
    assert _published(db) == before + 1


def _damage(db: Path, fault: str) -> None:
    if fault == "deleted":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return
    conn = sqlite3.connect(db)  # the pages into the file itself, so that damaging it damages them
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    if fault == "truncated":
        with db.open("r+b") as fh:
            fh.truncate(db.stat().st_size // 3)
    else:
        size = db.stat().st_size
        with db.open("r+b") as fh:  # in place: the same file, other bytes
            fh.seek(size // 4)
            fh.write(os.urandom(size // 2))


@needs_root
@pytest.mark.slow
def test_an_unreachable_database_directory_is_degraded_and_recovers(site: Any, tmp_path: Path, db_dir: Path) -> None:
    db = db_dir / "index.sqlite3"
    server = _start(site, tmp_path, db, prefix=UNPRIVILEGED)
    poller = Poller(server.port)
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.chmod(db.parent, 0)
        try:
            _post(site, "Unreachable")
            assert poller.health_said("cannot be reached", t0)
        finally:
            os.chmod(db.parent, 0o755)
        poller.served("Unreachable", t0)
        deadline = time.monotonic() + RECOVERY
        while b'"ok"' not in server.get("/healthz")[2] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b'"ok"' in server.get("/healthz")[2]
        answers = poller.since(t0)
    finally:
        poller.stop()
        server.stop()
    assert _non_200(answers) == []


@needs_root
@pytest.mark.slow
def test_a_start_on_a_disk_too_small_falls_back_and_listens(site: Any, tmp_path: Path, db_dir: Path) -> None:
    for i in range(60):
        site.post(f"big-{i}", "words and more words " * 400, title=f"Big {i}")
    _mount_tmpfs(db_dir, "256k")
    db = db_dir / "index.sqlite3"
    server = _start(site, tmp_path, db, prefix=UNPRIVILEGED)  # listens (it waited 600 s before)
    try:
        status, _, body = server.get("/healthz")
        assert status == 200 and b'"degraded"' in body and b"cannot hold the content" in body, body
        assert server.get("/posts/big-59", Accept="text/html")[0] == 200
    finally:
        server.stop()
        fallback = hashlib.sha256(str(db).encode()).hexdigest()[:16]
        for leftover in Path("/dev/shm").glob(f"feedsvc-{fallback}.sqlite3*"):
            leftover.unlink(missing_ok=True)


# -- the fault run ----------------------------------------------------------------------------


@needs_root
@pytest.mark.slow
def test_fault_run_under_steady_polling(site: Any, tmp_path: Path, db_dir: Path) -> None:
    """Each fault in turn while a feed is polled: no answer but 200, and how soon the edits made meanwhile show."""
    _mount_tmpfs(db_dir, "4m")
    db = db_dir / "index.sqlite3"
    server = _start(site, tmp_path, db, prefix=UNPRIVILEGED)
    poller = Poller(server.port)
    figures: list[str] = []
    failures: list[str] = []
    try:
        time.sleep(1.0)
        for phase in ("deleted", "truncated", "corrupted", "unreachable", "full"):
            t0 = time.monotonic()
            title = f"Edit during {phase}"
            if phase in ("deleted", "truncated", "corrupted"):
                _damage(db, phase)
                _post(site, title)
                said = True
            elif phase == "unreachable":
                os.chmod(db.parent, 0)
                _post(site, title)
                said = poller.health_said("cannot be reached", t0)
                os.chmod(db.parent, 0o755)
            else:
                filler = db.parent / "filler"
                with filler.open("wb") as fh:
                    try:
                        while True:
                            fh.write(b"\0" * 65536)
                            fh.flush()
                    except OSError:
                        pass
                _post(site, title, words=20000)  # more than the WAL's room: the write needs new blocks
                said = poller.health_said("full", t0)
                filler.unlink()
            t1 = time.monotonic()
            served = poller.served(title, t0)
            time.sleep(1.0)
            bad = _non_200(poller.since(t0))
            figures.append(
                f"{phase:12} non-200: {len(bad):3}  answers: {len(poller.since(t0)):5}  "
                f"edit served {max(0.0, served - t1):5.2f} s after the fault ended"
            )
            if bad:
                failures.append(f"{phase}: {bad[:3]}")
            if not said:
                failures.append(f"{phase}: /healthz never said degraded with the reason")
    finally:
        poller.stop()
        server.stop()
    print("\nfault run under steady polling (feed + /healthz over one kept-alive connection):")
    print("\n".join(figures))
    assert failures == []
