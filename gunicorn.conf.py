"""gunicorn settings for feedsvc (used by the Procfile, `make run` and bench/run).

Every value can be overridden from the environment: GUNICORN_BIND (or PORT),
WEB_CONCURRENCY (workers), GUNICORN_TIMEOUT, GUNICORN_ACCESSLOG ("-" or a path, "" off),
GUNICORN_WORKER_CLASS and GUNICORN_THREADS (measuring alternatives), GUNICORN_WORKER_CONNECTIONS,
GUNICORN_CONTROL_SOCKET (a path: turns gunicorn's control socket on). The server hooks
live in feedsvc/serving.py (type-checked), imported here by name.
"""

import multiprocessing
import os
import warnings

from feedsvc.serving import (  # noqa: F401 (gunicorn reads its hooks as names of this module)
    child_exit,
    hangups_wait_for_the_first_load,
    json_logs,
    on_exit,
    on_starting,
    post_fork,
    post_worker_init,
    pre_fork,
    prepare_metrics_dir,
    when_ready,
)

# Metrics (feedsvc/metrics.py, served by feedsvc/instrument.py): every process writes its
# samples to files in one directory, set up before prometheus_client is imported (by the
# app, preloaded below). feedsvc/serving.py says which directory.
prepare_metrics_dir()
# A SIGHUP before gunicorn's own handlers exist (while the app is preloaded, below) would kill
# the master mid-load: until then it is ignored (feedsvc/serving.py).
hangups_wait_for_the_first_load()

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
# Against gthread (bench/RESULTS.md, "the fair-tail targets"): the same CPU per request; gthread's
# threads get more of a loaded machine's cores (they block and are woken first), but 100
# trickling connections hold all its threads and normal requests time out.
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
# gunicorn reads forwarding headers from a peer in forwarded_allow_ips (loopback by default:
# any proxy on this host that passes a client's headers on). SCRIPT_NAME / PATH_INFO let a
# client move routing or get a 500 ("does not start with SCRIPT_NAME"); contradictory scheme
# headers (X-Forwarded-Proto twice) a 400. feedsvc is served at the root and builds every URL
# from base_url, never from the scheme: it reads neither.
forwarder_headers = ""
secure_scheme_headers: dict[str, str] = {}
# The longest request the API documents as valid (q and tag at 200 characters of 4-byte UTF-8,
# 12 bytes each percent-encoded, plus every other argument) is about 5,200 bytes: gunicorn's
# default request line (4,094) answered it with an HTML 414. 8,190 is gunicorn's largest.
limit_request_line = 8190
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat file off the disk
# gunicorn's control socket (gunicornc) defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl),
# which every server of that user on the host would share and replace: on only when given a path.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None

accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
# Combined format plus duration, the worker pid (which worker served what) and the request id.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms pid=%(p)s rid=%({feedsvc.request_id}e)s'
if json_logs():
    logger_class = "feedsvc.logs.GunicornLogger"  # one JSON object per line, access log included
