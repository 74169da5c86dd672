"""A webhook receiver process on loopback: verifies every delivery with the standardwebhooks library.

Usage: python receiver.py SECRET LOGFILE [FAIL_FIRST [STATUS]]. Prints its port on the first
line of stdout, then serves. Each POST is appended to LOGFILE as one JSON line: webhook-id,
whether the signature verified, the event type and slug, and the status answered. The first
FAIL_FIRST deliveries are answered STATUS (default 503) without being taken; STATUS 0 means
they hang (no answer for an hour), logged as they arrive with status 0.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

secret, logfile = sys.argv[1], sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
fail_status = int(sys.argv[4]) if len(sys.argv) > 4 else 503
lock = threading.Lock()
count = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            payload = Webhook(secret).verify(body, dict(self.headers))
            ok = True
        except WebhookVerificationError:
            payload, ok = json.loads(body or b"{}"), False
        with lock:
            count["n"] += 1
            status = fail_status if count["n"] <= fail_first else 204
            with open(logfile, "a", encoding="utf-8") as fh:
                fh.write(
                    json.dumps(
                        {
                            "id": self.headers.get("webhook-id"),
                            "ok": ok,
                            "type": payload.get("type"),
                            "slug": (payload.get("data") or {}).get("slug"),
                            "status": status,
                            "data": payload.get("data"),
                        }
                    )
                    + "\n"
                )
        if status == 0:
            time.sleep(3600)
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[5]) if len(sys.argv) > 5 else 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
