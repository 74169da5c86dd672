"""gunicorn worker for feedsvc: gevent with a fair turn for every kept-alive connection.

gunicorn's gevent worker serves each connection in a greenlet, and greenlets switch only
when one waits for I/O. A kept-alive client whose next request is already buffered never
makes its greenlet wait: gunicorn's keep-alive loop parses and serves it at once, so one
busy connection can be served hundreds of times in a row while every other connection's
request sits unread in the kernel (issue 23: runs of up to 533 requests, p99 of a second).

``gevent.sleep(0)`` does not help: it only queues the greenlet as a loop callback, and
gevent runs callbacks queued while it runs callbacks in the same pass (for up to
``gevent.getswitchinterval()``, 5 ms), before it polls sockets again. A sleep of any
positive length waits on a timer instead, which fires only on the loop's next iteration,
after the poll: every connection that became readable meanwhile is served first
(gevent.hub.sleep's docstring says both). FairGeventWorker takes that turn after each
response it sends on a connection it keeps open.
"""

from __future__ import annotations

import socket
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventWorker

#: Seconds to sleep after a response: any value > 0 makes the sleep a timer that expires
#: after the next I/O poll; this small it costs one loop iteration, never idle time.
TURN_SECONDS = 1e-6


class FairGeventWorker(GeventWorker):
    """gunicorn's gevent worker, which lets other connections in after every response."""

    def handle_request(self, listener_name: Any, req: Any, sock: socket.socket, addr: Any) -> None:
        """Serve one request, then yield to the event loop until it has polled for I/O once."""
        super().handle_request(listener_name, req, sock, addr)
        gevent.sleep(TURN_SECONDS)
