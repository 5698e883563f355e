"""Poll benchmark: followup against lemon24's ``reader`` on one loopback feed server.

    .venv/bin/python bench/poll_bench.py            # 200 and 1,000 feeds, ten cycles each
    .venv/bin/python bench/poll_bench.py --quick    # 200 feeds only

For each size a fresh ``feedserver.py`` subprocess serves the feeds on 10 loopback ports
(10 origins) with 50 ms latency per response. Each client runs in a subprocess of its own
and polls every feed ten times. The clients take turns on the same server state, cycle by
cycle (the order alternates), so both do the same work and a change in the machine's load
hits both: cycle 1 is the first poll (every feed new), even cycles change nothing, odd
cycles from 3 on have 5 % of the feeds gain an item first.

followup runs through its real path: ``pipeline.bootstrap.build`` on a config written to a
temp folder (defaults everywhere, the shipped seed), then ``Service.poll(force=True)``,
which is what ``followup poll --once`` does. ``reader`` runs
``update_feeds_iter(workers=16, scheduled=False)`` (``update_feeds`` that also yields the
per-feed results, so both clients' work can be checked against each other).

Memory is the whole process tree of a client (its worker processes included), read from
/proc: the sum of PSS sampled every 200 ms (shared pages split between the processes that
share them; smaps is not read more often because reading it costs the sampled processes
too) and the sum of each process's peak RSS (VmHWM: shared pages counted in each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CYCLES = 10
CHANGED_FRACTION = 0.05
# followup must be this many times faster than reader, and its process tree this small.
# command mode (issue 11) is judged at every size; service mode (issue 4) at 1,000 feeds.
TARGETS = {
    "command": {"first": 3.0, "unchanged": 2.5},
    "service": {"first": 3.0, "unchanged": 2.0},
}
TARGET_FEEDS = {"command": 200, "service": 1000}
PSS_LIMIT_MB = {"command": 150.0, "service": 200.0}
RSS_LIMIT_MB = {"command": 200.0, "service": float("inf")}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cycle_kind(cycle: int) -> str:
    if cycle == 1:
        return "first"
    return "unchanged" if cycle % 2 == 0 else "changed"


# -- the driver ------------------------------------------------------------------------------


@dataclass
class FeedServer:
    process: subprocess.Popen[bytes]
    ports: list[int]

    @classmethod
    def start(cls, feeds: int, latency: float) -> FeedServer:
        process = subprocess.Popen(
            [sys.executable, str(HERE / "feedserver.py"), "--feeds", str(feeds),
             "--latency", str(latency), "--max-seconds", "3600"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        ports = json.loads(process.stdout.readline())["ports"]
        return cls(process, ports)

    def urls(self, feeds: int) -> list[str]:
        return [
            f"http://127.0.0.1:{self.ports[n % len(self.ports)]}/f/{n}.xml" for n in range(feeds)
        ]

    def control(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.ports[0]}/_bench/{path}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.load(response)

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()  # the server exits on EOF
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class TreeSampler:
    """Peak RSS and PSS of a process and all its descendants, sampled in a thread, and the
    CPU time they used meanwhile."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0.0
        self.processes = 0
        self._start_cpu = {p: _cpu_seconds(p) for p in descendants(pid)}
        self._start_children = _reaped_children_cpu()
        self.children_cpu_seconds = 0.0  # of processes this one waited for (the command's tree)
        self._last_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def cpu_seconds(self) -> float:
        return sum(cpu - self._start_cpu.get(pid, 0.0) for pid, cpu in self._last_cpu.items())

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.children_cpu_seconds = _reaped_children_cpu() - self._start_children

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        pids = descendants(self.pid)
        rss = sum(_status_kb(pid, "VmHWM:") for pid in pids) / 1024  # each one's peak
        pss = sum(_pss_kb(pid) for pid in pids) / 1024
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        self.processes = max(self.processes, len(pids))
        for pid in pids:
            cpu = _cpu_seconds(pid)
            if cpu:  # 0.0: the process is gone; keep what it had used
                self._last_cpu[pid] = cpu


