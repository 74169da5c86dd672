"""The index database, its parts named by role (after reader's ``_storage``).

- schema.py: the tables (DDL), their version, and how a connection is set up;
- codecs.py: how a Post or a Site becomes a row and back (the one place that knows a row's layout);
- dbfile.py: the database file: opened, locked for one writer, rebuilt or replaced, and its fallbacks;
- writer.py: the one writer: parsed files applied in one transaction, posts published and unpublished.

Reads go one way: the Index (index.py) reads rows through codecs.py; only writer.py writes them.
"""
