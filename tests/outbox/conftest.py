"""Fixtures of the outbox tests (webhooks, WebSub, newsletter): a local WebSub hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import Hub


@pytest.fixture
def hub() -> Iterator[Hub]:
    """A hub stand-in on 127.0.0.1 recording pings, closed after the test."""
    h = Hub()
    yield h
    h.close()
