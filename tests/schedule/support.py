"""Helpers of the scheduling tests: an injectable writer clock, and instants around a scheduled post."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedsvc.extensions import state

#: The scheduled post's date in these tests (a Tuesday, 10:00 in London).
AT = datetime(2030, 3, 5, 10, 0, tzinfo=UTC)
T = AT.timestamp()


class Clock:
    """The writer's clock (app config ``CLOCK``): the tests move it, nothing sleeps."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def at(app: Any, clock: Clock, t: float) -> None:
    """Move the writer's clock to ``t`` and let the writer reload (as its thread does at a boundary)."""
    clock.t = t
    state(app).live.refresh(set())
