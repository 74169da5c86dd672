"""The export's run: its own app and its own state (feedsvc/export)."""
