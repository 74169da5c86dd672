"""Fixtures of the feed tests: the client serves the varied site of support.feeds_checks.populate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.feeds_checks import populate


@pytest.fixture
def client(site: Any, make_app: Any) -> Iterator[Any]:
    """A test client over the populated site (posts covering every feature)."""
    populate(site)
    with make_app().test_client() as c:
        yield c
