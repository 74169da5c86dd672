"""Fixtures of the structure tests (the import graph of feedsvc): none needed."""
