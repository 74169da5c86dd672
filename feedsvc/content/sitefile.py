"""site.yaml across reloads: read again only when its file changed, its last good version kept when it breaks.

A site.yaml that cannot be read or is invalid leaves the last good site in place (from
this process, or the one the database was built with), its problems reported; only when
no good site.yaml was ever seen is the load refused (``SiteError``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from .model import Problem, Site
from .parse import Sig
from .site import SITE_FILE, SiteError, load_site
from .store.codecs import site_data, site_from_data


class SiteFile:
    """One content directory's site.yaml as the loader publishes with it."""

    def __init__(self, root: Path, base_url: str | None, report: Callable[[Problem], None]) -> None:
        self.root = root
        self.base_url = base_url
        self._report = report
        self.site: Site | None = None
        self._sig: Sig | None = None
        #: Why the site published is not the file's (unreadable, invalid): shown as degraded.
        self.problems: list[Problem] = []
        #: The mtime of the file last read good (a part of the content's modification time).
        self.mtime_ns = 0

    def load(self, conn: sqlite3.Connection) -> tuple[Site, bool]:
        """The site to publish with, and whether it differs from the one the database was built with."""
        path = self.root / SITE_FILE
        stored = conn.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()
        last_good = self.site or (site_from_data(stored[0]) if stored else None)
        try:
            st = path.stat()
            sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError as exc:
            if last_good is None:
                raise SiteError([Problem(SITE_FILE, "file", f"cannot read: {exc.strerror or exc}")]) from None
            self.problems = [Problem(SITE_FILE, "file", f"cannot read ({exc.strerror}); serving the last good version")]
            self._sig = None  # read it again as soon as it is back
            self.site = last_good
            return last_good, False
        if sig != self._sig or self.site is None:
            try:
                site = load_site(path, self.base_url)
            except SiteError as exc:
                if last_good is None:
                    raise
                self._sig = sig
                self.problems = [Problem(p.path, p.field, p.message + " (serving the last good site.yaml)") for p in exc.problems]
                for p in self.problems:
                    self._report(p)
                self.site = last_good
                return last_good, False
            self._sig = sig
            self.problems = []
            self.site = site
            self.mtime_ns = st.st_mtime_ns
        return self.site, (stored is None or site_data(self.site) != stored[0])
