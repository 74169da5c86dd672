"""site.yaml: read and validate the publication's settings."""

from __future__ import annotations

from pathlib import Path

from marshmallow import ValidationError

from . import markdown
from .errors import ContentError, FeedsvcError, bounded
from .frontmatter import MAX_NODES, load_yaml
from .model import Author, Category, Fediverse, Problem, Site
from .scan import read_regular
from .validate import SiteSchema, all_errors

SITE_FILE = "site.yaml"
#: Largest site.yaml accepted (bytes): room for tens of thousands of redirects.
MAX_SITE_BYTES = 1024 * 1024
_SITE_SCHEMA = SiteSchema()


class SiteError(FeedsvcError):
    """site.yaml is missing or invalid: nothing can be published without it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def load_site(path: Path, base_url: str | None = None) -> Site:
    """Read and validate site.yaml (``base_url`` overrides its own); raises SiteError."""
    name = path.name
    try:
        raw = read_regular(path, MAX_SITE_BYTES)
    except OSError as exc:
        raise SiteError([Problem(name, "file", f"cannot read: {exc.strerror or exc}")]) from None
    except ContentError as exc:
        raise SiteError([Problem(name, exc.field, exc.message)]) from None
    try:
        data = load_yaml(raw.decode("utf-8"), "site", MAX_SITE_BYTES, 2 * MAX_NODES)
    except UnicodeDecodeError as exc:
        raise SiteError([Problem(name, "file", f"not UTF-8 text (byte {exc.start})")]) from None
    except ContentError as exc:
        raise SiteError([Problem(name, exc.field, exc.message)]) from None
    if not isinstance(data, dict):
        raise SiteError([Problem(name, "site", "must be a mapping of fields")])
    try:
        d = _SITE_SCHEMA.load(data)
    except ValidationError as exc:
        raise SiteError([Problem(name, bounded(f, 100), bounded(m)) for f, m in all_errors(exc.messages)]) from None
    base = (base_url or d["base_url"]).rstrip("/")
    return Site(
        title=markdown.plain(d["title"]),
        subtitle=markdown.plain(d["subtitle"]),
        base_url=base,
        id_authority=d["id_authority"],
        language=d["language"],
        timezone=d["timezone"],
        author=Author(markdown.plain(d["author"]["name"]), d["author"]["email"], d["author"]["uri"]),
        icon=markdown.absolute_url(d["icon"], base) if d["icon"] else None,
        logo=markdown.absolute_url(d["logo"], base) if d["logo"] else None,
        rights=markdown.plain(d["rights"]) if d["rights"] else None,
        permalink=d["permalink"],
        categories=tuple(
            Category(slug, markdown.plain(c["title"]), markdown.plain(c["description"])) for slug, c in d["categories"].items()
        ),
        websub_hub=d["websub_hub"],
        twitter=d["twitter"].lstrip("@") if d["twitter"] else None,
        redirects=tuple(sorted(d["redirects"].items())),
        fediverse=Fediverse(**d["fediverse"]) if d["fediverse"] else None,
    )
