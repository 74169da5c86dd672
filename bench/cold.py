"""Cold paths at scale (issue 23): CPU per cache miss at 10k, 100k and 300k posts, one process per size.

    python bench/cold.py 10000 100000 300000   # corpora in bench/corpora/N (made by gen_corpus.py when
                                               # missing) and their databases N.cold.db, kept across runs
    python bench/cold.py measure               # one size, configured by FEEDSVC_* variables (run by the above)

COLD_DB names the database files (default ``{n}.cold.db``, in bench/corpora): to compare two
versions of feedsvc side by side, give each its own (a database of another schema is rebuilt).

Each figure is CPU time (``time.process_time``: the machine is shared) of one request through
Flask's test client with every cache off, each URL requested once:

- API pages filtered by category+tag+lang, by ``q``, by ``q``+category+lang (bench/inproc.py);
- a post looked up by slug, known and unknown, in the core (``Index.get``, then
  ``Index.alias_target`` for an unknown slug, as the routes do) and through ``/api/v1/posts/<slug>``;
- the 50-entry Atom feed of every category and tag with 50+ posts beside bare feedgen
  writing the same fields (``inproc.feedgen_same``: summary, categories, enclosures, links).

Results go to bench/out/cold.json and a table on stdout.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import inproc
from servers import OUT, PY, ROOT

CORPORA = Path(__file__).resolve().parent / "corpora"
#: Slugs looked up per kind (known, unknown).
LOOKUPS = 200


def _core_ms(fn: object, *args: object) -> float:
    c0 = time.process_time()
    fn(*args)  # type: ignore[operator]
    return (time.process_time() - c0) * 1000


def slug_costs(client: object, total: int) -> dict[str, object]:
    """CPU of slug lookups: known slugs taken from random API pages, unknown ones that no post or alias holds."""
    from feedsvc.extensions import current_index

    rng = random.Random(2)
    per_page = 100
    known: list[str] = []
    for page in rng.sample(range(1, max(2, total // per_page + 1)), min(LOOKUPS // 20, max(1, total // per_page))):
        items = json.loads(client.get(f"/api/v1/posts?per_page={per_page}&page={page}").data)  # type: ignore[attr-defined]
        known += rng.sample([p["slug"] for p in items["items"]], min(20, len(items["items"])))
    unknown = [f"no-such-post-{i}" for i in range(len(known))]
    with client.application.app_context():  # type: ignore[attr-defined]
        index = current_index()
        core_known = [_core_ms(index.get, s) for s in known]
        core_unknown = [_core_ms(lambda s: index.get(s) or index.alias_target(s), s) for s in unknown]
    http_known, http_unknown = [], []
    for slugs, out, want in ((known, http_known, 200), (unknown, http_unknown, 404)):
        for s in slugs:
            ms, status, _ = inproc._cpu(client, f"/api/v1/posts/{s}")
            if status != want:
                raise SystemExit(f"/api/v1/posts/{s}: {status}, expected {want}")
            out.append(ms)
    return {
        "slug_core_known": inproc._stats(core_known),
        "slug_core_unknown": inproc._stats(core_unknown),
        "slug_http_known": inproc._stats(http_known),
        "slug_http_unknown": inproc._stats(http_unknown),
    }


def cmd_measure() -> None:
    """Every figure for the configured corpus, as one JSON line."""
    client, info, cats, tags = inproc.open_app()
    out: dict[str, object] = dict(info)
    out.update(inproc.api_costs(client, cats, tags))
    out.update(slug_costs(client, int(str(info["posts"]))))
    scopes = [f"categories/{c['slug']}" for c in cats] + [f"tags/{t['slug']}" for t in tags]
    out.update(inproc.feed_costs(client, scopes, ("atom.xml",)))
    print(json.dumps(out, sort_keys=True))


def measure(n: int) -> dict[str, object]:
    """cmd_measure in a fresh process for the corpus of ``n`` posts (made first when missing)."""
    root = CORPORA / str(n)
    if not (root / "site.yaml").exists():
        subprocess.run([PY, str(Path(__file__).with_name("gen_corpus.py")), str(n), str(root)], check=True)
    database = CORPORA / os.environ.get("COLD_DB", "{n}.cold.db").format(n=n)
    env = {
        **os.environ,
        "FEEDSVC_CONTENT_DIR": str(root),
        "FEEDSVC_INDEX_PATH": str(database),
        "FEEDSVC_RELOAD_INTERVAL": "0",
        "FEEDSVC_CACHE_TYPE": "NullCache",
        "FEEDSVC_CACHE_LOCAL_BYTES": "0",
        "FEEDSVC_RENDER_BUDGET": "off",
    }
    res = subprocess.run([PY, __file__, "measure"], capture_output=True, text=True, cwd=ROOT, env=env)
    if res.returncode != 0:
        raise SystemExit(f"cold.py measure ({n}): {res.stderr[-3000:]}")
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


ROWS = [
    ("filtered API page (category+tag+lang)", "api_filters"),
    ("q page", "api_q"),
    ("q+category+lang page", "api_q_filters"),
    ("known slug, core", "slug_core_known"),
    ("unknown slug, core", "slug_core_unknown"),
    ("known slug, /api/v1/posts/<slug>", "slug_http_known"),
    ("unknown slug, /api/v1/posts/<slug> (404)", "slug_http_unknown"),
    ("Atom feed, 50 entries", "atom.xml"),
    ("bare feedgen, same fields", "feedgen_same"),
]


def table(results: dict[str, dict]) -> str:
    """Markdown table: median (p90) CPU ms per size, and the Atom / fair feedgen ratio."""
    sizes = list(results)
    lines = [
        "| CPU ms, median (p90) | " + " | ".join(f"{int(n):,} posts" for n in sizes) + " |",
        "| --- |" + " --- |" * len(sizes),
    ]
    for label, key in ROWS:
        cells = [f"{results[n][key]['median_ms']:.2f} ({results[n][key]['p90_ms']:.2f})" for n in sizes]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| Atom / bare feedgen, same fields (median of ratios) | "
        + " | ".join(f"{results[n]['atom_over_feedgen_same_median']:.2f}×" for n in sizes)
        + " |"
    )
    lines.append(
        "| Atom / bare feedgen, older yardstick (id, title, link, author, content) | "
        + " | ".join(f"{results[n]['atom_over_feedgen_median']:.2f}×" for n in sizes)
        + " |"
    )
    return "\n".join(lines)


def main() -> None:
    """Measure each size given, or one size for ``measure``."""
    if sys.argv[1:] == ["measure"]:
        cmd_measure()
        return
    sizes = [int(a) for a in sys.argv[1:]] or [10000, 100000, 300000]
    results: dict[str, dict] = {}
    for n in sizes:
        results[str(n)] = measure(n)
        print(f"{n}: done (opened in {results[str(n)]['open_cpu_s']:.1f} s CPU)", file=sys.stderr, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "cold.json").write_text(json.dumps(results, indent=1, sort_keys=True))
    print(table(results))
    print("\n" + json.dumps({n: {k: r[k] for k in ("open_cpu_s", "posts")} for n, r in results.items()}))


if __name__ == "__main__":
    main()
