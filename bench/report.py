"""Turn bench/run's results into the printed table, bench/RESULTS.md and bench/results.png.

Every figure sits beside its target (issues 12 and 13); verdicts are computed, never asserted.
"""

from __future__ import annotations

from pathlib import Path

from scale import SCENARIOS

Row = tuple[str, str, str, str]


def _f(x: object, fmt: str = "{:.2f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _load(v: object) -> str:
    return "n/a" if not v else ", ".join(f"{x:.1f}" for x in v)  # type: ignore[attr-defined]


def _ok(passed: bool | None) -> str:
    return "n/a" if passed is None else ("met" if passed else "**missed**")


def _floor_rows(r: dict) -> list[Row]:
    rows = []
    for name, _, _ in SCENARIOS:
        for n in r["sizes"]:
            s = r.get("http", {}).get(str(n), {}).get(name)
            if not s or "floor" not in s:
                continue
            ratio = s["feedsvc"]["rps"] / s["floor"]["rps"] if s["floor"]["rps"] else 0
            rows.append(
                (
                    f"cache hit: {name}, {n} posts: req/s feedsvc / floor (issues 12, 13)",
                    f"{s['feedsvc']['rps']:.0f} / {s['floor']['rps']:.0f} = **{ratio:.2f}×**",
                    "≥ 1.0×",
                    _ok(ratio >= 1.0),
                )
            )
    return rows


def _size_rows(r: dict) -> list[Row]:
    rows: list[Row] = []
    runs = r.get("sizes_run", {})
    for n in r["sizes"]:
        s = runs.get(str(n))
        if not s:
            continue
        t1 = {10000: 5, 100000: 50}.get(n)
        if s.get("first_start_s") is not None:
            rows.append(
                (
                    f"first start, {n} posts, no database (wall until the API answers with every post; CPU of master + children)",
                    f"{s['first_start_s']:.1f} s ({s['first_start_cpu_s']:.1f} s CPU)",
                    f"≤ {t1} s" if t1 else "report",
                    _ok(s["first_start_s"] <= t1) if t1 else "—",
                )
            )
        if s.get("second_start_s") is not None:
            t2 = 2 if n == 100000 else None
            rows.append(
                (
                    f"second start, {n} posts, database present, nothing changed",
                    f"{s['second_start_s']:.2f} s",
                    f"≤ {t2} s" if t2 else "report",
                    _ok(s["second_start_s"] <= t2) if t2 else "—",
                )
            )
        mem = s.get("memory")
        if mem:
            each = " + ".join(f"{x:.0f}" for x in mem["pss_each_mb"])
            tm = 400 if n == 100000 else None
            rows.append(
                (
                    f"PSS master + workers, {n} posts, after the load runs",
                    f"{mem['pss_total_mb']:.0f} MB ({each})",
                    f"≤ {tm} MB" if tm else "report",
                    _ok(mem["pss_total_mb"] <= tm) if tm else "—",
                )
            )
            rows.append(
                (
                    f"  of which anonymous (heaps) / file-backed (database, page cache), {n} posts; workers' anon each",
                    f"{mem['anon_total_mb']:.0f} / {mem['file_total_mb']:.0f} MB; "
                    f"{', '.join(f'{x:.0f}' for x in mem['worker_anon_mb'])} MB",
                    "report",
                    "—",
                )
            )
        c = s.get("cost")
        if c:
            big = n == 100000
            f, q = c["api_filters"]["median_ms"], c["api_q"]["median_ms"]
            rows.append(
                (
                    f"cache-miss API page, category+tag+lang, {n} posts (CPU ms, median of {c['api_filters']['n']})",
                    f"{f:.1f} ms (p90 {c['api_filters']['p90_ms']:.1f})",
                    "≤ 5 ms" if big else "report",
                    _ok(f <= 5) if big else "—",
                )
            )
            rows.append(
                (
                    f"cache-miss API page, q, {n} posts (CPU ms, median of {c['api_q']['n']}; q+category+lang)",
                    f"{q:.1f} ms (p90 {c['api_q']['p90_ms']:.1f}; {c['api_q_filters']['median_ms']:.1f})",
                    "≤ 20 ms" if big else "report",
                    _ok(q <= 20) if big else "—",
                )
            )
            if "atom_over_feedgen_same_median" in c:  # issue 23: the fair yardstick (every field feedsvc writes)
                ratio = c["atom_over_feedgen_same_median"]
                rows.append(
                    (
                        f"cache-miss 50-entry full-text Atom feed / bare feedgen writing the same fields, same run, "
                        f"{n} posts (median over {c['feed_docs']} feeds)",
                        f"{c['atom.xml']['median_ms']:.1f} / {c['feedgen_same']['median_ms']:.1f} ms = **{ratio:.2f}×**",
                        "≤ 1.5×",
                        _ok(ratio <= 1.5),
                    )
                )
            ratio = c["atom_over_feedgen_median"]
            rows.append(
                (
                    f"cache-miss 50-entry full-text Atom feed / bare feedgen, id, title, link, author and content "
                    f"only, same run, {n} posts (median over {c['feed_docs']} feeds)",
                    f"{c['atom.xml']['median_ms']:.1f} / {c['feedgen_alone']['median_ms']:.1f} ms = **{ratio:.2f}×**",
                    "report",
                    "—",
                )
            )
            rows.append(
                (
                    f"  RSS / JSON Feed cache-miss, {n} posts (CPU ms, median)",
                    f"{c['rss.xml']['median_ms']:.1f} / {c['feed.json']['median_ms']:.1f} ms",
                    "report",
                    "—",
                )
            )
    return rows


def _growth_rows(r: dict) -> list[Row]:
    runs = [(n, r.get("sizes_run", {}).get(str(n), {})) for n in r["sizes"]]
    runs = [(n, s) for n, s in runs if s.get("memory")]
    if len(runs) < 2:
        return []
    (n0, a), (n1, b) = runs[0], runs[-1]
    w0, w1 = a["memory"]["worker_anon_mean_mb"], b["memory"]["worker_anon_mean_mb"]
    ratio = w1 / w0 if w0 else None
    return [
        (
            f"workers' heaps nearly flat: mean anonymous PSS per worker, {n0} -> {n1} posts",
            f"{w0:.0f} -> {w1:.0f} MB ({_f(ratio)}×)",
            "≤ 1.25× (our reading of 'nearly flat')",
            _ok(ratio <= 1.25) if ratio else "n/a",
        )
    ]


def _hostile_rows(r: dict) -> list[Row]:
    rows: list[Row] = []
    e = r.get("edit_loop")
    if e:
        limit = e["reload_interval_s"] + 0.5
        ok = e["unserved"] == 0 and e["latency_max_s"] is not None and e["latency_max_s"] <= limit
        rows.append(
            (
                f"edit loop, {e['posts']} posts: an edit every {e['every_s']} s for {e['seconds']:.0f} s under "
                f"steady load ({e['edits']} edits): slowest until served (p50; unserved)",
                f"{_f(e['latency_max_s'])} s ({_f(e['latency_p50_s'])} s; {e['unserved']})",
                f"≤ {limit:.1f} s (interval + 0.5)",
                _ok(ok),
            )
        )
        rows.append(
            (
                "edit loop: failed requests (steady load and polls)",
                f"{e['failed_requests']} of {e['requests']}",
                "0",
                _ok(e["failed_requests"] == 0),
            )
        )
        rows.append(
            (
                "edit loop: worker restarts (worker PIDs seen that were not there before)",
                f"{e['worker_restarts']} ({e['workers_before']} workers before, {e['workers_after']} after)",
                "0",
                _ok(e["worker_restarts"] == 0),
            )
        )
    s = r.get("slow_clients")
    if s:
        rows.append(
            (
                f"slow clients, {s['seconds']:.0f} s of {s['idle']} idle + {s['trickle']} header-trickling "
                f"connections: normal requests timing out (> {s['client_timeout_s']:.0f} s; of {s['requests']}; "
                "other errors)",
                f"{s['timeouts']} ({s['errors']})",
                "0",
                _ok(s["timeouts"] == 0 and s["errors"] == 0),
            )
        )
        rows.append(
            (
                "slow clients: normal requests' p99 (p50, max)",
                f"{_f(s['p99_ms'], '{:.1f}')} ms ({_f(s['p50_ms'], '{:.1f}')}, {_f(s['max_ms'], '{:.0f}')})",
                "≤ 100 ms",
                _ok(s["p99_ms"] is not None and s["p99_ms"] <= 100),
            )
        )
    q = r.get("distinct_queries")
    if q:
        rows.append(
            (
                f"distinct queries, {q['posts']} posts: PSS master + workers before -> after {q['done']} distinct "
                f"query strings ({q['seconds']:.0f} s; statuses {q['statuses']})",
                f"{q['pss_before_mb']:.0f} -> {q['pss_after_mb']:.0f} MB (+{q['pss_growth_mb']:.0f})",
                "≤ +50 MB",
                _ok(q["pss_growth_mb"] <= 50 and q["done"] == q["urls"]),
            )
        )
    return rows


def figures(r: dict) -> list[Row]:
    """(figure, measured, target, verdict) rows."""
    return _floor_rows(r) + _size_rows(r) + _growth_rows(r) + _hostile_rows(r)


def growth_table(r: dict) -> str:
    """How cost grows with the corpus: one column per size."""
    runs = r.get("sizes_run", {})
    sizes = [n for n in r["sizes"] if str(n) in runs]

    def cell(n: int, get) -> str:  # type: ignore[no-untyped-def]
        try:
            return get(runs[str(n)])
        except (KeyError, TypeError):
            return "n/a"

    lines = ["| figure | " + " | ".join(f"{n} posts" for n in sizes) + " |", "| --- |" + " ---: |" * len(sizes)]
    for label, get in (
        ("first start (s)", lambda s: f"{s['first_start_s']:.1f}"),
        ("second start (s)", lambda s: f"{s['second_start_s']:.2f}"),
        ("PSS master + workers (MB)", lambda s: f"{s['memory']['pss_total_mb']:.0f}"),
        ("anonymous PSS, mean per worker (MB)", lambda s: f"{s['memory']['worker_anon_mean_mb']:.0f}"),
        ("anonymous PSS, master (MB)", lambda s: f"{s['memory']['master_anon_mb']:.0f}"),
        ("API category+tag+lang (CPU ms)", lambda s: f"{s['cost']['api_filters']['median_ms']:.1f}"),
        ("API q (CPU ms)", lambda s: f"{s['cost']['api_q']['median_ms']:.1f}"),
        ("Atom 50 entries (CPU ms)", lambda s: f"{s['cost']['atom.xml']['median_ms']:.1f}"),
        ("bare feedgen, same entries (CPU ms)", lambda s: f"{s['cost']['feedgen_alone']['median_ms']:.1f}"),
        ("Atom / feedgen", lambda s: f"{s['cost']['atom_over_feedgen_median']:.2f}×"),
        ("index opened in a new process + first API page (s)", lambda s: f"{s['cost']['open_s']:.2f}"),
    ):
        lines.append(f"| {label} | " + " | ".join(cell(n, get) for n in sizes) + " |")
    return "\n".join(lines)


def throughput_table(r: dict) -> str:
    """Per scenario and size: feedsvc vs floor req/s and latency."""
    lines = [
        "| scenario | posts | feedsvc req/s | floor req/s | ratio | feedsvc p50 / p99 ms | floor p50 / p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, _, _ in SCENARIOS:
        for n in r["sizes"]:
            s = r.get("http", {}).get(str(n), {}).get(name)
            if not s or "floor" not in s:
                continue
            a, b = s["feedsvc"], s["floor"]
            lines.append(
                f"| {name} | {n} | {a['rps']:.0f} | {b['rps']:.0f} | {a['rps'] / b['rps']:.2f} | "
                f"{a['p50_ms']:.2f} / {a['p99_ms']:.2f} | {b['p50_ms']:.2f} / {b['p99_ms']:.2f} | "
                f"{a['errors']} / {b['errors']} |"
            )
    return "\n".join(lines)


def tail_tables(r: dict) -> str:
    """Every cache-hit cell at 8, 32 and 64 connections (p50/p99/max), the worst cells, the alternatives."""
    out: list[str] = []
    for n, t in sorted(r.get("tail", {}).items(), key=lambda kv: int(kv[0])):
        shapes = ", ".join(
            f"{c} connections: gthread {b['shape']} (probed: "
            + ", ".join(f"{k} {v['rps']:.0f}" for k, v in b["probes"].items())
            + " req/s)"
            for c, b in sorted(t.get("floor_best", {}).items(), key=lambda kv: int(kv[0]))
        )
        out += [
            f"**{n} posts.** The floor's best shape (workers x threads, most req/s) per count: {shapes}.",
            "",
            "| cell | conns | feedsvc req/s | floor req/s | req/s ratio | feedsvc p50 / p99 / max ms "
            "| floor p50 / p99 / max ms | p99 ratio | CPU µs/request feedsvc / floor |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, by in t.get("cells", {}).items():
            for c, x in sorted(by.items(), key=lambda kv: int(kv[0])):
                a, b = x["feedsvc"], x["floor"]
                out.append(
                    f"| {name} | {c} | {a['rps']:.0f} | {b['rps']:.0f} | {x['rps_ratio']:.2f} | "
                    f"{a['p50_ms']:.1f} / {a['p99_ms']:.1f} / {a['max_ms']:.0f} | "
                    f"{b['p50_ms']:.1f} / {b['p99_ms']:.1f} / {b['max_ms']:.0f} | {x['p99_ratio']:.2f} | "
                    f"{a.get('cpu_us_per_request', float('nan')):.0f} / "
                    f"{b.get('cpu_us_per_request', float('nan')):.0f} |"
                )
        w = t.get("worst", {})
        if w:
            out += [
                "",
                f"Worst cells: req/s {w['rps_ratio']:.2f}x the floor ({w['rps_cell']}); p99 "
                f"{w['p99_ratio']:.2f}x the floor's ({w['p99_cell']}). Targets >= 1.0x and <= 2.0x: "
                f"{'met' if w['meets'] else '**not met**'}.",
                "",
            ]
        alts = t.get("alternatives", {})
        if alts:
            out += [
                "feedsvc configurations side by side (cells "
                + ", ".join(sorted({k for a in alts.values() for k in a["cells"]}))
                + " at every count, one AB round "
                "each, against the same best floors):",
                "",
                "| configuration | worst req/s ratio | worst p99 ratio | per cell: req/s ratio, p99 ratio |",
                "| --- | ---: | ---: | --- |",
            ]
            for label, a in alts.items():
                cells = "; ".join(
                    f"{name} @{c}: {x['rps_ratio']:.2f}, {x['p99_ratio']:.2f}"
                    for name, by in a["cells"].items()
                    for c, x in by.items()
                )
                out.append(
                    f"| {label} | {a['worst'].get('rps_ratio', float('nan')):.2f} | "
                    f"{a['worst'].get('p99_ratio', float('nan')):.2f} | {cells} |"
                )
            out.append("")
    return "\n".join(out)


def proxy_tables(r: dict) -> str:
    """Through deploy/nginx-proxy.conf vs nginx static; the polling mix's proxy_cache hit ratio."""
    out: list[str] = []
    for n, p in sorted(r.get("proxy", {}).items(), key=lambda kv: int(kv[0])):
        out += [
            f"**{n} posts.**",
            "",
            "| cell | conns | proxy req/s | static req/s | ratio | proxy p50 / p99 / max ms | static p50 / p99 / max ms |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, by in p.get("cells", {}).items():
            for c, x in sorted(by.items(), key=lambda kv: int(kv[0])):
                a, b = x["proxy"], x["static"]
                out.append(
                    f"| {name} | {c} | {a['rps']:.0f} | {b['rps']:.0f} | {x['rps_ratio']:.2f} | "
                    f"{a['p50_ms']:.1f} / {a['p99_ms']:.1f} / {a['max_ms']:.0f} | "
                    f"{b['p50_ms']:.1f} / {b['p99_ms']:.1f} / {b['max_ms']:.0f} |"
                )
        w, mix = p.get("worst"), p.get("polling_mix")
        if w:
            out += [
                "",
                f"Worst cell: {w['rps_ratio']:.2f}x nginx static ({w['cell']}); target >= 0.9x: "
                f"{'met' if w['rps_ratio'] >= 0.9 else '**not met**'}.",
            ]
        if mix:
            out += [
                "",
                f"Polling mix: {mix['pollers']} pollers x {mix['passes']} passes over {mix['feeds']} feeds "
                f"(every scope, Atom/RSS/JSON Feed; Accept-Encoding in turn: {mix.get('codings')}; "
                f"If-None-Match after the first fetch): {mix['requests']} requests in {mix['seconds']:.1f} s, "
                f"X-Cache-Status "
                f"{mix['cache_status']}, HTTP {mix['http_status']}: hit ratio **{mix['hit_ratio']:.1%}** "
                f"(target >= 95 %: {'met' if mix['hit_ratio'] >= 0.95 else '**not met**'}). Each "
                f"(feed, coding) misses once, on its first request (the proxy keys an entry on the coding it "
                f"reduces Accept-Encoding to: gzip or none); the rest are answered by nginx.",
                "",
            ]
    return "\n".join(out)


def table(r: dict) -> str:
    """The plain-text report printed at the end of a run."""
    rows = figures(r)
    w = max((len(x[0]) for x in rows), default=10)
    out = [f"{'figure':{w}}  {'measured':44}  {'target':12}  verdict", "-" * (w + 72)]
    out += [f"{a:{w}}  {b.replace('**', ''):44}  {c:12}  {d.replace('**', '')}" for a, b, c, d in rows]
    out += ["", growth_table(r), "", throughput_table(r), "", tail_tables(r), "", proxy_tables(r)]
    return "\n".join(out)


def plot(r: dict, png: Path) -> None:
    """Cache-hit throughput (feedsvc solid, floor dashed) and memory/start against corpus size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    sizes = [n for n in r["sizes"] if str(n) in r.get("http", {})]
    for i, (name, _, _) in enumerate(SCENARIOS):
        for who, style in (("feedsvc", "-o"), ("floor", "--x")):
            pts = [(n, r["http"][str(n)][name][who]["rps"]) for n in sizes if who in r["http"][str(n)].get(name, {})]
            if pts:
                ax1.plot(*zip(*pts, strict=True), style, color=f"C{i}", label=f"{name} ({who})")
    runs = r.get("sizes_run", {})
    msz = [n for n in r["sizes"] if runs.get(str(n), {}).get("memory")]
    if msz:
        ax2.plot(msz, [runs[str(n)]["memory"]["pss_total_mb"] for n in msz], "-o", label="PSS master + workers")
        ax2.plot(msz, [runs[str(n)]["memory"]["worker_anon_mean_mb"] for n in msz], "-s", label="anon PSS per worker")
    for ax, title, ylabel in ((ax1, "Cache-hit throughput", "requests/s"), (ax2, "Memory", "MB")):
        ax.set_xscale("log")
        ax.set_xlabel("posts in the corpus")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=0)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower left")
    m = r["machine"]
    fig.suptitle(f"feedsvc vs the Flask floor (solid: feedsvc, dashed: floor) — {m['cpu']}, {m['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def write(r: dict, md: Path, png: Path) -> None:
    """bench/RESULTS.md and bench/results.png from one run."""
    m = r["machine"]
    fs, fl = m["feedsvc_gunicorn"], m["floor_gunicorn"]
    lines = [
        "# feedsvc benchmark results",
        "",
        "Generated by `bench/run` (see [docs/benchmarks.md](../docs/benchmarks.md)); every figure below comes from the one run",
        "described here, feedsvc and the floor measured side by side in that run. The figures of the",
        "previous core (in-memory index, sync workers) are in git's history: `git show 5704ff9:bench/RESULTS-before.md`.",
        "",
        "## Machine and versions",
        "",
        f"- date: {m['date']}, commit `{m['commit']}` on `{m['branch']}`; content core: {m['core']}",
        f"- CPU: {m['cpu']}; memory {m['memory']}; {m['os']} (shared, noisy machine: compare ratios)",
        f"- load average (1, 5, 15 min) at the start: {_load(m.get('load_start'))}; at the end: {_load(r.get('load_end'))}",
        f"- Python {m['python']}, SQLite {m['sqlite']}; {m['packages']}",
        f"- load generator: {m['wrk']} (keep-alive)",
        f"- feedsvc: the shipped `gunicorn.conf.py`: {fs.get('workers')} × {fs.get('worker_class')} workers, "
        f"{fs.get('threads')} thread(s), worker_connections {fs.get('worker_connections')}, keepalive "
        f"{fs.get('keepalive')} s, preload {fs.get('preload_app')}",
        f"- floor: `bench/floor_app.py` under `bench/floor_gunicorn.conf.py` (its own best configuration): "
        f"{fl.get('workers')} × {fl.get('worker_class')} workers, {fl.get('threads')} threads, keepalive "
        f"{fl.get('keepalive')} s; both log every request",
        "",
        "## Command",
        "",
        "```sh",
        f"bench/run {r['args']}".rstrip(),
        "```",
        "",
        f"Corpora: `bench/gen_corpus.py` (seed 1), sizes {', '.join(str(n) for n in r['sizes'])}. Total run time "
        f"{r['total_s'] / 60:.1f} min (expected {r['expected_min'][0]:.0f}-{r['expected_min'][1]:.0f}).",
        "",
        "## Figures and targets",
        "",
        "| figure | measured | target | verdict |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in figures(r)]
    lines += [
        "",
        "## How cost grows with the corpus",
        "",
        growth_table(r),
        "",
        "## Cache hits, feedsvc and the floor side by side",
        "",
        f"Each cell: {r.get('tool')} with the same duration, threads and connections, after a 1 s warm-up; "
        "feedsvc and the floor alternate (AB, BA, ...) and req/s is the mean of the rounds "
        f"(settings: {r.get('load')}).",
        "",
        throughput_table(r),
        "",
        f"![throughput and memory vs corpus size]({png.name})",
        "",
        "## Tail latency with keep-alive: every cache-hit cell at 8, 32 and 64 connections",
        "",
        "bench/tail.py: for each count the floor runs in its best gthread shape for that count; feedsvc "
        "and the floor alternate; p50 and p99 are the median of the rounds, max the worst.",
        "",
        tail_tables(r),
        "",
        "## As deployed: deploy/nginx-proxy.conf in front of feedsvc vs nginx static files",
        "",
        "bench/proxy.py: one nginx (2 worker processes) runs both servers; the static one holds the very "
        "bytes feedsvc sent (gzip_static for the .gz twin).",
        "",
        proxy_tables(r),
        "",
    ]
    docs = r.get("docs", {})
    if docs:
        lines += ["Documents served in the load runs:", ""]
        for n, d in sorted(docs.items(), key=lambda kv: int(kv[0])):
            for k, v in d.items():
                lines.append(
                    f"- {n} posts, `{v['path']}` ({k}): {v['bytes']} bytes on the wire, "
                    f"{v['decoded_bytes']} decoded, ETag `{v['etag']}`"
                )
        lines.append("")
    notes = md.parent / "NOTES.md"
    if notes.exists():
        lines += ["## Notes", "", notes.read_text().strip(), ""]
    md.write_text("\n".join(lines))
    plot(r, png)


if __name__ == "__main__":  # rewrite a report from a run's JSON: report.py bench/out/RESULTS.json bench/RESULTS.md
    import json
    import sys

    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    write(json.loads(src.read_text()), dst, dst.with_name(dst.stem.lower() + ".png"))
