"""gunicorn under feedsvc: the fair gevent worker, the server hooks and the metrics directory.

gunicorn.conf.py holds the settings and imports the hooks from here (gunicorn reads them
as module-level names of the config), so they are type-checked like the rest of feedsvc.

FairGeventWorker: gunicorn's gevent worker serves each connection in a greenlet, and
greenlets switch only when one waits for I/O. A kept-alive client whose next request is
already buffered never makes its greenlet wait: gunicorn's keep-alive loop parses and
serves it at once, so one busy connection can be served hundreds of times in a row while
every other connection's request sits unread in the kernel (issue 23: runs of up to 533
requests, p99 of a second).

``gevent.sleep(0)`` does not help: it only queues the greenlet as a loop callback, and
gevent runs callbacks queued while it runs callbacks in the same pass (for up to
``gevent.getswitchinterval()``, 5 ms), before it polls sockets again. A sleep of any
positive length waits on a timer instead, which fires only on the loop's next iteration,
after the poll: every connection that became readable meanwhile is served first
(gevent.hub.sleep's docstring says both). FairGeventWorker takes that turn after each
response it sends on a connection it keeps open.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import signal
import socket
import struct
import tempfile
import time
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker

from .config import ConfigError, environ_setting, spoofable_forwarded_for
from .content.forkgate import GATE, WAIT

#: Seconds to sleep after a response: any value > 0 makes the sleep a timer that expires
#: after the next I/O poll; this small it costs one loop iteration, never idle time.
TURN_SECONDS = 1e-6

#: Process markers (not settings) the metrics directory's setup leaves in the environment:
#: the directory this server made itself (removed at exit), the master that set it up.
_OWN_METRICS_DIR = "FEEDSVC_OWN_METRICS_DIR"
_METRICS_DIR_STARTED = "FEEDSVC_METRICS_DIR_STARTED"


class FairGeventWorker(GeventWorker):
    """gunicorn's gevent worker, which lets other connections in after every response."""

    def handle_request(self, listener_name: Any, req: Any, sock: socket.socket, addr: Any) -> None:
        """Serve one request, then yield to the event loop until it has polled for I/O once."""
        super().handle_request(listener_name, req, sock, addr)
        gevent.sleep(TURN_SECONDS)


