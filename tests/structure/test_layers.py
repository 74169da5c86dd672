"""The import graph runs one way: no circles, the core imports nothing above it, the views never import each other."""

from __future__ import annotations

import pytest

from tests.structure.graph import cycles, imports, modules

#: Deferred imports allowed to run up: the content preview and the export build a second app with the factory.
UPWARD_CALLS = {("feedsvc.preview", "feedsvc"), ("feedsvc.export.exporter", "feedsvc")}
#: Circles through deferred imports not broken yet (none: keep it so).
KNOWN: list[list[str]] = []
#: The reading layers (STYLE.md rule 2): each may use content/, urls, representation, the
#: response layer, never another of them. Shared code moves down instead.
VIEWS = {
    "feeds": ("feedsvc.feeds",),
    "api": ("feedsvc.api",),
    "discover": ("feedsvc.discover",),
    "web": ("feedsvc.web", "feedsvc.pages", "feedsvc.assets"),
}
#: Modules that import no other feedsvc module, so that every layer may use them. (metrics.py
#: asks config.py, the one reader of the environment, for its directory: below every layer that counts.)
LEAVES = ("feedsvc.formats", "feedsvc.representation", "feedsvc.version", "feedsvc.canonical_json")


def _layer(module: str) -> str | None:
    for name, roots in VIEWS.items():
        if any(module == r or module.startswith(r + ".") for r in roots):
            return name
    return None


def test_the_graph_sees_every_module() -> None:
    graph = imports()
    assert {"feedsvc", "feedsvc.content.index", "feedsvc.feeds.atom", "feedsvc.api.openapi"} <= graph.keys()
    assert graph.keys() == modules().keys()


def test_no_import_time_circle() -> None:
    assert cycles(imports(top_level_only=True)) == []


def test_no_circle_through_deferred_imports() -> None:
    graph = {m: {t for t in targets if (m, t) not in UPWARD_CALLS} for m, targets in imports().items()}
    assert [c for c in cycles(graph) if c not in KNOWN] == []


def test_content_imports_nothing_above_it() -> None:
    up = {
        (m, t)
        for m, targets in imports().items()
        if m.startswith("feedsvc.content")
        for t in targets
        if not t.startswith("feedsvc.content")
    }
    assert up == set()


@pytest.mark.parametrize("layer", sorted(VIEWS))
def test_views_never_import_each_other(layer: str) -> None:
    crossing = {
        (m, t) for m, targets in imports().items() if _layer(m) == layer for t in targets if _layer(t) not in (None, layer)
    }
    assert crossing == set()


@pytest.mark.parametrize("leaf", LEAVES)
def test_leaves_import_no_feedsvc_module(leaf: str) -> None:
    assert imports()[leaf] == set()


def test_the_check_catches_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