def _reaped_children_cpu() -> float:
    """CPU seconds of this process's reaped children and what they reaped in turn."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _status_kb(pid: int, key: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def _pss_kb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return float(line.split()[1])
    except OSError:
        pass
    return 0.0


@dataclass
class Cycle:
    number: int
    kind: str
    seconds: float
    summary: dict[str, Any]
    peak_rss_mb: float
    peak_pss_mb: float
    processes: int
    cpu_seconds: float  # the client's whole process tree
    server_cpu_seconds: float


@dataclass
class ClientRun:
    client: str
    setup_seconds: float = 0.0
    cycles: list[Cycle] = field(default_factory=list)

    def seconds(self, kind: str) -> float:
        return statistics.median(c.seconds for c in self.cycles if c.kind == kind)

    def cpu(self, kind: str) -> float:
        return statistics.median(c.cpu_seconds for c in self.cycles if c.kind == kind)


class ClientProcess:
    """One client in its own subprocess: set up once, then one poll per ``cycle()``."""

    def __init__(self, client: str, urls: list[str], workdir: Path) -> None:
        urls_file = workdir / "urls.txt"
        urls_file.write_text("\n".join(urls) + "\n")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "client", client, str(urls_file), str(workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=workdir,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.run = ClientRun(client, json.loads(self.stdout.readline())["setup_seconds"])

    def cycle(self, number: int, server: FeedServer) -> None:
        kind, client = cycle_kind(number), self.run.client
        server_cpu = _cpu_seconds(server.process.pid)
        with TreeSampler(self.process.pid) as memory:
            self.stdin.write("cycle\n")
            self.stdin.flush()
            answer = json.loads(self.stdout.readline())
        server_cpu = _cpu_seconds(server.process.pid) - server_cpu
        self.run.cycles.append(
            Cycle(
                number, kind, answer["seconds"], answer["summary"],
                memory.peak_rss, memory.peak_pss, memory.processes,
                memory.cpu_seconds, server_cpu,
            )
        )  # fmt: skip
        print(f"  {client:8} cycle {number:2} {kind:9} {answer['seconds']:7.2f} s  "
              f"CPU {memory.cpu_seconds:6.2f} s (server {server_cpu:4.2f} s)  "
              f"PSS {memory.peak_pss:6.1f} MB  RSS {memory.peak_rss:6.1f} MB  "
              f"{_brief(answer['summary'])}", flush=True)  # fmt: skip

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=120)


class CommandClient:
    """One client run as its user runs it: a new process per cycle, from start-up to exit.

    followup: ``followup poll --once --json --config followup.toml`` (the config lists every
    feed, so each run also syncs the feed list). reader: ``python -m reader --db reader.sqlite
    update --no-scheduled --workers 16``, its feeds added once before the first cycle (reader
    keeps its feed list in its database, not in a file).
    """

    def __init__(self, client: str, urls: list[str], workdir: Path) -> None:
        self.workdir = workdir
        started = time.perf_counter()
        if client == "followup":
            config = _followup_config(urls, workdir)
            self.command = [str(Path(sys.executable).with_name("followup")), "poll", "--once",
                            "--json", "--config", str(config)]  # fmt: skip
        else:
            _add_reader_feeds(urls, workdir)
            self.command = [sys.executable, "-m", "reader", "--db", "reader.sqlite", "update",
                            "--no-scheduled", "--workers", "16"]  # fmt: skip
        self.run = ClientRun(client, time.perf_counter() - started)
        self.urls = urls

    def cycle(self, number: int, server: FeedServer) -> None:
        kind, client = cycle_kind(number), self.run.client
        server_cpu = _cpu_seconds(server.process.pid)
        started = time.perf_counter()
        process = subprocess.Popen(
            self.command, cwd=self.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        with TreeSampler(process.pid, interval=0.1) as memory:
            out, err = process.communicate(timeout=600)
            seconds = time.perf_counter() - started
        if process.returncode != 0:
            raise SystemExit(f"{client} cycle {number}: exit {process.returncode}: {err[-400:]!r}")
        server_cpu = _cpu_seconds(server.process.pid) - server_cpu
        # Sampling misses a process's last 0.1 s; rusage misses a grandchild whose parent was
        # not reaped (multiprocessing's fork server): the larger is the closer lower bound.
        cpu = max(memory.cpu_seconds, memory.children_cpu_seconds)
        summary = _summary(client, out, self.workdir, len(self.urls))
        self.run.cycles.append(
            Cycle(number, kind, seconds, summary, memory.peak_rss, memory.peak_pss,
                  memory.processes, cpu, server_cpu)
        )  # fmt: skip
        print(f"  {client:8} cycle {number:2} {kind:9} {seconds:7.2f} s  "
              f"CPU {cpu:6.2f} s (server {server_cpu:4.2f} s)  "
              f"PSS {memory.peak_pss:6.1f} MB  RSS {memory.peak_rss:6.1f} MB  "
              f"{_brief(summary)}", flush=True)  # fmt: skip

    def close(self) -> None:
        pass


def _summary(client: str, out: bytes, workdir: Path, feeds: int) -> dict[str, Any]:
    if client == "followup":
        summary = json.loads(out)
        summary["errors"] = summary["errors"][:3]
        return summary
    import sqlite3

    with sqlite3.connect(workdir / "reader.sqlite") as db:
        (entries,) = db.execute("SELECT count(*) FROM entries").fetchone()
    return {"feeds": feeds, "entries": entries}


def _add_reader_feeds(urls: list[str], workdir: Path) -> None:
    from reader import make_reader

    with make_reader(str(workdir / "reader.sqlite")) as reader:
        for url in urls:
            reader.add_feed(url, exist_ok=True)


def _brief(summary: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in summary.items() if k != "errors")


def bench_size(feeds: int, clients: list[str], latency: float, mode: str) -> dict[str, ClientRun]:
    """Every client polls the same server state in turn, cycle by cycle (the order alternates),
    so a change in the machine's load hits both alike."""
    print(f"\n== {feeds} feeds, {CYCLES} cycles, {latency * 1000:g} ms latency, {mode} mode ==",
          flush=True)  # fmt: skip
    make = CommandClient if mode == "command" else ClientProcess
    server = FeedServer.start(feeds, latency)
    running: list[ClientProcess | CommandClient] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
            for client in clients:
                (Path(tmp) / client).mkdir()
                running.append(make(client, server.urls(feeds), Path(tmp) / client))
            for number in range(1, CYCLES + 1):
                if cycle_kind(number) == "changed":
                    server.control(f"advance?fraction={CHANGED_FRACTION}&seed={number}")
                turn = running if number % 2 else running[::-1]
                for process in turn:
                    process.cycle(number, server)
            for process in running:
                process.close()
    finally:
        for process in running:
            if isinstance(process, ClientProcess) and process.process.poll() is None:
                process.process.kill()
        server.stop()
    return {process.run.client: process.run for process in running}


