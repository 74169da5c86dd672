"""tests/outbox: its modules import tests/ helpers by module name (``from conftest import free_port``, as
tests/test_serving.py does), and this file shadows tests/conftest.py under that name: re-export what they use."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("feedsvc_tests_conftest", Path(__file__).parents[1] / "conftest.py")
assert _spec is not None and _spec.loader is not None
_parent = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_parent)
SITE, SiteTree, RedisServer, free_port = _parent.SITE, _parent.SiteTree, _parent.RedisServer, _parent.free_port
