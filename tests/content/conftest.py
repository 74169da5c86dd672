"""Fixtures of the content-core tests (loader, index, database, reload, CLI): the shared ones in tests/conftest.py serve."""