def report(feeds: int, runs: dict[str, ClientRun], mode: str) -> list[str]:
    """Print the comparison table; return the targets missed."""
    ours, theirs = runs.get("followup"), runs.get("reader")
    missed: list[str] = []
    print(f"\n{feeds} feeds           followup     reader   ratio (reader / followup)"
          "   CPU s: followup  reader")  # fmt: skip
    for kind in ("first", "unchanged", "changed"):
        a = ours.seconds(kind) if ours else float("nan")
        b = theirs.seconds(kind) if theirs else float("nan")
        ratio = b / a if ours and theirs else float("nan")
        target = TARGETS[mode].get(kind) if feeds >= TARGET_FEEDS[mode] else None
        verdict = "" if target is None else ("ok" if ratio >= target else "MISSED")
        label = {"first": "first cycle", "unchanged": "unchanged", "changed": "5 % changed"}[kind]
        cpu = f"{ours.cpu(kind) if ours else float('nan'):6.2f} {theirs.cpu(kind) if theirs else float('nan'):7.2f}"
        print(f"  {label:16} {a:8.2f} s {b:8.2f} s   {ratio:5.2f}x"
              f"{f'  (target >= {target:g}x: {verdict})' if target else '':28}   {cpu}")  # fmt: skip
        if verdict == "MISSED":
            missed.append(f"{feeds} feeds {label}: {ratio:.2f}x < {target:g}x")
    if ours:
        peaks = [c.peak_pss_mb for c in ours.cycles]
        rss = [c.peak_rss_mb for c in ours.cycles]
        print(f"  followup memory (process tree, {max(c.processes for c in ours.cycles)} "
              f"processes): peak PSS {max(peaks):.1f} MB, peak RSS sum {max(rss):.1f} MB; "
              f"PSS by cycle {' '.join(f'{p:.0f}' for p in peaks)}")  # fmt: skip
        if max(peaks) > PSS_LIMIT_MB[mode]:
            missed.append(f"{feeds} feeds: peak PSS {max(peaks):.0f} MB > {PSS_LIMIT_MB[mode]:g}")
        if max(rss) > RSS_LIMIT_MB[mode]:
            missed.append(f"{feeds} feeds: RSS sum {max(rss):.0f} MB > {RSS_LIMIT_MB[mode]:g}")
        if peaks[-1] > peaks[2] * 1.15 + 5:
            missed.append(f"{feeds} feeds: memory grows ({peaks[2]:.0f} → {peaks[-1]:.0f} MB)")
    if theirs:
        print(f"  reader memory: peak PSS {max(c.peak_pss_mb for c in theirs.cycles):.1f} MB")
    return missed


