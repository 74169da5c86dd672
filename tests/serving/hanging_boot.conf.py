"""The shipped gunicorn.conf.py, whose new workers hang while booting as long as a marker file exists.

Used by test_worker_boot.py: a worker that never finishes booting (as one did when it
inherited a lock held at the fork) must be replaced by the master after its timeout.
"""

import os
import runpy
import time
from pathlib import Path
from typing import Any

_shipped = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))
globals().update({name: value for name, value in _shipped.items() if not name.startswith("__")})


def post_fork(server: Any, worker: Any) -> None:
    """The shipped hook, then wait (in the new worker, before it boots) while the marker exists."""
    _shipped["post_fork"](server, worker)
    while os.path.exists(os.environ["HANG_BOOT_MARKER"]):
        time.sleep(0.05)
