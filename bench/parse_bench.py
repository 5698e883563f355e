"""CPU of the parse workers' job, in one process: parse a feed body, then match its items.

    .venv/bin/python bench/parse_bench.py            # the poll benchmark's 200 feeds, best of 7
    .venv/bin/python bench/parse_bench.py --feeds 1000 --repeat 3 --json

The bodies are the poll benchmark's own (``bench/feedserver.py``: plain RSS 2.0, 20-50 items a
feed, HTML summaries, 3 % of the titles about the story), rendered here without a server.
Each pass times ``parse_feed`` over every body, then ``analyse`` (parse, match against the
shipped seed, content hash and dedupe key of each item: what a worker does per body). CPU
time of this process, best of ``--repeat`` passes: steadier than wall clock on a shared
machine, and what a first poll spends in its two workers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from feedserver import render  # noqa: E402

from pipeline.analysis import SeedMatchers, analyse  # noqa: E402
from pipeline.parsing import parse_feed  # noqa: E402
from pipeline.types import SeedSource  # noqa: E402

SEED_ID = "pk-alibaba-2026"
ARTICLE = ROOT / "seeds" / "pakistan-alibaba-2026.txt"
PROFILE = ROOT / "seeds" / "pakistan-alibaba-2026.toml"
CONTENT_TYPE = "application/rss+xml; charset=utf-8"


def best_cpu(passes: int, work: Any) -> float:
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7, help="passes; the best one counts")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    bodies = [(render(n, 0).raw, f"http://127.0.0.1/f/{n}.xml") for n in range(args.feeds)]
    seed = SeedSource(
        id=SEED_ID,
        article=ARTICLE.read_text(encoding="utf-8"),
        profile=PROFILE.read_text(encoding="utf-8"),
        source=str(PROFILE),
    )
    matchers = SeedMatchers((seed,))
    items = sum(len(parse_feed(body, url, CONTENT_TYPE).items) for body, url in bodies)
    parse = best_cpu(args.repeat, lambda: [parse_feed(b, u, CONTENT_TYPE) for b, u in bodies])
    whole = best_cpu(
        args.repeat, lambda: [analyse(matchers, b, u, CONTENT_TYPE) for b, u in bodies]
    )
    result = {
        "feeds": args.feeds,
        "items": items,
        "bytes": sum(len(body) for body, _ in bodies),
        "parse_ms": round(parse * 1000, 1),
        "analyse_ms": round(whole * 1000, 1),
        "parse_us_per_item": round(parse / items * 1e6, 1),
        "analyse_us_per_item": round(whole / items * 1e6, 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.feeds} feeds, {items} items, {result['bytes'] / 1e6:.1f} MB: "
        f"parse {result['parse_ms']:.0f} ms ({result['parse_us_per_item']} µs/item), "
        f"parse + match {result['analyse_ms']:.0f} ms ({result['analyse_us_per_item']} µs/item); "
        f"CPU, best of {args.repeat}"
    )


if __name__ == "__main__":
    main()
