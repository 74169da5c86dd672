"""gunicorn settings for feedsvc (used by the Procfile, `make run` and bench/run).

Every value can be overridden from the environment: GUNICORN_BIND (or PORT),
WEB_CONCURRENCY (workers), GUNICORN_TIMEOUT, GUNICORN_ACCESSLOG ("-" or a path, "" off),
GUNICORN_WORKER_CLASS and GUNICORN_THREADS (measuring alternatives), GUNICORN_WORKER_CONNECTIONS,
GUNICORN_CONTROL_SOCKET (a path: turns gunicorn's control socket on).
"""

import glob
import multiprocessing
import os
import shutil
import tempfile
import time
import warnings

# Metrics (feedsvc/metrics.py, served by feedsvc/instrument.py): every process writes its samples to files in this
# directory; it must be set before prometheus_client is imported (the app, preloaded
# below). Default: a fresh directory for this server, removed when it stops; a given one
# is emptied at start (samples of an earlier run must not add up with this one's).
if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["FEEDSVC_OWN_METRICS_DIR"] = tempfile.mkdtemp(
        prefix="feedsvc-metrics-")
elif os.environ.get("FEEDSVC_METRICS_DIR_STARTED") != str(os.getpid()):  # once, not on a SIGHUP re-read
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for _stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.unlink(_stale)
os.environ["FEEDSVC_METRICS_DIR_STARTED"] = str(os.getpid())

bind = os.environ.get("GUNICORN_BIND") or (f"0.0.0.0:{os.environ['PORT']}" if "PORT" in os.environ else "127.0.0.1:8000")

# gevent workers: each connection is a greenlet, so idle, slow and kept-alive clients cost
# a little memory, never a worker (sync workers: 5 idle connections stalled the service;
# with 100 idle + 100 trickling connections gthread still timed requests out, gevent none:
# docs/deployment.md). Greenlets switch only on I/O, so feedgen's process-global setlocale
# dance while it writes RSS dates can never interleave between two requests. Rendering is
# CPU work: processes (2 x cores + 1) remain the unit of CPU parallelism. gunicorn
# monkey-patches each worker after the fork. feedsvc's subclass (feedsvc/serving.py) gives
# every kept-alive connection a turn after each response: plain gevent served one busy
# connection hundreds of times in a row while the others waited (issue 23: p99 of a second).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or "feedsvc.serving.FairGeventWorker"
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS") or 1000)  # per worker

# Load the app (and bring the index database up to date, see wsgi.py) once in the master.
# The master alone rescans the content (see when_ready); workers read the database.
# The app (imported before the fork, below) already holds the ssl module when each gevent
# worker patches it: only redis.asyncio binds ssl names at import, and nothing here uses the
# asyncio client (the workers' Redis client is the blocking one, patched with socket), so
# gevent's warning about it is noise in the logs (one JSON object per line must stay so).
warnings.filterwarnings("ignore", message="Monkey-patching ssl after ssl has already been imported")
preload_app = True

timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)  # a worker silent this long is replaced
graceful_timeout = 20  # in-flight requests get this long on restart/stop
keepalive = 5  # seconds: aggregators poll many feeds over one connection
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat file off the disk
# gunicorn's control socket (gunicornc) defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl),
# which every server of that user on the host would share and replace: on only when given a path.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Combined format plus duration, the worker pid (which worker served what) and the request id.
access_log_format = ('%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms pid=%(p)s '
                     'rid=%({feedsvc.request_id}e)s')
if os.environ.get("FEEDSVC_LOG_FORMAT", "").strip().strip('"').lower() == "json":
    logger_class = "feedsvc.logs.GunicornLogger"  # one JSON object per line, access log included


def on_starting(server):  # type: ignore[no-untyped-def]
    """Warn when X-Forwarded-For is trusted on a socket clients can reach directly."""
    import json

    from feedsvc.config import spoofable_forwarded_for

    try:
        trusted = int(json.loads(os.environ.get("FEEDSVC_TRUSTED_PROXIES") or "0"))
    except (ValueError, TypeError):
        return  # the app refuses the value itself, with a message
    warning = spoofable_forwarded_for(list(server.cfg.address), trusted)
    if warning:
        server.log.warning(warning)


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    """Never lose a stop signal that arrives while the worker boots.

    Until gunicorn installs the worker's own handlers (after gevent's monkey-patching, a
    few hundred milliseconds), a forked worker still has the master's, which only queue the
    signal for the master: a graceful restart landing then (a HUP right after a start)
    left an old worker serving the old application until the next stop. Here any stop
    signal in that window ends the worker gracefully (its run loop sees alive == False).
    """
    import signal

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        worker.alive = False

    for signum in (signal.SIGTERM, signal.SIGQUIT, signal.SIGINT):
        signal.signal(signum, stop)
    # Outbound deliveries leave from the writer process only, never a request worker: an app
    # loaded after this fork (preload_app off) reads this and never starts the outbox sender.
    os.environ["FEEDSVC_REQUEST_WORKER"] = "true"
    _large_blocks_to_the_os()


def _large_blocks_to_the_os() -> None:
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


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """A gevent worker asked to stop gracefully first answers every connection waiting in the listen queue.

    gunicorn's gevent worker closes its listening socket about a second after SIGTERM; the
    master has closed its own copy already, so connections the kernel had queued but no
    worker had accepted yet were reset (under keep-alive load, every one of them). Here
    SIGTERM leaves the worker accepting and serving until the queue is empty (Linux
    reports its length in TCP_INFO), within half the graceful timeout; then it stops as
    before, finishing what it accepted.
    """
    from gunicorn.workers.ggevent import GeventWorker

    if not isinstance(worker, GeventWorker):  # feedsvc.serving's fair worker included
        return
    import signal

    import gevent

    def drain_then_stop() -> None:
        deadline = time.monotonic() + worker.cfg.graceful_timeout / 2
        while time.monotonic() < deadline and any(_queued(s) for s in worker.sockets):
            gevent.sleep(0.05)
        worker.alive = False

    def stop(signum, frame):  # type: ignore[no-untyped-def]
        gevent.spawn(drain_then_stop)

    signal.signal(signal.SIGTERM, stop)


def _queued(listener) -> int:  # type: ignore[no-untyped-def]
    """How many connections wait in a listening TCP socket's accept queue (0 where the OS does not say)."""
    import socket
    import struct

    if getattr(listener, "FAMILY", socket.AF_INET) not in (socket.AF_INET, socket.AF_INET6) or not hasattr(socket,
                                                                                                         "TCP_INFO"):
        return 0
    try:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return 0
    return int(struct.unpack_from("I", info, 24)[0])  # tcpi_unacked: the accept queue's length on a listener


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """A dead worker's live gauges leave /metrics (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # type: ignore[no-untyped-def]
    """Remove the metrics directory this config created."""
    own = os.environ.get("FEEDSVC_OWN_METRICS_DIR")
    if own and own == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(own, ignore_errors=True)


def when_ready(server):  # type: ignore[no-untyped-def]
    """Reload content in the master, once for all workers.

    The master alone writes the index database (inotify tells it which files changed);
    each worker reads it and sees a new content version on its next request, so workers
    are never re-forked and never scan anything themselves.
    """
    if not server.cfg.preload_app:
        return  # each worker opens the app itself; the one holding the database lock reloads
    from feedsvc.extensions import state

    app = server.app.wsgi()
    if "feedsvc" not in getattr(app, "extensions", {}):
        return  # another app under this config (bench/floor_app.py): nothing to reload
    state(app).live.reload_for_children()
