"""Fixtures of the discovery tests (cards, sitemaps, oEmbed): the shared ones in tests/conftest.py serve."""
