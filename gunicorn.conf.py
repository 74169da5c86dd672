"""gunicorn settings for feedsvc (used by the Procfile, `make run` and bench/run).

Every value can be overridden from the environment: GUNICORN_BIND (or PORT),
WEB_CONCURRENCY (workers), GUNICORN_TIMEOUT, GUNICORN_ACCESSLOG ("-" or a path, "" off).
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND") or (f"0.0.0.0:{os.environ['PORT']}" if "PORT" in os.environ else "127.0.0.1:8000")

# Sync workers, one thread each: feedgen switches the process-global locale while it
# writes dates, so two requests must never render in one process at the same time.
# Most requests are cache hits or 304s that take well under a millisecond, so processes
# (not threads) are the unit of concurrency; put nginx or a CDN in front for slow clients.
worker_class = "sync"
threads = 1
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)

# Load the app (and the content index, see wsgi.py) once in the master; workers share
# its memory copy-on-write. The master alone rescans the content (see when_ready): on a
# change it swaps in the new index and re-forks the workers, which inherit it.
preload_app = True

timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)  # a worker silent this long is replaced
graceful_timeout = 20  # in-flight requests get this long on restart/stop
keepalive = 5  # aggregators poll many feeds over one connection
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat file off the disk

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Combined format plus duration and the worker pid (which worker served what).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms pid=%(p)s'


def when_ready(server):  # type: ignore[no-untyped-def]
    """Reload content in the master, once for all workers; re-fork the workers on a change.

    A SIGHUP with preload_app starts new workers from the master's current app (so with
    the new index) before stopping the old ones gracefully: no request is dropped, and
    the workers never rescan or rebuild anything themselves.
    """
    if not server.cfg.preload_app:
        return  # each worker loads the app itself, and reloads content itself
    import signal

    from feedsvc.extensions import state

    app = server.app.wsgi()
    if "feedsvc" not in getattr(app, "extensions", {}):
        return  # another app under this config (bench/floor_app.py): nothing to reload
    live = state(app).live
    master = os.getpid()

    def roll_workers(old, new):  # type: ignore[no-untyped-def]
        server.log.info("content changed (%s -> %s): re-forking workers", old.version, new.version)
        os.kill(master, signal.SIGHUP)

    live.subscribe(roll_workers)
    live.reload_for_children()


def pre_fork(server, worker):  # type: ignore[no-untyped-def]
    """Freeze the master's objects out of the GC's reach so workers do not dirty shared pages."""
    gc.freeze()
    _trim_heap()


def _trim_heap():  # type: ignore[no-untyped-def]
    """Give the heap that loading freed back to the OS (glibc), so workers do not map it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass
