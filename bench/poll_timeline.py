"""Where one whole `followup poll --once` process spends its time, phase by phase.

    .venv/bin/python bench/poll_timeline.py            # 200 feeds, the unchanged cycle
    .venv/bin/python bench/poll_timeline.py --feeds 1000

Starts the benchmark's feed server (bench/feedserver.py, 50 ms latency, 10 origins), polls
once so every feed is known, then runs the poll again in a fresh process that stamps each
phase (wall clock and CPU since the interpreter started): imports, building the runtime,
syncing the config, the batch of fetches, exit.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from poll_bench import FeedServer, _followup_config  # noqa: E402

# Run in the child: wraps the phases of the poll command and prints a stamp after each.
STAMPED = """
import atexit, sys, time
marks = []
def mark(name): marks.append((name, time.perf_counter(), time.process_time()))
mark("start")
import pipeline.cli
mark("imports: the command line")
import pipeline.bootstrap as bootstrap, pipeline.service as service
mark("imports: the runtime and storage")
import pipeline.fetching
mark("imports: the HTTP stack")
import pipeline.service.polling as polling
def wrap(owner, name, label):
    original = getattr(owner, name)
    if name == "_poll_batch":
        async def timed(*args, **kwargs):
            mark(label + " begins"); result = await original(*args, **kwargs); mark(label)
            return result
    else:
        def timed(*args, **kwargs):
            result = original(*args, **kwargs); mark(label); return result
    setattr(owner, name, timed)
wrap(bootstrap, "build", "runtime built")
wrap(service.Service, "prepare", "config synced with the database")
wrap(polling.Poller, "_poll_batch", "batch of fetches")
@atexit.register
def show():
    mark("exit")
    (_, t0, c0) = marks[0]
    for name, t, c in marks[1:]:
        print(f"{t - t0:7.3f} s  cpu {c - c0:6.3f} s  {name}", file=sys.stderr)
sys.argv = ["followup", *sys.argv[1:]]
pipeline.cli.main()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    args = parser.parse_args()
    server = FeedServer.start(args.feeds, 0.05)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = _followup_config(server.urls(args.feeds), Path(tmp))
            command = ["poll", "--once", "--json", "--config", str(config)]
            first = [str(Path(sys.executable).with_name("followup")), *command]
            subprocess.run(first, cwd=tmp, check=True, capture_output=True)
            print(f"unchanged poll of {args.feeds} feeds, one process:", flush=True)
            subprocess.run([sys.executable, "-c", STAMPED, *command], cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
