"""Servers for bench/run: gunicorn masters started on 127.0.0.1, measured from /proc, stopped by PID.

Nothing here imports feedsvc: the bench talks to whatever core is on the branch through
HTTP, the CLI and FEEDSVC_* environment variables.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
FLASK = str(ROOT / ".venv" / "bin" / "flask")
OUT = BENCH / "out"
APP_CONF = ROOT / "gunicorn.conf.py"
FLOOR_CONF = BENCH / "floor_gunicorn.conf.py"


#: The cache-hit cells (name, document, request headers); "etag" is replaced by the document's ETag.
SCENARIOS = [
    ("feed 200", "feed", {}),
    ("feed 200 gzip", "feed", {"Accept-Encoding": "gzip"}),
    ("feed 304", "feed", {"If-None-Match": "etag"}),
    ("api 200", "api", {}),
    ("api 200 gzip", "api", {"Accept-Encoding": "gzip"}),
    ("api 304", "api", {"If-None-Match": "etag"}),
]


def log(msg: str) -> None:
    """Progress on stderr, with the time."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SETTINGS = """
import json, os, runpy, sys
from gunicorn.config import Config
cfg = Config()
ns = runpy.run_path(sys.argv[1])
for k, v in ns.items():
    if k in cfg.settings:
        cfg.set(k, v)
env_args = cfg.parser().parse_args(cfg.get_cmd_args_from_env())  # GUNICORN_CMD_ARGS wins, as in gunicorn
for k, v in vars(env_args).items():
    if v is not None and k != "args" and k.lower() in cfg.settings:
        cfg.set(k.lower(), v)
wc = cfg.worker_class_str
if wc == "sync" and cfg.threads > 1:
    wc = "gthread"  # what gunicorn itself runs
print(json.dumps({"worker_class": wc, "workers": cfg.workers, "threads": cfg.threads,
                  "keepalive": cfg.keepalive, "worker_connections": cfg.worker_connections,
                  "timeout": cfg.timeout, "preload_app": cfg.preload_app,
                  "accesslog": cfg.accesslog}))
