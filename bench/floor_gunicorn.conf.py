"""gunicorn settings for the floor (bench/floor_app.py): bare Flask in its own best configuration.

Never feedsvc's gunicorn.conf.py: the floor is what a perfect cache hit costs in Flask on
this machine when served the way Flask serves fastest here: gthread workers with threads
and keep-alive. Probed here (2 CPUs, wrk -c16, a 60 KB body): 4-5 workers x 2-4 threads
were within the machine's noise of each other and ahead of 2-3 workers; gunicorn's
2 x CPUs + 1 workers with 4 threads it is. Same access log format as feedsvc's config
(a production server logs its requests). Tunable for a probe: BENCH_FLOOR_WORKERS,
BENCH_FLOOR_THREADS, BENCH_FLOOR_ACCESSLOG ("" off).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")
worker_class = "gthread"
workers = int(os.environ.get("BENCH_FLOOR_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("BENCH_FLOOR_THREADS") or 4)
keepalive = 30
preload_app = True
timeout = 30
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = os.environ.get("BENCH_FLOOR_ACCESSLOG", "-") or None
errorlog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms pid=%(p)s'
