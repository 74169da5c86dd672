"""The loader: valid posts, defaults, and every kind of broken file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from feedsvc.content import Loader, SiteError, load_index


def problems_by_path(index):
    return {p.path: p for p in index.problems}


def test_defaults_from_site_and_file_name(site):
    site.post(
        "2021/2021-04-16-cnd-statement",
        "First *para*.\n\nSecond.",
        title="CND",
        date="2021-04-16",
        tags=["Harm Reduction", "Décriminalisation", "наркополитика"],
    )
    idx = load_index(site.root)
    [post] = idx.posts
    assert post.slug == "cnd-statement"
    assert post.id == "tag:example.org,2021:2021-04-16:cnd-statement"
    assert post.lang == "en"
    assert post.author.name == "Test Network"
    assert post.summary == "First para."
    assert post.updated == post.date
    assert [t.slug for t in post.tags] == ["harm-reduction", "decriminalisation", "наркополитика"]
    assert [t.label for t in post.tags] == ["Harm Reduction", "Décriminalisation", "наркополитика"]
    assert idx.problems == ()


def test_date_alone_is_midnight_in_site_timezone(site):
    site.post("a", date="2021-07-01")  # London is on BST (+01:00) in July
    site.post("b", date="2021-01-15")
    idx = load_index(site.root)
    a, b = idx.get("a"), idx.get("b")
    assert a.date == datetime(2021, 7, 1, tzinfo=ZoneInfo("Europe/London"))
    assert a.date.utcoffset() == timedelta(hours=1)
    assert b.date.utcoffset() == timedelta(0)
    assert a.date.astimezone(UTC) == datetime(2021, 6, 30, 23, 0, tzinfo=UTC)


def test_datetimes_keep_offsets_and_naive_ones_use_site_zone(site):
    site.post("a", date="2021-04-12T14:00:00+02:00", updated="2021-04-13T08:00:00Z")
    site.post("b", date="2021-04-12T14:00:00")
    idx = load_index(site.root)
    assert idx.get("a").date.utcoffset() == timedelta(hours=2)
    assert idx.get("a").updated == datetime(2021, 4, 13, 8, tzinfo=UTC)
    assert idx.get("b").date.tzinfo == ZoneInfo("Europe/London")
    for p in idx.posts:
        assert p.date.tzinfo is not None and p.updated.tzinfo is not None


def test_order_newest_first_ties_by_slug(site):
    site.post("zeta", date="2021-03-01")
    site.post("alpha", date="2021-03-01")
    site.post("newer", date="2021-03-01T00:00:01Z")
    site.post("older", date="2020-12-31")
    # Same instant written in two offsets: a tie broken by slug.
    site.post("mid-b", date="2021-02-01T12:00:00+01:00")
    site.post("mid-a", date="2021-02-01T11:00:00Z")
    assert [p.slug for p in load_index(site.root).posts] == ["newer", "alpha", "zeta", "mid-a", "mid-b", "older"]


def test_full_front_matter(site):
    site.post(
        "event",
        "Body with [a link](/about) and ![img](pics/a.png).",
        title="Side event",
        date="2021-03-25",
        updated="2021-03-26",
        slug="side-event",
        categories=["events", "statements"],
        tags=["CND", "cnd"],
        summary="Short.",
        author={"name": "Ann", "email": "ann@example.org", "uri": "https://ann.example"},
        lang="fr",
        image="/img/x.png",
        id="urn:uuid:0b3f0d2e-7f5e-4c3a-9d3e-000000000001",
        aliases=["old-event"],
        attachments=[{"url": "/files/r.pdf", "mime_type": "application/pdf", "size_in_bytes": 1234, "title": "Report"}],
        event={
            "start": "2021-04-12T14:00:00+02:00",
            "end": "2021-04-12T15:30:00+02:00",
            "location": "Online",
            "url": "https://example.org/register",
            "timezone": "Europe/Vienna",
        },
    )
    idx = load_index(site.root)
    p = idx.get("side-event")
    assert p.id == "urn:uuid:0b3f0d2e-7f5e-4c3a-9d3e-000000000001"
    assert p.categories == ("events", "statements")
    assert [t.slug for t in p.tags] == ["cnd"]  # same slug: one tag
    assert p.author.email == "ann@example.org" and p.lang == "fr" and p.summary == "Short."
    assert p.image == "https://news.example.org/img/x.png"
    assert p.attachments[0].url == "https://news.example.org/files/r.pdf"
    assert p.attachments[0].size_in_bytes == 1234
    assert p.event.start == datetime(2021, 4, 12, 12, tzinfo=UTC)
    assert p.event.timezone == "Europe/Vienna"
    assert 'href="https://news.example.org/about"' in p.content_html
    assert 'src="https://news.example.org/pics/a.png"' in p.content_html
    assert idx.alias_target("old-event") == "side-event"


def test_drafts_are_published_nowhere(site):
    site.post("draft", draft=True)
    site.post("live")
    idx = load_index(site.root)
    assert [p.slug for p in idx.posts] == ["live"]
    assert idx.problems == ()


BROKEN = {
    "missing-title": ("---\ndate: 2021-01-01\ncategories: [statements]\n---\nx", "title"),
    "empty-title": ("---\ntitle: ''\ndate: 2021-01-01\ncategories: [statements]\n---\nx", "title"),
    "blank-title": ("---\ntitle: '   '\ndate: 2021-01-01\ncategories: [statements]\n---\nx", "title"),
    "control-char-title": ('---\ntitle: "\\x01\\x02"\ndate: 2021-01-01\ncategories: [statements]\n---\nx', "title"),
    "blank-tag": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\ntags: [' ']\n---\nx", "tags.0"),
    "missing-date": ("---\ntitle: t\ncategories: [statements]\n---\nx", "date"),
    "bad-date": ("---\ntitle: t\ndate: 2021-13-45\ncategories: [statements]\n---\nx", "date"),
    "date-not-text": ("---\ntitle: t\ndate: 20210101\ncategories: [statements]\n---\nx", "date"),
    "missing-categories": ("---\ntitle: t\ndate: 2021-01-01\n---\nx", "categories"),
    "empty-categories": ("---\ntitle: t\ndate: 2021-01-01\ncategories: []\n---\nx", "categories"),
    "unknown-category": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [nope]\n---\nx", "categories"),
    "categories-not-list": ("---\ntitle: t\ndate: 2021-01-01\ncategories: statements\n---\nx", "categories"),
    "unknown-field": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\ndraf: true\n---\nx", "draf"),
    "bad-slug": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\nslug: ../etc\n---\nx", "slug"),
    "bad-lang": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\nlang: 'english!'\n---\nx", "lang"),
    "updated-before-date": ("---\ntitle: t\ndate: 2021-01-02\nupdated: 2021-01-01\ncategories: [statements]\n---\nx", "updated"),
    "bad-event": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [events]\nevent: {end: 2021-01-01}\n---\nx", "event.start"),
    "bad-event-zone": (
        "---\ntitle: t\ndate: 2021-01-01\ncategories: [events]\nevent: {start: 2021-01-01, timezone: Mars/Base}\n---\nx",
        "event.timezone",
    ),
    "bad-attachment": (
        "---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\nattachments: [{url: /a.pdf, mime_type: pdf}]\n---\nx",
        "attachments.0.mime_type",
    ),
    "negative-size": (
        "---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\n"
        "attachments: [{url: /a.pdf, mime_type: application/pdf, size_in_bytes: -1}]\n---\nx",
        "attachments.0.size_in_bytes",
    ),
    "draft-not-bool": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\ndraft: yes\n---\nx", "draft"),
    "invalid-yaml": ("---\ntitle: [unclosed\ndate: 2021-01-01\n---\nx", "yaml"),
    "yaml-tabs": ("---\ntitle: t\n\tdate: 2021-01-01\n---\nx", "yaml"),
    "python-object": (
        "---\ntitle: !!python/object/apply:os.system ['echo pwned']\ndate: 2021-01-01\ncategories: [statements]\n---\nx",
        "yaml",
    ),
    "not-a-mapping": ("---\n- title\n- date\n---\nx", "front matter"),
    "scalar-front-matter": ("---\njust text\n---\nx", "front matter"),
    "no-front-matter": ("# Just markdown\n\nNo front matter.", "front matter"),
    "unclosed-front-matter": ("---\ntitle: t\ndate: 2021-01-01\n", "front matter"),
    "empty-front-matter": ("---\n---\nbody", "front matter"),
    "empty": ("", "file"),
    "whitespace-only": ("  \n\n \t\n", "file"),
    "non-string-key": ("---\n1: t\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\n---\nx", "front matter"),
    "tag-without-letters": ("---\ntitle: t\ndate: 2021-01-01\ncategories: [statements]\ntags: ['!!!']\n---\nx", "tags"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_is_skipped_with_field_and_message(site, name, caplog):
    text, field = BROKEN[name]
    site.raw(f"{name}.md", text)
    site.post("good")
    idx = load_index(site.root)
    assert [p.slug for p in idx.posts] == ["good"]
    [problem] = idx.problems
    assert problem.path == f"posts/{name}.md"
    assert problem.field == field
    assert problem.message
    assert str(problem).startswith(f"posts/{name}.md: {field}: ")
    assert any(f"posts/{name}.md: {field}:" in r.getMessage() for r in caplog.records)


def test_non_utf8_bytes(site):
    site.raw("latin1.md", "---\ntitle: caf\xe9\ndate: 2021-01-01\ncategories: [statements]\n---\n".encode("latin-1"))
    site.raw("nul.md", b"---\ntitle: t\x00\ndate: 2021-01-01\ncategories: [statements]\n---\n")
    site.post("good")
    idx = load_index(site.root)
    probs = problems_by_path(idx)
    assert probs["posts/latin1.md"].field == "file" and "UTF-8" in probs["posts/latin1.md"].message
    assert probs["posts/nul.md"].field == "file"
    assert [p.slug for p in idx.posts] == ["good"]


def test_duplicate_slug_keeps_the_first_path(site):
    site.post("a/same", title="First")
    site.post("b/same", title="Second")
    site.post("c", slug="same", title="Third")
    idx = load_index(site.root)
    assert [p.title for p in idx.posts] == ["First"]
    assert {(p.path, p.field) for p in idx.problems} == {("posts/b/same.md", "slug"), ("posts/c.md", "slug")}
    assert "posts/a/same.md" in problems_by_path(idx)["posts/c.md"].message


def test_symlink_outside_content_dir_is_refused(site, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: secret\ndate: 2021-01-01\ncategories: [statements]\n---\nSECRET\n")
    os.symlink(secret, site.root / "posts" / "leak.md")
    outside_dir = tmp_path / "elsewhere"
    outside_dir.mkdir()
    (outside_dir / "x.md").write_text(secret.read_text())
    os.symlink(outside_dir, site.root / "posts" / "linked-dir")
    inside = site.post("real")
    os.symlink(inside, site.root / "posts" / "inside-link.md")
    idx = load_index(site.root)
    probs = problems_by_path(idx)
    assert probs["posts/leak.md"].message == "symlink leads outside the content directory"
    assert "posts/linked-dir" in probs
    assert all("SECRET" not in p.content_html for p in idx.posts)
    # A link that stays inside the tree is an ordinary post (its slug from the link's name).
    assert [p.slug for p in idx.posts] == ["inside-link", "real"]


def test_oversized_file_is_reported_not_parsed(site):
    site.post("huge", "x" * 2000)
    site.post("good")
    idx = Loader(site.root, max_post_bytes=1000).load()
    assert problems_by_path(idx)["posts/huge.md"].field == "file"
    assert [p.slug for p in idx.posts] == ["good"]


def test_non_markdown_and_hidden_files_are_ignored(site):
    site.raw("notes.txt", "not a post")
    site.raw(".hidden.md", "garbage")
    site.raw("image.png", b"\x89PNG\r\n")
    site.post("good")
    idx = load_index(site.root)
    assert [p.slug for p in idx.posts] == ["good"] and idx.problems == ()


@pytest.mark.parametrize(
    "override,field",
    [
        ({"base_url": "not a url"}, "base_url"),
        ({"id_authority": "example.org"}, "id_authority"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"categories": {}}, "categories"),
        ({"categories": {"Bad Slug": {"title": "x"}}}, "categories"),
        ({"permalink": "https://example.org/news/"}, "permalink"),
        ({"permalink": "https://example.org/{slug}/{nope}"}, "permalink"),
        ({"redirects": {"//evil.example": "/x"}}, "redirects"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_site_yaml_names_the_field(site, override, field):
    site.write_site(**override)
    with pytest.raises(SiteError) as exc:
        load_index(site.root)
    assert any(p.path == "site.yaml" and p.field.startswith(field) for p in exc.value.problems), exc.value.problems


def test_missing_posts_dir_is_an_empty_site(site):
    (site.root / "posts").rmdir()
    idx = load_index(site.root)
    assert idx.posts == () and idx.problems == ()


def test_version_is_a_content_hash(site, tmp_path):
    site.post("a", "Body")
    v1 = load_index(site.root).version
    # Same bytes in another directory (another host) give the same version.
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(site.root, copy)
    assert load_index(copy).version == v1
    site.post("a", "Body changed")
    assert load_index(site.root).version != v1


def test_base_url_override_changes_links_not_ids(site):
    site.post("a", "[x](/about)")
    a = load_index(site.root).get("a")
    b = Loader(site.root, base_url="https://mirror.example.net/").load().get("a")
    assert a.id == b.id
    assert "https://mirror.example.net/about" in b.content_html
    assert b.image is None


def test_core_imports_no_flask():
    import subprocess
    import sys

    code = (
        "import sys, feedsvc.content, feedsvc.content.loader, feedsvc.content.index;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug', 'feedgen')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