"""


def gunicorn_settings(conf: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    """The effective worker settings of a gunicorn config file, read by gunicorn itself."""
    full = {**os.environ, **(env or {})}
    if conf != APP_CONF:
        full.pop("GUNICORN_CMD_ARGS", None)
    res = subprocess.run([PY, "-c", _SETTINGS, str(conf)], capture_output=True, text=True, cwd=ROOT, env=full, timeout=60)
    if res.returncode != 0:
        return {"error": res.stderr[-300:]}
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def app_config_keys() -> list[str]:
    """FEEDSVC_* settings the branch's app knows (from feedsvc.config.DEFAULTS; [] if that moved)."""
    res = subprocess.run(
        [PY, "-c", "import json; from feedsvc.config import DEFAULTS; print(json.dumps(list(DEFAULTS)))"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    return list(json.loads(res.stdout)) if res.returncode == 0 else []


def fetch(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """GET without decoding: status, headers, raw body."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def _stat_cpu(pid: int, children: bool = False) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(f[11]) + int(f[12]) + ((int(f[13]) + int(f[14])) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


class Server:
    """A gunicorn master with a config file, stopped by PID."""

    def __init__(self, name: str, app: str, port: int, env: dict[str, str], conf: Path = APP_CONF) -> None:
        self.name, self.port = name, port
        self.base = f"http://127.0.0.1:{port}"
        OUT.mkdir(parents=True, exist_ok=True)
        self.logfile = open(OUT / f"{name}.log", "wb")
        full = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
        full.pop("PORT", None)
        if conf != APP_CONF:
            full.pop("GUNICORN_CMD_ARGS", None)  # a probe of feedsvc's settings never reaches the floor
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [GUNICORN, "-c", str(conf), app], cwd=ROOT, env=full, stdout=self.logfile, stderr=subprocess.STDOUT
        )

    def wait_ready(self, path: str, timeout: float, total: int | None = None, any_status: bool = False) -> float:
        """Seconds since start until ``path`` answers 200 (any status if asked; X-Total-Count == total if given)."""
        while time.perf_counter() - self.t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.logfile.name}")
            try:
                status, headers, _ = fetch(self.base + path, timeout=5)
                if any_status or status == 200 and (total is None or headers.get("X-Total-Count") == str(total)):
                    return time.perf_counter() - self.t0
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout}s")

    def workers(self) -> list[int]:
        """Worker PIDs (the master's children)."""
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            return []
        return sorted(int(k) for k in kids)

    def pids(self) -> list[int]:
        """Master and worker PIDs."""
        return [self.proc.pid, *self.workers()]

    def memory(self) -> dict[str, object]:
        """PSS from /proc/<pid>/smaps_rollup: total over master + workers, and each, with anon/file parts (MB)."""
        each = []
        for pid in self.pids():
            try:
                rows = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
            except OSError:
                continue
            v = {ln.split(":")[0]: int(ln.split()[1]) / 1024 for ln in rows if ln.endswith("kB")}
            each.append(
                {
                    "pid": pid,
                    "pss": v.get("Pss", 0),
                    "anon": v.get("Pss_Anon", 0),
                    "file": v.get("Pss_File", 0),
                    "shmem": v.get("Pss_Shmem", 0),
                }
            )
        workers = each[1:]
        return {
            "pss_total_mb": sum(e["pss"] for e in each),
            "pss_each_mb": [e["pss"] for e in each],
            "anon_total_mb": sum(e["anon"] for e in each),
            "file_total_mb": sum(e["file"] for e in each),
            "master_anon_mb": each[0]["anon"] if each else 0,
            "worker_anon_mb": [e["anon"] for e in workers],
            "worker_anon_mean_mb": sum(e["anon"] for e in workers) / len(workers) if workers else 0,
        }

    def cpu_s(self) -> float:
        """User+system CPU seconds of master (with its reaped children) and workers so far."""
        total = 0.0
        for i, pid in enumerate(self.pids()):
            try:
                total += _stat_cpu(pid, children=i == 0)
            except OSError:
                pass
        return total

    def sched(self) -> tuple[float, float, int]:
        """Scheduler totals of every thread of master and workers so far (/proc/PID/task/*/schedstat):
        seconds on a CPU, seconds runnable but waiting for one, and times switched in."""
        on = wait = switches = 0
        for pid in self.pids():
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    a, b, c = (int(x) for x in Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[:3])
                except (OSError, ValueError):
                    continue
                on, wait, switches = on + a, wait + b, switches + c
        return on / 1e9, wait / 1e9, switches

    def stop(self) -> None:
        """SIGTERM the master (graceful) for 5 s, then SIGQUIT (quick), then SIGKILL it and any worker left."""
        pids = self.pids()
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGQUIT, 10), (signal.SIGKILL, 10)):
            if self.proc.poll() is not None:
                break
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        for pid in pids[1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.logfile.close()


def app_env(root: Path, index: Path, keys: list[str], **extra: str) -> dict[str, str]:
    """FEEDSVC_* variables for a corpus: content dir, the database file, the old parse cache if known."""
    env = {"FEEDSVC_CONTENT_DIR": str(root), "FEEDSVC_INDEX_PATH": str(index)}
    if "INDEX_PATH" not in keys and "PARSE_CACHE_DIR" in keys:  # the in-memory core's pickled cache
        env["FEEDSVC_PARSE_CACHE_DIR"] = str(index.with_suffix(".pcache"))
    env.update(extra)
    return env


def drop_index(index: Path) -> None:
    """Delete a corpus's database (and its WAL/SHM/lock files) and the old parse cache."""
    import shutil

    for p in index.parent.glob(index.name + "*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    shutil.rmtree(index.with_suffix(".pcache"), ignore_errors=True)
