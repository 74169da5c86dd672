"""Post bodies in a memory-mapped store: values read back exactly, in forks too, through the loader."""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import feedsvc.content.bodies as bodies_mod
from feedsvc.content import Loader
from feedsvc.content.bodies import Body, BodyStore
from feedsvc.content.markdown import html_to_text, render


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=40), st.sampled_from([1, 64, 1 << 20]))
def test_what_is_put_is_read_back(values, chunk):
    old, bodies_mod._WRITE_CHUNK = bodies_mod._WRITE_CHUNK, chunk  # flushes at every size
    try:
        store = BodyStore()
        refs = []
        for i, v in enumerate(values):
            refs.append(store.put(v))
            if i % 3 == 0:  # reads between writes: remaps while pending bytes exist
                assert bytes(refs[i // 2]) == values[i // 2]
        assert [bytes(r) for r in refs] == values
        assert [len(r) for r in refs] == [len(v) for v in values]
        assert store.size == sum(map(len, values))
        store.close()
    finally:
        bodies_mod._WRITE_CHUNK = old


def test_a_body_is_its_bytes():
    a, b = BodyStore(), BodyStore()
    x, y, z = a.put(b"same"), b.put(b"same"), a.put(b"other")
    assert x == y == b"same" and x != z and not (x == b"samf")
    assert hash(x) == hash(y) == hash(b"same")
    assert pickle.loads(pickle.dumps(x)) == b"same"
    assert type(pickle.loads(pickle.dumps(x))) is bytes  # a parse cache holds plain bytes
    assert not a.put(b"") and bytes(a.put(b"")) == b""


def _child_reads(store: BodyStore, refs: list[Body], expected: list[bytes], q) -> None:
    store.flush()  # a child flushing its copy of the pending bytes must change nothing
    q.put([bytes(r) for r in refs] == expected)


def test_forked_children_read_what_the_parent_wrote():
    store = BodyStore()
    values = [bytes([i % 251]) * (i * 37 % 5000) for i in range(300)]
    refs = [store.put(v) for v in values]  # some still pending at fork time
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    child = ctx.Process(target=_child_reads, args=(store, refs, values, q))
    child.start()
    assert q.get(timeout=30) is True
    child.join(30)
    more = [store.put(b"after fork %d" % i) for i in range(50)]
    assert [bytes(r) for r in refs + more] == values + [b"after fork %d" % i for i in range(50)]


def test_loader_keeps_bodies_in_its_store_and_in_the_parse_cache(site, tmp_path):
    for i in range(5):
        site.post(f"p{i}", f"# Part {i}\n\nText **{i}** " + "word " * (200 * i))
    cache = tmp_path / "cache"
    first = Loader(site.root, parse_cache_dir=cache).load()
    assert all(isinstance(p.html_z, Body) and isinstance(p.text_z, Body) for p in first.posts)
    for p in first.posts:
        assert p.content_text == html_to_text(p.content_html)  # stored text = derived text
        assert p.content_text == dataclasses.replace(p, text_z=b"").content_text
        md = (site.root / p.source).read_text().split("---\n", 2)[2]
        assert p.content_html == render(md, first.site.base_url)
        assert zlib.decompress(bytes(p.html_z)).decode() == p.content_html
    second = Loader(site.root, parse_cache_dir=cache).load()  # every post from the cache
    assert all(isinstance(p.html_z, Body) for p in second.posts)
    assert [(p.slug, p.content_html, p.content_text) for p in second.posts] == \
        [(p.slug, p.content_html, p.content_text) for p in first.posts]
    assert second.posts == first.posts  # posts compare by value, bodies included


def test_parse_cache_keeps_bodies_in_a_side_file(site, tmp_path, monkeypatch):
    marker = "unmistakable-body-marker " * 200
    for i in range(4):
        site.post(f"p{i}", f"{marker} {i}")
    cache = tmp_path / "cache"
    loader = Loader(site.root, parse_cache_dir=cache)
    first = loader.load()
    [side] = cache.glob("parse-cache-*.bodies")
    pickled = (cache / "parse-cache.pickle").read_bytes()
    assert all(bytes(p.html_z) not in pickled for p in first.posts)  # no body in the pickle
    assert all(bytes(p.html_z) in side.read_bytes() for p in first.posts)
    # A rewrite names a new side file and removes the old one.
    import feedsvc.content.loader as loader_mod
    monkeypatch.setattr(loader_mod, "CACHE_REWRITE_INTERVAL", 0.0)
    site.touch_later(site.post("p1", "changed body"))
    third = loader.load()
    [side2] = cache.glob("parse-cache-*.bodies")
    assert side2 != side and not side.exists()
    again = Loader(site.root, parse_cache_dir=cache).load()
    assert [(p.slug, p.content_html) for p in again.posts] == [(p.slug, p.content_html) for p in third.posts]
    # Without its side file the cache is unusable, never wrong: everything is parsed again.
    side2.unlink()
    parsed = []
    real = loader_mod.parse_post
    monkeypatch.setattr(loader_mod, "parse_post", lambda raw, src, *a, **k: parsed.append(src) or real(raw, src, *a, **k))
    fresh = Loader(site.root, parse_cache_dir=cache).load()
    assert len(parsed) == 4
    assert [(p.slug, p.content_html) for p in fresh.posts] == [(p.slug, p.content_html) for p in third.posts]


def test_no_writable_temporary_directory_means_bodies_in_memory(site, monkeypatch, caplog):
    def refuse(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bodies_mod.tempfile, "TemporaryFile", refuse)
    site.post("a", "Body **text** " * 300)
    index = Loader(site.root).load()
    assert "bold" not in index.get("a").content_html and "<strong>text</strong>" in index.get("a").content_html
    assert "post bodies kept in memory" in caplog.text


def test_put_file_copies_by_hand_where_the_kernel_cannot(tmp_path, monkeypatch):
    import errno
    import os

    src = tmp_path / "side"
    src.write_bytes(bytes(range(256)) * 9000)  # > 1 MB: several buffered rounds

    def refuse(code):
        def copy_file_range(*_a):
            raise OSError(code, os.strerror(code))
        return copy_file_range

    store = BodyStore()
    store.put(b"before")
    monkeypatch.setattr(os, "copy_file_range", refuse(errno.EXDEV), raising=False)
    base = store.put_file(src)
    assert base == 6 and store.read(base, src.stat().st_size) == src.read_bytes()
    monkeypatch.setattr(os, "copy_file_range", refuse(errno.EIO), raising=False)
    with pytest.raises(OSError):  # a real I/O error is not papered over
        store.put_file(src)
