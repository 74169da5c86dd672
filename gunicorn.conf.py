"""gunicorn settings for feedsvc (used by the Procfile, `make run` and bench/run).

Every value can be overridden from the environment: GUNICORN_BIND (or PORT),
WEB_CONCURRENCY (workers), GUNICORN_TIMEOUT, GUNICORN_ACCESSLOG ("-" or a path, "" off).
"""

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

# Load the app (and bring the index database up to date, see wsgi.py) once in the master.
# The master alone rescans the content (see when_ready); workers read the database.
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
