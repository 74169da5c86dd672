"""The outbox: outbound traffic (signed webhooks, WebSub pings) from one durable queue, sent by the writer.

``init_app`` reads the checked configuration (config.py), keeps the app's ``Outbox`` in
``app.extensions["outbox"]`` and hooks it to the live index: it starts sending in the
process that keeps the index current, and each reload that changed the content wakes it.
Request workers never send; they only read the queue's status for /metrics and /healthz.
An app made inside a gunicorn request worker (``preload_app`` off: gunicorn.conf.py marks
each forked worker with FEEDSVC_REQUEST_WORKER) never sends, even when it writes the index:
its queue waits, and /healthz says so, until a preloading server (its master) sends it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..content import Site
from ..content.readers import Status
from ..extensions import state
from . import queuefile
from .queue import DestStatus, Queue, open_existing
from .sender import Limits, Sender
from .transport import Client
from .webhooks import Endpoint, Webhooks

log = logging.getLogger("feedsvc.outbox")


class Outbox:
    """One app's outbox: its configuration problems, and the sender (made on first use, in the process using it)."""

    def __init__(self, app: Flask) -> None:
        cfg = app.config
        self.path: str = cfg["OUTBOX_PATH"]
        self.problems: list[str] = list(cfg["WEBHOOKS_PROBLEMS"])
        self.request_worker: bool = cfg["REQUEST_WORKER"]
        if self.request_worker and cfg["WEBHOOKS"]:
            self.problems.append(
                "webhooks are not sent: the app was loaded in a gunicorn request worker "
                "(preload_app off); run gunicorn with preload_app = True, as gunicorn.conf.py does"
            )
        self.webhooks = Webhooks([Endpoint.from_config(e) for e in cfg["WEBHOOKS"]], complete=not cfg["WEBHOOKS_PROBLEMS"])
        self.limits = Limits(
            cfg["WEBHOOK_BACKOFF"],
            cfg["WEBSUB_BACKOFF"],
            cfg["OUTBOX_MAX_BACKOFF"],
            cfg["WEBHOOK_MAX_AGE"],
            cfg["WEBSUB_RETRIES"],
            cfg["WEBSUB_ALLOW_PRIVATE"],
        )
        self.client_args = (cfg["OUTBOX_TIMEOUT"], cfg["OUTBOX_MAX_RESPONSE_BYTES"])
        self._app = app
        self._sender: Sender | None = None
        self._pid = 0
        self._reader: Queue | None = None
        self._reader_pid = 0
        #: The sender's faults, shared with the request workers forked after this (their /healthz).
        self.faults = Status()
        #: Why the queue could not be opened when this process started sending, or None.
        self._start_error: str | None = None
        self._start_pid = 0

    @property
    def sender(self) -> Sender:
        """This process's sender over the queue (the queue opened here, never one inherited over a fork)."""
        if self._sender is None or self._pid != os.getpid():
            # Looked up on each use: the sender may start while the live index is being made.
            self._sender = Sender(
                Queue(self.path),
                Client(*self.client_args),
                self.webhooks,
                self.limits,
                lambda: state(self._app).live.current,
                fediverse=self._app.extensions.get("fediverse"),
                report=self.faults.write,
            )
            self._pid = os.getpid()
        return self._sender

    def start(self) -> None:
        """Start sending from this process (a LiveIndex writer listener), unless it is a request worker.

        A queue that cannot be opened (its directory cannot be made or written) is named on
        /healthz and tried again after every reload (``on_reload``) until it can.
        """
        if self.request_worker:
            log.warning(
                "outbox: not sending from a request worker (gunicorn without preload_app): deliveries wait in %s", self.path
            )
            return
        self._start_pid = os.getpid()
        try:
            started = self.sender.start()
        except Exception as exc:  # the service serves even when its queue cannot be opened
            reason = f"outbox: cannot open its queue {self.path} ({exc}): nothing is sent; tried again every reload"
            if reason != self._start_error:
                log.exception("%s", reason)
            self._start_error = reason
            self._sender = None
            self.faults.write([reason])
            return
        if self._start_error is not None:
            self._start_error = None
            self.faults.write([])
        if started:
            log.info("outbox: sending from %s (%d webhook endpoint(s))", self.path, len(self.webhooks.endpoints))

    def on_reload(self, index: Any, seconds: float, changed: bool) -> None:
        """A LiveIndex reload listener: a changed content state wakes the sender; a queue that could not be
        opened is tried again."""
        if self._start_error is not None and self._start_pid == os.getpid():
            self.start()
        if changed and self._sender is not None and self._pid == os.getpid():
            self._sender.wake()

    def status(self) -> list[DestStatus]:
        """Every destination's queue depth and last outcomes, read from the queue file (any process)."""
        if self._reader is None or self._reader_pid != os.getpid() or self._reader.moved():
            self._reader = open_existing(self.path)  # (a file put back or set aside: the old connection stays open)
            self._reader_pid = os.getpid()
        if self._reader is None:
            return []
        return self._reader.status()


