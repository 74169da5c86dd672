"""Cheap requests stay cheap (issue 18): a victim's cached polling alone, and while an attacker runs.

One feedsvc under the shipped gunicorn.conf.py serves a generated corpus. The victim polls
a cached feed (wrk, keep-alive); each attacker is a second wrk on its own connections,
sending distinct expensive requests of one kind as fast as the server answers:

- unknown slugs (``/api/v1/posts/<no such slug>``);
- distinct search calendars (``/feeds/calendar.ics?q=``, common words: many events match);
- distinct searches (``/api/v1/posts?q=``);
- deep API pages (``/api/v1/posts?page=N&per_page=M``, N past the polled first pages).

Phases run in turn, side by side in one run: the victim alone before and after, and the
victim during each attack. The victim's throughput may drop at most to half. Usage:

    .venv/bin/python bench/attack.py --size 10000 --seconds 4
    .venv/bin/python bench/attack.py --root /path/to/other/checkout   # the same load on other code
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import servers
from servers import Server, app_config_keys, app_env, free_port, log

from bench import CORPORA, corpus

#: The commonest words of the generated corpus (gen_corpus._EN): any two or three match many posts.
WORDS = (
    "the of and to in a is that for on with as by this people who use drugs are be have from at it their "
    "not was or an we health rights"
).split()

ATTACKS: dict[str, Callable[[int], str]] = {
    "unknown slugs": lambda i: f"/api/v1/posts/no-such-post-{i}",
    "search calendars": lambda i: f"/feeds/calendar.ics?q={WORDS[i % 32]}+{WORDS[i // 32 % 32]}",
    "searches": lambda i: f"/api/v1/posts?q={WORDS[i % 32]}+{WORDS[i // 32 % 32]}+{WORDS[i // 1024 % 32]}",
    "deep API pages": lambda i: f"/api/v1/posts?per_page={20 + i % 81}&page={6 + i // 81 % 95}",
}

#: wrk script: cycle through a file of paths (each thread from its own offset) and count statuses.
LUA = """
local paths, threads, n, i = {}, {}, 0, 0
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
function setup(thread) thread:set("offset", #threads * 7919); table.insert(threads, thread) end
function init(args) i = offset; statuses = {} end
function request() i = i + 1; return wrk.format("GET", paths[(i %% #paths) + 1]) end
function response(status) statuses[status] = (statuses[status] or 0) + 1 end
function done()
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[tostring(k)] = (total[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do parts[#parts + 1] = string.format('"%%s": %%d', k, v) end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\\n")
end
"""


def wrk(url: str, seconds: float, connections: int, script: Path | None = None) -> subprocess.Popen[str]:
    """Start wrk (one thread: the machine is small) on ``url`` for ``seconds``."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "5s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    return subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def report(proc: subprocess.Popen[str], seconds: float) -> dict[str, object]:
    """wrk's requests/s, p99 and (from the script) statuses."""
    out, _ = proc.communicate(timeout=seconds + 60)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    statuses = re.search(r"STATUSES (\{.*\})", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p99": p99.group(1) if p99 else "?",
        "statuses": json.loads(statuses.group(1)) if statuses else {},
    }


LOOKUPS = """
import json, statistics, sys, time
sys.path.insert(0, ".")
from feedsvc import create_app
from feedsvc.extensions import current_index
app = create_app()
with app.app_context():
    index = current_index()
    known = [p.slug for p in index.posts[:300]]
    out = {}
    for name, slugs in (("unknown", [f"no-such-post-{i}" for i in range(300)]), ("known", known)):
        ms = []
        for slug in slugs:
            t0 = time.perf_counter()
            index.get(slug)
            ms.append((time.perf_counter() - t0) * 1000)
        ms.sort()
        out[name] = {"median_ms": round(statistics.median(ms), 3), "p99_ms": round(ms[int(len(ms) * .99)], 3)}
print(json.dumps(out))
"""


def slug_lookups(env: dict[str, str]) -> dict[str, object]:
    """Index.get of 300 unknown and 300 known slugs, timed in a fresh process of the measured checkout."""
    out = subprocess.run(
        [sys.executable, "-c", LOOKUPS],
        cwd=servers.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def phase(app: Server, victim: str, seconds: float, conns: int, attack: tuple[Path, int] | None) -> dict[str, object]:
    """One phase: the victim's wrk for ``seconds``, alone or while an attacker's wrk runs (started first)."""
    attacker = None
    if attack is not None:
        attacker = wrk(app.base + "/", seconds + 2, attack[1], attack[0])
        time.sleep(1.0)  # the attack is under way before the victim is measured
    cpu0 = app.cpu_s()
    got = report(wrk(victim, seconds, conns), seconds)
    cpu = app.cpu_s() - cpu0
    # Victim requests per CPU second the server got: what the machine's other load does not move.
    row: dict[str, object] = {
        "victim_rps": got["rps"],
        "victim_p99": got["p99"],
        "server_cpu_s": round(cpu, 2),
        "victim_per_cpu_s": float(str(got["rps"])) * seconds / max(cpu, 0.01),
    }
    if attacker is not None:
        bad = report(attacker, seconds + 2)
        row.update(attacker_rps=bad["rps"], attacker_statuses=bad["statuses"])
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the phases and print a Markdown table (and JSON to bench/out/attack.json)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10000, help="posts in the generated corpus")
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each phase")
    ap.add_argument("--rounds", type=int, default=2, help="attacked phases per attack (each between two alone)")
    ap.add_argument("--victim-connections", type=int, default=16)
    ap.add_argument("--attack-connections", type=int, default=4)
    ap.add_argument("--root", type=Path, default=servers.ROOT, help="checkout whose feedsvc is measured")
    ap.add_argument("--env", action="append", default=[], help="extra NAME=VALUE for feedsvc (repeatable)")
    a = ap.parse_args(argv)
    servers.ROOT = a.root.resolve()  # gunicorn runs there, with its shipped gunicorn.conf.py
    content = corpus(a.size, 1)
    index = CORPORA / f"{a.size}.attack.db"
    env = app_env(content, index, app_config_keys(), FEEDSVC_RELOAD_INTERVAL="0", **dict(e.split("=", 1) for e in a.env))
    app = Server("attack", "wsgi:app", free_port(), env, conf=servers.ROOT / "gunicorn.conf.py")
    results: list[dict[str, object]] = []
    try:
        log(f"feedsvc ready in {app.wait_ready('/api/v1/posts?per_page=1', 900, total=a.size):.1f}s")
        victim = app.base + "/feeds/atom.xml"
        for _ in range(2):  # warm: rendered once, then every worker holds it
            servers.fetch(victim)
        with tempfile.TemporaryDirectory() as tmp:
            for n, (name, make) in enumerate(ATTACKS.items()):
                paths = Path(tmp) / f"{n}.txt"
                paths.write_text("\n".join(make(i) for i in range(30000)) + "\n")
                script = Path(tmp) / f"{n}.lua"
                script.write_text(LUA % {"paths": paths})
                # Alone and attacked in turn, the attacked runs each between two alone: the machine
                # is shared, and its speed drifts more than any one phase lasts.
                alone = [phase(app, victim, a.seconds, a.victim_connections, None)]
                hit = []
                for _ in range(a.rounds):
                    hit.append(phase(app, victim, a.seconds, a.victim_connections, (script, a.attack_connections)))
                    alone.append(phase(app, victim, a.seconds, a.victim_connections, None))
                statuses: dict[str, int] = {}
                for h in hit:
                    for k, v in dict(h["attacker_statuses"]).items():  # type: ignore[call-overload]
                        statuses[k] = statuses.get(k, 0) + v
                row = {
                    "attack": name,
                    "alone_rps": median(alone, "victim_rps"),
                    "attacked_rps": median(hit, "victim_rps"),
                    "attacker_rps": median(hit, "attacker_rps"),
                    "attacker_statuses": statuses,
                    "alone_cpu_s": median(alone, "server_cpu_s"),
                    "attacked_cpu_s": median(hit, "server_cpu_s"),
                    "phases": {"alone": alone, "attacked": hit},
                }
                row["ratio"] = round(float(str(row["attacked_rps"])) / float(str(row["alone_rps"])), 2)
                row["cpu_ratio"] = round(median(hit, "victim_per_cpu_s") / median(alone, "victim_per_cpu_s"), 2)
                results.append(row)
                log(f"{name}: { ({k: v for k, v in row.items() if k != 'phases'}) }")
    finally:
        app.stop()
    lookups = slug_lookups(env)
    log(f"slug lookups: {lookups}")
    print(
        f"\nfeedsvc at {servers.ROOT}, {a.size} posts; victim: wrk -c{a.victim_connections} on /feeds/atom.xml; "
        f"attacker: wrk -c{a.attack_connections}; {a.rounds} attacked phases of {a.seconds:.0f} s each, "
        f"between {a.rounds + 1} alone (medians); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n"
    )
    print(
        "| attack | victim alone req/s | victim attacked req/s | × | × per server CPU s "
        "| server CPU s alone / attacked | attacker req/s | attacker statuses |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['attack']} | {float(str(r['alone_rps'])):,.0f} | {float(str(r['attacked_rps'])):,.0f} | "
            f"{r['ratio']} | {r['cpu_ratio']} | {r['alone_cpu_s']:.2f} / {r['attacked_cpu_s']:.2f} | "
            f"{float(str(r['attacker_rps'])):,.0f} | {r['attacker_statuses']} |"
        )
    print(
        f"\nIndex.get by slug ({a.size} posts, 300 each): "
        + ", ".join(f"{k}: median {v['median_ms']} ms, p99 {v['p99_ms']} ms" for k, v in lookups.items())
    )  # type: ignore[attr-defined]
    servers.OUT.mkdir(parents=True, exist_ok=True)
    (servers.OUT / "attack.json").write_text(
        json.dumps({"root": str(servers.ROOT), "size": a.size, "attacks": results, "slug_lookups": lookups}, indent=1)
    )
    worst = min(float(str(r["ratio"])) for r in results)
    print(f"\nworst: the victim kept {worst:.2f} of its throughput (the requirement: at least 0.5)")
    return 0 if worst >= 0.5 else 1


def median(rows: list[dict[str, object]], key: str) -> float:
    """The median of one figure over phases."""
    return float(statistics.median(float(str(r[key])) for r in rows))


if __name__ == "__main__":
    sys.exit(main())
