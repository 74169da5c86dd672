"""gunicorn settings for feedsvc (used by the Procfile, make run and bench). Issue 5 refines."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND") or (f"0.0.0.0:{os.environ['PORT']}" if "PORT" in os.environ else "127.0.0.1:8000")
# Sync workers: feedgen switches the process-global locale while it writes dates.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
accesslog = "-"
errorlog = "-"
