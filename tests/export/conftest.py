"""Fixtures of the static-export tests (the export command, its files, nginx serving them): the shared ones serve."""
