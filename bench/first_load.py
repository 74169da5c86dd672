#!/usr/bin/env python3
"""A first load (no database) of a corpus, this tree and another side by side: wall and CPU.

    python bench/first_load.py 100000 [--before /tmp/main-base] [--profile] [--together]

Each tree's ``Loader.load()`` runs in a process of its own, from that tree's source, into a
new database file; it prints the wall time, the CPU of the loading process (the writer) and of
the parser processes it reaped, and their sum: what a first start costs until the posts are
served. Then, as a server's reload thread does, it writes the full text the load left
(store/fulltext.py) and prints that too (``DEFER=0``: the load writes it at once, as before).
``--together`` starts both at once (on a shared machine both then meet the same load);
``--profile`` prints the writer's cProfile (CPU timer).
Corpora: bench/corpora/<n> (bench/gen_corpus.py, seed 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHILD = r"""
import cProfile, os, pstats, resource, shutil, sys, tempfile, time
sys.path.insert(0, os.getcwd())
from feedsvc.content.loader import Loader
root, profile = sys.argv[1], sys.argv[2] == "1"
tmp = tempfile.mkdtemp(prefix="first-load-")
loader = Loader(root, index_path=os.path.join(tmp, "index.db"))
loader.defer_search = os.environ.get("DEFER", "1") == "1"  # as a server does (DEFER=0: the full text written at once)
prof = cProfile.Profile(time.process_time) if profile else None
if prof:  # a parser process forked from here must not run (and pay for) the writer's profiler
    os.register_at_fork(after_in_child=prof.disable)
t0, c0 = time.perf_counter(), time.process_time()
if prof:
    prof.enable()
loader.load()
if prof:
    prof.disable()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
kcpu = kids.ru_utime + kids.ru_stime
print(f"{os.getcwd()}: wall {wall:.1f} s, writer CPU {cpu:.1f} s, parser CPU {kcpu:.1f} s, total CPU {cpu + kcpu:.1f} s")
t0, c0 = time.perf_counter(), time.process_time()
steps = 0
while getattr(loader, "fill_search", None) and loader.fill_search():
    steps += 1
if steps:
    print(f"  then the full text, {steps + 1} steps: wall {time.perf_counter() - t0:.1f} s, CPU {time.process_time() - c0:.1f} s")
loader.close()
shutil.rmtree(tmp)
if prof:
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="corpus size (bench/corpora/<n>)")
    ap.add_argument("--before", help="another checkout (with .venv) to load the same corpus with, first")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--together", action="store_true", help="run both trees at once")
    a = ap.parse_args()
    corpus = HERE / "corpora" / str(a.n)
    if not corpus.is_dir():
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), str(a.n), str(corpus)], check=True)
    trees = [Path(a.before)] if a.before else []
    trees.append(HERE.parent)
    procs = []
    for tree in trees:
        cmd = [str(tree / ".venv" / "bin" / "python"), "-c", CHILD, str(corpus), "1" if a.profile else "0"]
        procs.append(subprocess.Popen(cmd, cwd=tree))
        if not a.together:
            procs[-1].wait()
    return max(p.wait() for p in procs)


if __name__ == "__main__":
    sys.exit(main())
