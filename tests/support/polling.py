"""Waiting for a condition with a deadline (never a timed assertion: the deadline is far beyond the target)."""

from __future__ import annotations

import time
from typing import Any


def wait_for(check: Any, timeout: float = 60, what: str = "condition") -> None:
    """Poll ``check()`` until true (a deadline, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.05)
