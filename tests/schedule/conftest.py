"""Fixtures of the schedule tests (scheduled and expiring posts, news sitemap): the shared ones in tests/conftest.py serve."""
