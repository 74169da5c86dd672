"""Plain helpers shared by the tests (no fixtures)."""
