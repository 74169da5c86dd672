"""Turn bench/run's results into the printed table, bench/RESULTS.md and bench/results.png."""

from __future__ import annotations

from pathlib import Path

SCENARIOS = ("atom 200 identity", "atom 200 gzip", "atom 304", "api page 200")


def _f(x: object, fmt: str = "{:.2f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _ok(passed: bool | None) -> str:
    return "n/a" if passed is None else ("met" if passed else "**missed**")


def figures(r: dict) -> list[tuple[str, str, str, str]]:
    """(figure, measured, target, verdict) rows."""
    rows: list[tuple[str, str, str, str]] = []
    http = r.get("http", {})
    for name in SCENARIOS:
        for n in r["sizes"]:
            s = http.get(str(n), {}).get(name)
            if not s or "floor" not in s:
                continue
            ratio = s["feedsvc"]["rps"] / s["floor"]["rps"] if s["floor"]["rps"] else 0
            rows.append((f"{name}, {n} posts: req/s feedsvc / floor",
                         f"{s['feedsvc']['rps']:.0f} / {s['floor']['rps']:.0f} = **{ratio:.2f}×**", "≥ 0.90×",
                         _ok(ratio >= 0.9)))
    render = r.get("render")
    if render:
        for fmt in ("atom.xml", "rss.xml", "feed.json"):
            v = render[fmt]["median_ms"]
            rows.append((f"cache-miss render {fmt}, 50 entries full text, {render['posts']} posts (CPU ms per "
                         "request through the app, median)", f"{v:.1f} ms", "≤ 4 ms", _ok(v <= 4)))
        if "feedgen_alone_ms" in render:
            rows.append(("the yardstick on this machine: bare feedgen writing the same 50 entries (id, title, "
                         "updated, link, author, content; bodies ready)", f"{render['feedgen_alone_ms']:.1f} ms",
                         "≈ 3.5 ms in the issue", "—"))
    api = r.get("api")
    if api:
        rows.append((f"cache-miss API page, category+tag+lang, {api['posts']} posts (CPU ms, median)",
                     f"{api['filters_median_ms']:.1f} ms", "≤ 5 ms", _ok(api["filters_median_ms"] <= 5)))
        rows.append((f"cache-miss API page, q, {api['posts']} posts (CPU ms, median; first q after start)",
                     f"{api['q_median_ms']:.1f} ms ({api['q_first_ms']:.0f} ms)", "≤ 50 ms", _ok(api["q_median_ms"] <= 50)))
    for n, b in sorted(r.get("build", {}).items(), key=lambda kv: int(kv[0])):
        t1 = {10000: 5, 100000: 50}.get(int(n))
        t2 = {10000: 1, 100000: 8}.get(int(n))
        rows.append((f"index build, {n} posts, first start (wall; CPU of the loading process, which forks "
                     "parsers; its peak RSS)",
                     f"{b['first']['wall_s']:.1f} s ({b['first']['cpu_s']:.1f} s CPU, {b['first']['maxrss_mb']:.0f} MB)",
                     f"≤ {t1} s" if t1 else "—", _ok(b["first"]["wall_s"] <= t1) if t1 else "—"))
        rows.append((f"index build, {n} posts, second start with the parse cache",
                     f"{b['second']['wall_s']:.2f} s ({b['second']['cpu_s']:.2f} s CPU)",
                     f"≤ {t2} s" if t2 else "—", _ok(b["second"]["wall_s"] <= t2) if t2 else "—"))
    rh = r.get("reload_http")
    if rh:
        ok = rh["first_served_s"] is not None and rh["first_served_s"] <= rh["interval_s"] + 0.5
        rows.append((f"one file edited, {rh.get('posts', '?')} posts: time until served over HTTP "
                     f"(interval {rh['interval_s']} s; all workers)",
                     f"{_f(rh['first_served_s'])} s ({_f(rh['all_workers_s'])} s)",
                     f"≤ {rh['interval_s'] + 0.5:.1f} s", _ok(ok)))
    rl = r.get("reload")
    if rl:
        cpu = rl["reload_ms"] + rl["search_rebuild_ms"]
        rows.append((f"one file edited, {rl['posts']} posts: CPU of the reload in one process (inotify says "
                     "which file; stat+parse+index; + search index)",
                     f"{cpu:.0f} ms ({rl['reload_ms']:.0f} + {rl['search_rebuild_ms']:.0f})",
                     "≤ 100 ms", _ok(cpu <= 100)))
        if "reload_full_scan_ms" in rl:
            rows.append(("the same edit found by a full rescan instead (no inotify; the safety scan every 60 s)",
                         f"{rl['reload_full_scan_ms']:.0f} ms", "—", "—"))
        if "idle_watch_ms" in rl:
            rows.append((f"idle, {rl['posts']} posts, nothing changed: CPU per reload interval (inotify; a full "
                         "rescan)", f"{rl['idle_watch_ms']:.2f} ms ({rl['idle_rescan_ms']:.0f} ms)", "—", "—"))
        else:
            rows.append((f"idle rescan, {rl['posts']} posts, nothing changed (CPU per scan, per process)",
                         f"{rl['idle_rescan_ms']:.0f} ms", "—", "—"))
    if rh:
        rows.append((f"one file edited: server CPU over idle, master + {rh['workers']} workers (idle: "
                     f"{rh['idle_cpu_ms_per_s']:.0f} ms/s)", f"{rh['cpu_over_idle_ms']:.0f} ms", "—", "—"))
    mem = r.get("memory")
    if mem:
        rows.append((f"memory, {mem['posts']} posts: PSS master + workers (floor: {mem['floor_pss_total_mb']:.0f} MB)",
                     f"{mem['pss_total_mb']:.0f} MB ({' + '.join(f'{x:.0f}' for x in mem['pss_each_mb'])})",
                     "≤ 600 MB", _ok(mem["pss_total_mb"] <= 600)))
    ex = r.get("export")
    if ex:
        if "error" in ex:
            rows.append((f"static export, {ex.get('posts', '?')} posts", ex["error"], "report", "—"))
        else:
            rows.append((f"static export, {ex.get('posts', '?')} posts (every document)",
                         f"{ex['seconds']:.1f} s, {ex['files']} files, {ex['files_per_s']:.0f} files/s, "
                         f"{ex['mb']:.0f} MB" + ("" if ex["exit"] == 0 else f" (exit {ex['exit']})"),
                         "report", "—"))
    return rows


def throughput_table(r: dict) -> str:
    """Per scenario and size: feedsvc vs floor req/s and latency."""
    lines = ["| scenario | posts | feedsvc req/s | floor req/s | ratio | feedsvc p50 / p99 ms | floor p50 / p99 ms | errors |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in SCENARIOS:
        for n in r["sizes"]:
            s = r.get("http", {}).get(str(n), {}).get(name)
            if not s or "floor" not in s:
                continue
            a, b = s["feedsvc"], s["floor"]
            lines.append(f"| {name} | {n} | {a['rps']:.0f} | {b['rps']:.0f} | {a['rps'] / b['rps']:.2f} | "
                         f"{a['p50_ms']:.2f} / {a['p99_ms']:.2f} | {b['p50_ms']:.2f} / {b['p99_ms']:.2f} | "
                         f"{a['errors']} / {b['errors']} |")
    return "\n".join(lines)


def table(r: dict) -> str:
    """The plain-text report printed at the end of a run."""
    rows = figures(r)
    w = max((len(x[0]) for x in rows), default=10)
    out = [f"{'figure':{w}}  {'measured':40}  {'target':9}  verdict", "-" * (w + 65)]
    out += [f"{a:{w}}  {b.replace('**', ''):40}  {c:9}  {d.replace('**', '')}" for a, b, c, d in rows]
    out += ["", throughput_table(r).replace("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", "")]
    return "\n".join(out)


def plot(r: dict, png: Path) -> None:
    """Throughput and median latency against corpus size, feedsvc solid, floor dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    sizes = [n for n in r["sizes"] if str(n) in r.get("http", {})]
    for i, name in enumerate(SCENARIOS):
        color = f"C{i}"
        for who, style in (("feedsvc", "-o"), ("floor", "--x")):
            xs, rps, p50 = [], [], []
            for n in sizes:
                s = r["http"][str(n)].get(name, {}).get(who)
                if s:
                    xs.append(n)
                    rps.append(s["rps"])
                    p50.append(s["p50_ms"])
            if xs:
                ax1.plot(xs, rps, style, color=color, label=f"{name} ({who})")
                ax2.plot(xs, p50, style, color=color, label=f"{name} ({who})")
    for ax, title, ylabel in ((ax1, "Throughput (cache hit)", "requests/s"), (ax2, "Median latency", "ms")):
        ax.set_xscale("log")
        ax.set_xlabel("posts in the corpus")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, alpha=.3)
        ax.set_ylim(bottom=0)
    ax1.legend(fontsize=7, loc="lower left")
    m = r["machine"]
    fig.suptitle(f"feedsvc vs the Flask floor (solid: feedsvc, dashed: floor) — {m['cpu']}, {m['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def write(r: dict, md: Path, png: Path) -> None:
    """bench/RESULTS.md and bench/results.png from one run."""
    m = r["machine"]
    rows = figures(r)
    lines = [
        "# feedsvc benchmark results",
        "",
        "Generated by `bench/run` (see README, *Benchmarks*); every figure below comes from the one run",
        "described here, with feedsvc and the floor app measured side by side in that run.",
        "",
        "## Machine and versions",
        "",
        f"- date: {m['date']}, commit `{m['commit']}`",
        f"- CPU: {m['cpu']}; memory {m['memory']}; {m['os']} (shared, noisy machine: compare ratios)",
        f"- Python {m['python']}; {m['packages']}",
        f"- load generator: {m['wrk']}; gunicorn with the shipped `gunicorn.conf.py`, {m['workers']} sync workers, "
        "preload; the floor app (`bench/floor_app.py`) under the same configuration",
        "",
        "## Command",
        "",
        "```sh",
        f"bench/run {r['args']}".rstrip(),
        "```",
        "",
        f"Corpora: `bench/gen_corpus.py` (seed 1), sizes {', '.join(str(n) for n in r['sizes'])}. Total run time "
        f"{r['total_s'] / 60:.1f} min.",
        "",
        "## Figures and targets",
        "",
        "| figure | measured | target | verdict |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", "## Throughput and latency, feedsvc and the floor side by side", "",
              f"Each cell: {r.get('tool')} with the same duration, threads and connections, after a 1 s warm-up; "
              "feedsvc and the floor alternate (AB, BA, ...) and req/s is the mean of the rounds "
              f"(settings: {r.get('load')}).",
              "", throughput_table(r), "", "![latency and throughput vs corpus size](results.png)", ""]
    docs = r.get("docs", {})
    if docs:
        lines += ["Documents served in the load runs:", ""]
        for k, d in sorted(docs.items()):
            lines.append(f"- `{d['path']}` ({k}): {d['bytes']} bytes on the wire, {d['decoded_bytes']} decoded, "
                         f"ETag `{d['etag']}`")
        lines.append("")
    notes = Path(md.parent / "NOTES.md")
    if notes.exists():
        lines += ["## Where the time goes", "", notes.read_text().strip(), ""]
    md.write_text("\n".join(lines))
    plot(r, png)
