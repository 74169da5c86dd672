"""The test site: site.yaml values and a content tree under tmp_path that tests write posts into."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import yaml

SITE: dict[str, Any] = {
    "title": "Test Network",
    "subtitle": "Posts for tests",
    "base_url": "https://news.example.org",
    "id_authority": "example.org,2021",
    "language": "en",
    "timezone": "Europe/London",
    "author": {"name": "Test Network", "email": "press@example.org", "uri": "https://example.org/"},
    "rights": "© Test Network",
    "icon": "/icon.png",
    "logo": "/logo.png",
    "categories": {
        "statements": {"title": "Statements", "description": "Statements at UN meetings"},
        "events": {"title": "Events", "description": "Events"},
        "publications": {"title": "Publications", "description": "Reports"},
        "empty": {"title": "Empty", "description": "No posts yet"},
    },
}


class SiteTree:
    """A content directory under tmp_path that tests write posts into."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "posts").mkdir(parents=True, exist_ok=True)
        self.write_site()

    def write_site(self, **overrides: Any) -> Path:
        """Write site.yaml from SITE updated with ``overrides``."""
        data = {**SITE, **overrides}
        path = self.root / "site.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    def post(self, name: str, body: str = "Body text.", **front: Any) -> Path:
        """Write posts/<name>.md with front matter ``front`` (title/date/categories defaulted)."""
        front.setdefault("title", name.replace("-", " ").title())
        front.setdefault("date", "2021-04-01")
        front.setdefault("categories", ["statements"])
        path = self.root / "posts" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        fm = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
        path.write_text(f"---\n{fm}---\n{textwrap.dedent(body)}\n", encoding="utf-8")
        return path

    def raw(self, name: str, data: bytes | str) -> Path:
        """Write posts/<name> with exactly these bytes."""
        path = self.root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    def age(self, seconds: int = 3600) -> None:
        """Move every file's and directory's mtime ``seconds`` back (no sleeping for the clock)."""
        for path in [self.root, *self.root.rglob("*")]:
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))

    def touch_later(self, path: Path, seconds: float = 2.0) -> None:
        """Move a file's mtime forward so a rescan sees it changed, even within one tick."""
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + int(seconds * 1e9)))
