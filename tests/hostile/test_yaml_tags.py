"""A value its explicit YAML tag cannot read (``title: !!int``) is that file's problem, never the whole load's.

PyYAML's safe constructors take a tagged scalar as it comes: ``!!int`` with no digits raised
IndexError out of the parser, through the first load, and the app never started. Each case
goes through the real interfaces: ``flask content check`` (exit 1, ``file: field: message``)
and the app (the good post served, /healthz naming the file), in front matter and site.yaml.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_content_bounds import check, healthz

HEAD = "---\ndate: 2021-04-01\ncategories: [statements]\n"
#: Tagged values PyYAML's constructors fail on with something other than a YAML error.
BAD_TAGGED = {
    "int-empty": "title: !!int\n",
    "int-sign": "title: !!int '-'\n",
    "float-empty": "title: !!float\n",
    "float-word": "title: !!float abc\n",
    "timestamp-word": "title: !!timestamp soon\n",
    "timestamp-month": "title: !!timestamp 2021-13-45\n",
    "binary-text": "title: !!binary 'not base64 @@'\n",
    "int-in-list": "title: Listed\ntags: [a, !!int , b]\n",
    "float-in-event": "title: Event\nevent:\n  start: !!float\n",
}


@pytest.fixture
def tree(site: Any) -> Any:
    site.post("good", title="Good post")
    return site


def test_content_check_names_each_file_and_exits_1(tree: Any) -> None:
    for name, fm in BAD_TAGGED.items():
        tree.raw(f"{name}.md", HEAD + fm + "---\nBody.\n")
    code, lines, out = check(tree.root)
    assert code == 1, out
    assert "Traceback" not in out
    for name in BAD_TAGGED:
        message = lines[f"posts/{name}.md"]
        assert message.startswith(("front matter: ", "yaml: ")), message
    assert "posts/good.md" not in lines
    assert lines["posts/int-empty.md"].startswith("front matter: !!int value '' cannot be read"), out
    assert lines["posts/int-empty.md"].endswith("(line 4)"), out


def test_the_app_serves_the_good_post_and_reports_the_bad_ones(tree: Any, client: Any) -> None:
    for name, fm in BAD_TAGGED.items():
        tree.raw(f"{name}.md", HEAD + fm + "---\nBody.\n")
    response = client.get("/api/v1/posts")
    assert response.status_code == 200
    assert [p["slug"] for p in response.get_json()["items"]] == ["good"]
    problems = healthz(client)
    assert set(problems) >= {f"posts/{name}.md" for name in BAD_TAGGED}


def test_a_bad_tag_in_site_yaml_is_a_site_problem(tree: Any) -> None:
    (tree.root / "site.yaml").write_text((tree.root / "site.yaml").read_text() + "extra: !!int\n")
    code, _, out = check(tree.root)
    assert code == 1 and "Traceback" not in out, out
    assert "site.yaml" in out and "cannot be read" in out, out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tag=st.sampled_from(
        [
            "int",
            "float",
            "bool",
            "null",
            "str",
            "timestamp",
            "binary",
            "set",
            "omap",
            "pairs",
            "seq",
            "map",
            "merge",
            "value",
            "yaml",
        ]
    ),
    value=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)
def test_any_tagged_value_is_a_value_or_a_named_problem(tree: Any, tag: str, value: str) -> None:
    from feedsvc.content.errors import ContentError
    from feedsvc.content.frontmatter import load_yaml

    text = f"title: !!{tag} {value!r}\n"
    try:
        load_yaml(text)
    except ContentError as exc:
        assert exc.field in ("front matter", "yaml") and exc.message
