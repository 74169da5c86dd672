"""Fixtures of the API tests (/api/v1, OpenAPI, query arguments): the shared ones in tests/conftest.py serve."""