def outbox(app: Flask | None = None) -> Outbox:
    """The app's Outbox (default: the current app)."""
    box: Outbox = (app or current_app).extensions["outbox"]
    return box


def health_reasons(site: Site | None = None) -> list[str]:
    """Configuration problems of the outbox, the sender's faults, a damaged queue set aside and, when
    ``site`` has the fediverse on, an actor key that cannot be loaded, for /healthz (secrets never appear in them)."""
    box = outbox()
    aside = queuefile.reason(box.path)
    fedi = current_app.extensions.get("fediverse")
    key = fedi.key_problem() if fedi is not None and site is not None and site.fediverse is not None else None
    return [*box.problems, *(box.faults.read() or ()), *(r for r in (aside, key) if r)]


class _QueueGauges(Collector):
    """Queue depth and oldest pending age per destination, read from the queue at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "feedsvc_outbox_queue_depth", "Deliveries waiting, by kind and destination", labels=["kind", "dest"]
        )
        age = GaugeMetricFamily(
            "feedsvc_outbox_oldest_pending_seconds",
            "Age of the oldest waiting delivery, by kind and destination",
            labels=["kind", "dest"],
        )
        now = time.time()
        for s in outbox().status():
            depth.add_metric([s.kind, s.dest], s.depth)
            age.add_metric([s.kind, s.dest], now - s.oldest if s.oldest else 0.0)
        yield depth
        yield age


webhooks_cli = AppGroup("webhooks", help="Webhook endpoints and the outbox queue.")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else "never"


@webhooks_cli.command("status")
def status_command() -> None:
    """Print each destination's queue depth, last success and last error (webhooks and WebSub hubs)."""
    box = outbox()
    for problem in box.problems:
        click.echo(f"problem: {problem}")
    rows = {s.dest: s for s in box.status()}
    for url in box.webhooks.endpoints:
        rows.setdefault(url, DestStatus(url, "webhook", 0, None, None, None, None, False))
    if not rows:
        click.echo("no webhook endpoints configured and nothing queued")
    for s in rows.values():
        line = (
            f"{s.kind} {s.dest}: queued {s.depth}, last success {_when(s.last_success)}, "
            f"last error {s.last_error or 'none'}" + (f" at {_when(s.last_error_at)}" if s.last_error else "")
        )
        click.echo(line + (" (disabled after a 410 until its configuration changes)" if s.disabled else ""))


def init_app(app: Flask) -> None:
    """Keep the app's Outbox, hook it to the live index, and register its CLI and metrics."""
    box = Outbox(app)
    app.extensions["outbox"] = box
    for problem in box.problems:
        log.error("webhooks configuration: %s", problem)
    st = state(app)
    st.writer_listeners.append(box.start)
    st.reload_listeners.append(box.on_reload)
    app.extensions.setdefault("metrics_collectors", []).append(_QueueGauges())
    app.cli.add_command(webhooks_cli)