def main() -> int:
    global CYCLES
    parser = argparse.ArgumentParser(description="followup vs reader on a loopback feed server")
    parser.add_argument("--quick", action="store_true", help="200 feeds only")
    parser.add_argument("--feeds", type=int, nargs="*", help="sizes (default: 200 1000)")
    parser.add_argument("--clients", nargs="*", default=["followup", "reader"])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--cycles", type=int, default=CYCLES, help="cycles per client (>= 3)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--mode",
        choices=["command", "service"],
        default="command",
        help="command: a new process per cycle (`followup poll --once`, `python -m reader "
        "update`), start-up included; service: one process polls every cycle (`followup run`)",
    )
    args = parser.parse_args()
    sizes = args.feeds or ([200] if args.quick else [200, 1000])
    CYCLES = max(3, args.cycles)
    print(f"poll benchmark on {os.cpu_count()} cores: {', '.join(args.clients)}")
    results = {feeds: bench_size(feeds, args.clients, args.latency, args.mode) for feeds in sizes}
    missed = [m for feeds, runs in results.items() for m in report(feeds, runs, args.mode)]
    if args.json:
        args.json.write_text(json.dumps(_as_json(results), indent=2))
    print("\nall targets met" if not missed else "\ntargets missed:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


def _as_json(results: dict[int, dict[str, ClientRun]]) -> dict[str, Any]:
    return {
        str(feeds): {
            name: {
                "setup_seconds": run.setup_seconds,
                "cycles": [c.__dict__ for c in run.cycles],
            }
            for name, run in runs.items()
        }
        for feeds, runs in results.items()
    }


# -- the clients (each in its own subprocess) ------------------------------------------------


def client_main(client: str, urls_file: str, workdir: str) -> None:
    """Set up, then poll every feed once per ``cycle`` line on stdin; one JSON line each."""
    urls = Path(urls_file).read_text().split()
    started = time.perf_counter()
    poll = (
        _followup_client(urls, Path(workdir))
        if client == "followup"
        else _reader_client(urls, Path(workdir))
    )
    print(json.dumps({"setup_seconds": time.perf_counter() - started}), flush=True)
    for line in sys.stdin:
        if line.strip() != "cycle":
            break
        started = time.perf_counter()
        summary = poll()
        seconds = time.perf_counter() - started
        print(json.dumps({"seconds": seconds, "summary": summary}), flush=True)


def _followup_client(urls: list[str], workdir: Path) -> Any:
    import asyncio

    from pipeline.bootstrap import build
    from pipeline.config import load_settings

    config = _followup_config(urls, workdir)
    runtime = build(load_settings(str(config), {}), {}, polling=True)
    runtime.service.prepare()
    loop = asyncio.new_event_loop()

    def poll() -> dict[str, Any]:
        summary = loop.run_until_complete(runtime.service.poll(force=True)).to_json()
        summary["errors"] = summary["errors"][:3]
        return summary

    return poll


def _followup_config(urls: list[str], workdir: Path) -> Path:
    """Defaults everywhere, the shipped seed and its profile, every feed."""
    seeds = ROOT / "seeds"
    feeds = "".join(f'\n[[feeds]]\nurl = "{url}"\n' for url in urls)
    config = workdir / "followup.toml"
    config.write_text(
        '[database]\nurl = "sqlite:///followup.db"\n\n[polling]\ninterval_seconds = 900\n\n'
        f'[[seeds]]\nid = "pk-alibaba-2026"\narticle = "{seeds / "pakistan-alibaba-2026.txt"}"\n'
        f'profile = "{seeds / "pakistan-alibaba-2026.toml"}"\n{feeds}'
    )
    return config


def _reader_client(urls: list[str], workdir: Path) -> Any:
    from reader import make_reader

    reader = make_reader(str(workdir / "reader.sqlite"))
    for url in urls:
        reader.add_feed(url, exist_ok=True)

    def poll() -> dict[str, Any]:
        counts = {"feeds": 0, "ok": 0, "not_modified": 0, "failed": 0, "new_items": 0}
        for result in reader.update_feeds_iter(workers=16, scheduled=False):
            counts["feeds"] += 1
            value = result.value
            if isinstance(value, Exception):
                counts["failed"] += 1
            elif value is None:
                counts["not_modified"] += 1
            else:
                counts["ok"] += 1
                counts["new_items"] += value.new
        return counts

    return poll


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        sys.path.insert(0, str(ROOT))
        client_main(*sys.argv[2:5])
    else:
        sys.exit(main())
