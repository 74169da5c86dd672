"""Split a post file into its YAML front matter and Markdown body, and parse YAML inside bounds.

Every YAML document (front matter, site.yaml) goes through ``load_yaml``: libyaml's C
parser reads the events, and a composer that counts as it goes builds the node tree, so
nesting depth, aliases and what aliases expand to are refused before anything is built
from them (libyaml's own composer recurses in C and crashes the process at about 25,000
nested ``[``: it is never used on a document that could nest that deep). Duplicate keys
are refused at every level.

A small document with no anchor or alias (most front matter) is first composed by
libyaml's composer, whose recursion its size bounds, and its tree then checked against the
same bounds; anything else, and any document that fails there, goes the counting way, so
both give the same value or the same error (a test compares them).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import ContentError

#: Front matter larger than this is refused.
MAX_FRONT_MATTER = 64 * 1024
#: Deepest nesting of sequences and mappings in a YAML document (front matter needs 3).
MAX_DEPTH = 32
#: Most aliases (``*name``) in one document.
MAX_ALIASES = 100
#: Most nodes a document may stand for once every alias is expanded (a YAML "billion
#: laughs" is a few hundred bytes): far above any real front matter or site.yaml.
MAX_NODES = 100_000
#: Largest document (characters) libyaml's own composer may build, when it has no '&' or '*'
#: (no anchor, no alias): it nests at most this deep, far from where its C recursion fails.
FAST_MAX_CHARS = 4096

# libyaml's parser (C, iterative) when present, the pure-Python one otherwise; either way
# the node tree is built by the counting composer below, never by libyaml's composer.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


class _Bound(yaml.YAMLError):
    """A document outside the bounds: the message, and where (a yaml Mark) when known."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _CountingComposer(Composer):
    """PyYAML's composer, refusing documents that nest, alias or expand beyond the bounds."""

    peek_event: Callable[[], Any]  # the parser's (libyaml's or PyYAML's)

    def _reset_bounds(self, max_nodes: int) -> None:
        self._max_nodes = max_nodes
        self._depth = 0
        self._aliases = 0
        self._nodes = 0
        self._weights: dict[str, int] = {}

    def _count(self, n: int, mark: Any) -> None:
        self._nodes += n
        if self._nodes > self._max_nodes:
            raise _Bound(f"aliases expand to more than {self._max_nodes} values", mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, counting depth, aliases and expanded size (PyYAML's hook)."""
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _Bound(f"more than {MAX_ALIASES} aliases", event.start_mark)
            node = super().compose_node(parent, index)
            self._count(self._weights.get(str(event.anchor), 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Bound(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        before = self._nodes
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if event.anchor is not None:
            self._weights[str(event.anchor)] = self._nodes - before
        return node


class _StrictConstructor(SafeConstructor):
    """Safe construction that refuses a key given twice in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Construct a mapping; a duplicate key raises (PyYAML would keep the last one)."""
        if not isinstance(node, MappingNode):  # a mapping tag on a scalar or a sequence: PyYAML names it
            return super().construct_mapping(node, deep=deep)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                continue  # non-text keys are refused by the caller; merges may override
            key = self.construct_object(key_node)
            try:
                if key in seen:
                    raise _Bound(f"duplicate field {_short(key)}", key_node.start_mark)
                seen.add(key)
            except TypeError:
                continue
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Construct one node; a value its explicit tag cannot read (``!!int`` alone) is a YAML error at that node.

        PyYAML's constructors take a tagged scalar as it comes: ``!!int`` with no digits raises
        IndexError, ``!!float x`` ValueError, a bad ``!!timestamp`` ValueError or TypeError.
        """
        try:
            return super().construct_object(node, deep=deep)
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            value = f" {_short(node.value)}" if isinstance(node, ScalarNode) else ""
            raise _Bound(f"{tag} value{value} cannot be read ({type(exc).__name__})", node.start_mark) from None


class StrictLoader(_CountingComposer, _StrictConstructor, _Base):  # type: ignore[misc]
    """Bounded safe loader: libyaml's parser, the counting composer, strict construction.

    Dates stay strings (the schema reads them, so a date alone can mean midnight in the
    site timezone) and only true/false are booleans (YAML 1.1's yes/no/on/off would turn
    ``lang: no`` into False).
    """

    def __init__(self, stream: str, max_nodes: int = MAX_NODES) -> None:
        _Base.__init__(self, stream)
        _CountingComposer.__init__(self)
        self._reset_bounds(max_nodes)


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), [_first])

_HANDLER = YAMLHandler()


class _FastLoader(_StrictConstructor, _Base):  # type: ignore[misc]
    """libyaml's parser and composer (when present), the same resolvers and strict construction."""

    def __init__(self, stream: str) -> None:
        _Base.__init__(self, stream)


_FastLoader.yaml_implicit_resolvers = StrictLoader.yaml_implicit_resolvers
#: The fast way needs libyaml's composer (CParser); PyYAML without libyaml always counts.
_HAS_FAST = _Base is not yaml.SafeLoader


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
#: Scalars the plain build has the constructor make (whole, at once: no generator left to run later).
_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float"))


class _Unsure(Exception):
    """A tree the plain build does not vouch for: the counting way takes the document."""


def _plain_value(loader: _FastLoader, root: Node, max_nodes: int) -> Any:
    """The value of a composed tree (no aliases), as the strict constructor builds it.

    Text, lists and mappings are built here (PyYAML's per-node dispatch, and the walk that
    checked the bounds before it, were most of the time a post's front matter took); nulls,
    booleans and numbers by the loader's own constructor. Anything else (another tag, a
    collection tag on a scalar, a merge key, a key given twice, a key that is not a scalar),
    and a tree deeper than MAX_DEPTH or of more than ``max_nodes`` nodes (counted as the
    counting composer counts: every key and value), raises _Unsure.
    """
    nodes = 0

    def build(node: Node, depth: int) -> Any:
        nonlocal nodes
        nodes += 1
        if depth > MAX_DEPTH or nodes > max_nodes:
            raise _Unsure
        kind, tag = type(node), node.tag
        if kind is ScalarNode:
            if tag == _STR:
                return node.value
            if tag in _SCALARS:
                return loader.construct_object(node)
            raise _Unsure
        if kind is SequenceNode and tag == _SEQ:
            return [build(child, depth + 1) for child in node.value]
        if kind is not MappingNode or tag != _MAP:
            raise _Unsure
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode or key_node.tag == _MERGE:
                raise _Unsure
            key = build(key_node, depth + 1)
            if key in mapping:
                raise _Unsure
            mapping[key] = build(value_node, depth + 1)
        return mapping

    return build(root, 1)


def _fast_load(text: str, max_nodes: int) -> tuple[bool, Any]:
    """(True, data) when libyaml's composer may take ``text`` and it loads within the bounds, else (False, None)."""
    if not _HAS_FAST or len(text) > FAST_MAX_CHARS or "&" in text or "*" in text:
        return False, None
    loader = _FastLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return True, None
        return True, _plain_value(loader, node, max_nodes)
    except Exception:  # the counting way reports every error, as it always did
        return False, None
    finally:
        loader.dispose()


def _short(value: object, limit: int = 60) -> str:
    """repr of a value for a message, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def load_yaml(text: str, field: str = "front matter", max_bytes: int = MAX_FRONT_MATTER, max_nodes: int = MAX_NODES) -> Any:
    """Parse YAML text inside the bounds with the strict safe loader.

    :raises ContentError: ``field`` for a document too large, too deep, with too many
        aliases or a duplicate key; ``yaml`` for invalid YAML.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ContentError(field, f"is {size} bytes; the limit is {max_bytes}")
    done, data = _fast_load(text, max_nodes)
    if done:
        return data
    return _counted_load(text, field, max_nodes)


def _counted_load(text: str, field: str, max_nodes: int) -> Any:
    """``load_yaml`` by the counting composer (every document may go this way; the reference for the fast one)."""
    loader = StrictLoader(text, max_nodes)
    try:
        return loader.get_single_data()
    except _Bound as exc:
        where = f" (line {exc.mark.line + 1})" if exc.mark is not None else ""
        raise ContentError(field, f"{exc.message}{where}") from None
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
        # What construct_object does not see: the deferred parts of collections (construct_document).
        raise ContentError("yaml", f"a tagged value cannot be read ({type(exc).__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContentError("yaml", f"invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


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
    data = load_yaml(fm)
    if data is None:
        raise ContentError("front matter", "front matter is empty (title, date and categories are required)")
    if not isinstance(data, dict):
        raise ContentError("front matter", f"front matter must be a mapping of fields, not a {type(data).__name__}")
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        raise ContentError("front matter", f"field names must be text, got {_short(bad_keys[0])}")
    return data, body


def join(data: dict[str, Any], body: str) -> str:
    """A post's text from a front matter mapping and a Markdown body (the inverse of ``split``)."""
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n" + body