def prepare_metrics_dir() -> None:
    """Give this server's processes a directory for their metric samples (feedsvc/metrics.py).

    Must run before prometheus_client is imported (gunicorn.conf.py calls it before the app
    is preloaded). Default: a fresh directory, removed when the server stops (``on_exit``);
    a given PROMETHEUS_MULTIPROC_DIR is emptied at start (samples of an earlier run must
    not add up with this one's), once: not again when a SIGHUP re-reads the config.
    """
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        own = tempfile.mkdtemp(prefix="feedsvc-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ[_OWN_METRICS_DIR] = own
    elif os.environ.get(_METRICS_DIR_STARTED) != str(os.getpid()):
        os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
        for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
            os.unlink(stale)
    os.environ[_METRICS_DIR_STARTED] = str(os.getpid())


def hangups_wait_for_the_first_load() -> None:
    """Until gunicorn installs its signal handlers, which it does only once the app is preloaded, a
    SIGHUP is logged and ignored (gunicorn.conf.py calls this before the preload).

    Its default action killed the master in the middle of a first load (systemd's
    ExecReload, a log rotation), and the service never came up. The content being loaded is
    the newest there is: nothing is left to reload. Once gunicorn's own handler is in place
    (a SIGHUP reads this configuration again), or when the signal is ignored, it is left as it is.
    """
    if signal.getsignal(signal.SIGHUP) is signal.SIG_DFL:
        signal.signal(signal.SIGHUP, _hangup_while_loading)


def _hangup_while_loading(signum: int, frame: Any) -> None:
    logging.getLogger("feedsvc").warning("SIGHUP while the app is being preloaded: ignored (the content loading is the newest)")


def json_logs() -> bool:
    """Whether FEEDSVC_LOG_FORMAT asks for JSON lines (gunicorn's own and access lines too)."""
    try:
        return bool(environ_setting("LOG_FORMAT") == "json")
    except ConfigError:
        return False  # the app refuses the value itself, with a message


def on_starting(server: Any) -> None:
    """Warn when X-Forwarded-For is trusted on a socket clients can reach directly."""
    try:
        trusted = int(environ_setting("TRUSTED_PROXIES"))
    except ConfigError:
        return  # the app refuses the value itself, with a message
    warning = spoofable_forwarded_for(list(server.cfg.address), trusted)
    if warning:
        server.log.warning(warning)


def when_ready(server: Any) -> None:
    """Reload content in the master, once for all workers.

    The master alone writes the index database (inotify tells it which files changed);
    each worker reads it and sees a new content version on its next request, so workers
    are never re-forked and never scan anything themselves.
    """
    if not server.cfg.preload_app:
        return  # each worker opens the app itself; the one holding the database lock reloads
    from .extensions import state

    app = server.app.wsgi()
    if "feedsvc" not in getattr(app, "extensions", {}):
        return  # another app under this config (bench/floor_app.py): nothing to reload
    state(app).live.reload_for_children()


def pre_fork(server: Any, worker: Any) -> None:
    """Start a new worker's heartbeat at its fork, so one that hangs while booting is replaced.

    gunicorn's master replaces a worker silent for ``timeout`` seconds, reading the time of
    its last heartbeat as the mtime of its temporary file, which the worker sets from
    ``time.monotonic()``. A new file's mtime is the wall clock, decades ahead of the monotonic
    clock, so until its first heartbeat a worker always looked fresh: one stuck while booting
    (a lock held at the fork by a thread of the master) was never replaced, and served
    nothing, for as long as the server ran. Set here from the same clock, the master counts
    a worker's boot against the timeout like everything after it.

    First the master's own threads (reload, outbox) finish the unit of work they are in, so
    that the new worker inherits none of their locks held (content/forkgate.py).
    """
    if not GATE.quiesce():
        server.log.warning("forking a worker while the writer's threads are still busy (after %.0f s)", WAIT)
    worker.tmp.notify()


def post_fork(server: Any, worker: Any) -> None:
    """Never lose a stop signal that arrives while the worker boots.

    Until gunicorn installs the worker's own handlers (after gevent's monkey-patching, a
    few hundred milliseconds), a forked worker still has the master's, which only queue the
    signal for the master: a graceful restart landing then (a HUP right after a start)
    left an old worker serving the old application until the next stop. Here any stop
    signal in that window ends the worker gracefully (its run loop sees alive == False).
    """

    def stop(signum: int, frame: Any) -> None:
        worker.alive = False

    for signum in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
        signal.signal(signum, stop)
    # Outbound deliveries leave from the writer process only, never a request worker: an app
    # loaded after this fork (preload_app off) reads this and never starts the outbox sender.
    os.environ["FEEDSVC_REQUEST_WORKER"] = "true"
    large_blocks_to_the_os()


def large_blocks_to_the_os() -> None:
    """Rendered bodies of 128 KiB and more get their own mappings, returned to the OS when freed.

    glibc raises its mmap threshold (up to 32 MiB) the first time such a block is freed, so
    later bodies (feeds, API pages: 100-500 KiB) came from the heap, and every eviction from
    the render cache left holes there: under mixed load a worker kept growing past the
    cache's byte budget (bench/NOTES.md, worker memory). A fixed threshold keeps it flat.
    """
    import ctypes
    import ctypes.util

    libc = ctypes.util.find_library("c")
    if libc is None:
        return
    try:
        ctypes.CDLL(libc).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD (glibc); elsewhere the call fails
    except (OSError, AttributeError):
        pass


def post_worker_init(worker: Any) -> None:
    """A gevent worker asked to stop gracefully first answers every connection waiting in the listen queue.

    gunicorn's gevent worker closes its listening socket about a second after SIGTERM; the
    master has closed its own copy already, so connections the kernel had queued but no
    worker had accepted yet were reset (under keep-alive load, every one of them). Here
    SIGTERM leaves the worker accepting and serving until the queue is empty (Linux
    reports its length in TCP_INFO), within half the graceful timeout; then it stops as
    before, finishing what it accepted.
    """
    if not isinstance(worker, GeventWorker):  # the fair worker included
        return

    def drain_then_stop() -> None:
        deadline = time.monotonic() + worker.cfg.graceful_timeout / 2
        while time.monotonic() < deadline and any(queued(s) for s in worker.sockets):
            gevent.sleep(0.05)
        worker.alive = False

    def stop(signum: int, frame: Any) -> None:
        gevent.spawn(drain_then_stop)

    signal.signal(signal.SIGTERM, stop)


def queued(listener: Any) -> int:
    """How many connections wait in a listening TCP socket's accept queue (0 where the OS does not say)."""
    if getattr(listener, "FAMILY", socket.AF_INET) not in (socket.AF_INET, socket.AF_INET6) or not hasattr(socket, "TCP_INFO"):
        return 0
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return 0
    return int(struct.unpack_from("I", info, 24)[0])  # tcpi_unacked: the accept queue's length on a listener


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges leave /metrics (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics directory this server created."""
    own = os.environ.get(_OWN_METRICS_DIR)
    if own and own == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(own, ignore_errors=True)
