"""A Flask app on a loopback port (threaded werkzeug), its base_url being that very address."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def served(make: Callable[[str], Any]) -> Iterator[tuple[str, Any]]:
    """Yield (base URL, app), the app made by ``make(base)`` once the port is known; stopped after."""
    app: Any = None
    httpd = make_server("127.0.0.1", 0, lambda e, s: app(e, s), threaded=True)
    base = f"http://127.0.0.1:{httpd.server_port}"
    app = make(base)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, app
    finally:
        httpd.shutdown()
        httpd.server_close()
