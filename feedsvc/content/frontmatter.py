"""Split a post file into its YAML front matter and Markdown body, safely."""

from __future__ import annotations

from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from .errors import ContentError

# The C loader is ~10x faster; both are "safe" (no arbitrary objects).
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_Base):  # type: ignore[misc]
    """Safe YAML loader that keeps dates as strings and only true/false as booleans.

    Dates are parsed by the schema (so a date alone can mean midnight in the site
    timezone), and YAML 1.1's yes/no/on/off booleans would turn ``lang: no`` into False.
    """


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    StrictLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        [_first],
    )

_HANDLER = YAMLHandler()
#: Front matter larger than this is refused (a YAML alias bomb cannot hide in 64 KiB).
MAX_FRONT_MATTER = 64 * 1024


def load_yaml(text: str) -> Any:
    """Parse YAML text with the strict safe loader; raises ContentError('yaml', ...)."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError("yaml", f"invalid YAML{where}: {problem}") from None


def split(text: str) -> tuple[dict[str, Any], str]:
    """Return (front matter mapping, Markdown body) of a post's text."""
    if not text.strip():
        raise ContentError("file", "file is empty")
    text = text.lstrip("\ufeff")
    if not _HANDLER.detect(text):
        raise ContentError("front matter", "file must start with a '---' line opening YAML front matter")
    try:
        fm, body = _HANDLER.split(text)
    except ValueError:
        raise ContentError("front matter", "front matter is not closed by a '---' line") from None
    if len(fm) > MAX_FRONT_MATTER:
        raise ContentError("front matter", f"front matter is larger than {MAX_FRONT_MATTER} bytes")
    data = load_yaml(fm)
    if data is None:
        raise ContentError("front matter", "front matter is empty (title, date and categories are required)")
    if not isinstance(data, dict):
        raise ContentError("front matter", f"front matter must be a mapping of fields, not a {type(data).__name__}")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise ContentError("front matter", f"field names must be text, got {bad_keys[0]!r}")
    return data, body


def join(data: dict[str, Any], body: str) -> str:
    """A post's text from a front matter mapping and a Markdown body (the inverse of ``split``)."""
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body
