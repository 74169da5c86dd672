"""Fixtures of the HTML, embed-widget and browser tests: the shared ones (browser among them) in tests/conftest.py serve."""
