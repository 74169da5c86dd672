"""README.md and docs/*.md: every relative link names an existing file (and heading); configuration.md names every setting."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cmarkgfm
import lxml.html
import pytest

from feedsvc.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def html(path: Path) -> lxml.html.HtmlElement:
    """The document as GitHub renders it (GitHub Flavored Markdown: tables included)."""
    return lxml.html.document_fromstring(cmarkgfm.github_flavored_markdown_to_html(path.read_text()))


def anchors(path: Path) -> set[str]:
    """The heading anchors GitHub makes: lowercase, punctuation dropped, spaces to '-', repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for heading in html(path).xpath("//h1|//h2|//h3|//h4|//h5|//h6"):
        slug = re.sub(r"[^\w\- ]", "", heading.text_content().strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path: Path) -> list[str]:
    """Relative links and images of ``path`` whose file (or heading anchor) does not exist."""
    broken = []
    for target in html(path).xpath("//a/@href|//img/@src"):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue
        dest = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not dest.exists():
            broken.append(target)
        elif parts.fragment and dest.suffix == ".md" and parts.fragment not in anchors(dest):
            broken.append(target)
    return broken


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_resolve(doc: Path) -> None:
    assert broken_links(doc) == []


def test_the_readme_links_every_doc() -> None:
    linked = {urlsplit(t).path for t in html(ROOT / "README.md").xpath("//a/@href")}
    assert {f"docs/{p.name}" for p in DOCS[1:]} <= linked


def test_a_broken_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Behind nginx: `deploy/x.conf`\n")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[a](other.md#behind-nginx-deployxconf) [b](other.md#nope) [c](gone.md) [d](#here)\n"
        "[e](https://example.org/x) ![f](missing.png)\n\n# Here\n"
    )
    assert broken_links(doc) == ["other.md#nope", "gone.md", "missing.png"]


def test_configuration_documents_every_setting() -> None:
    # One row per FEEDSVC_* setting config.py knows, and no row for one it does not.
    rows = re.findall(r"^\| `FEEDSVC_([A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md").read_text(), re.M)
    assert sorted(rows) == sorted(DEFAULTS)
