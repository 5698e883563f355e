"""Throughput of `followup classify`, beside a naive fuzzy loop over the same items.

    .venv/bin/python bench/classify_bench.py            # 50,000 items, the shipped seed
    .venv/bin/python bench/classify_bench.py --json     # one JSON object instead of text
    .venv/bin/python bench/classify_bench.py --summaries short   # only the 400-character set

Two item sets, both generated deterministically from the labeled dev set, each title a dev
title: "short" summaries are one 400-character window of the dev summaries at a seeded random
offset; "long" summaries (what real RSS summaries look like) join 2-6 such windows of
varying length from different places, 300-2,000 characters in all, so one summary mixes
scripts and stories. No two summaries are alike. The whole `followup classify` process is timed
(start-up, config, profile compilation, JSON in and out). The naive baseline runs in this
process on the first `--naive-items` of the same items: `fuzz.partial_ratio` of every alias
of the profile against title + summary, which is what a matcher without an exact pass does.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SEED_ID = "pk-alibaba-2026"
ARTICLE = ROOT / "seeds" / "pakistan-alibaba-2026.txt"
PROFILE = ROOT / "seeds" / "pakistan-alibaba-2026.toml"
TARGET_RATE = {"short": 20_000, "long": 25_000}  # items/s, whole process (issues 3 and 11)
LONG_CHARS = (300, 2_000)
TARGET_RATIO = 5.0  # times the naive loop


def make_items(count: int, summaries: str = "short", seed: int = 2026) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    corpus = " ".join((row.get("summary") or row["title"]) for row in rows)
    rng = random.Random(seed)
    window = _long_summary if summaries == "long" else _short_summary
    items = []
    for index in range(count):
        row = rows[rng.randrange(len(rows))]
        items.append(
            {
                "id": f"bench-{index}",
                "title": row["title"],
                "summary": window(corpus, rng),
                "lang": row.get("lang") or "",
            }
        )
    return items


def _short_summary(corpus: str, rng: random.Random) -> str:
    start = rng.randrange(max(1, len(corpus) - 400))
    return corpus[start : start + 400]


def _long_summary(corpus: str, rng: random.Random) -> str:
    """300-2,000 characters: windows of 100-600 characters from anywhere in the dev texts,
    so scripts and stories mix within one summary."""
    wanted = rng.randint(*LONG_CHARS)
    parts: list[str] = []
    size = 0
    while size < wanted:
        length = min(rng.randint(100, 600), wanted - size)
        start = rng.randrange(max(1, len(corpus) - length))
        parts.append(corpus[start : start + length])
        size += length + 1
    return " ".join(parts)[:wanted]


def run_classify(items_path: Path, config_path: Path, jobs: int | None) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and its workers, lines printed)."""
    command = [sys.executable, "-m", "pipeline", "classify", str(items_path)]
    command += ["--config", str(config_path)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    env = {k: v for k, v in os.environ.items() if k != "FOLLOWUP_CONFIG"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, cwd=ROOT, env=env, check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"classify failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed, cpu, done.stdout.count(b"\n")


def run_naive(items: list[dict[str, str]]) -> tuple[float, int]:
    from rapidfuzz import fuzz

    sys.path.insert(0, str(ROOT))
    from pipeline.profile import load_profile
    from pipeline.text import normalize

    profile = load_profile(
        PROFILE.read_text(encoding="utf-8"), seed_id=SEED_ID, source=str(PROFILE)
    )
    aliases = [a.norm for e in profile.entities for a in e.aliases]
    aliases += [p.norm for t in profile.topics for p in t.phrases]
    started = time.perf_counter()
    for item in items:
        text = normalize(f"{item['title']} {item['summary']}")
        for alias in aliases:
            fuzz.partial_ratio(alias, text, score_cutoff=90)
    return time.perf_counter() - started, len(aliases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--naive-items", type=int, default=1_000)
    parser.add_argument("--jobs", type=int, default=None, help="passed to classify --jobs")
    parser.add_argument(
        "--summaries", choices=("both", "short", "long"), default="both", help="item sets"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sets = ("short", "long") if args.summaries == "both" else (args.summaries,)
    runs = {name: measure_set(name, args.items, args.jobs) for name in sets}
    first = make_items(args.naive_items, sets[0])
    naive_elapsed, alias_count = run_naive(first)
    naive_rate = args.naive_items / naive_elapsed
    for run in runs.values():
        run["speedup"] = round(run["items_per_second"] / naive_rate, 1)
    result = {
        "items": args.items,
        "sets": runs,
        "naive_items": args.naive_items,
        "naive_aliases": alias_count,
        "naive_items_per_second": round(naive_rate, 1),
        "target_speedup": TARGET_RATIO,
        "cpus": os.cpu_count(),
        "ok": all(run["ok"] and run["speedup"] >= TARGET_RATIO for run in runs.values()),
    }
    if args.json:
        print(json.dumps(result))
        return
    for name, run in runs.items():
        print(
            f"followup classify, {name} summaries ({run['summary_chars']} chars): "
            f"{args.items} items in {run['seconds']:.2f} s = {run['items_per_second']:,} items/s "
            f"(target {run['target_items_per_second']:,}) on {os.cpu_count()} CPUs, load average "
            f"{run['load_average']:.1f}; {run['cpu_seconds']:.2f} CPU seconds = "
            f"{run['cpu_seconds'] / args.items * 1e6:.0f} µs/item"
        )
    print(
        f"naive partial_ratio loop ({alias_count} aliases): {naive_rate:,.1f} items/s "
        f"on {args.naive_items} of the {sets[0]} items\n"
        + "  ".join(f"speedup ({n}): {r['speedup']:,.0f}x" for n, r in runs.items())
        + f" (target {TARGET_RATIO:g}x)  {'OK' if result['ok'] else 'BELOW TARGET'}"
    )


def measure_set(name: str, count: int, jobs: int | None) -> dict[str, Any]:
    """Time one whole `followup classify` process over ``count`` items of one set."""
    items = make_items(count, name)
    lengths = sorted(len(item["summary"]) for item in items)
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as folder:
        items_path = Path(folder) / "items.jsonl"
        with items_path.open("w", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        config_path = Path(folder) / "followup.toml"
        config_path.write_text(
            f'[[seeds]]\nid = "{SEED_ID}"\narticle = {json.dumps(str(ARTICLE))}\n'
            f"profile = {json.dumps(str(PROFILE))}\n",
            encoding="utf-8",
        )
        elapsed, cpu, lines = run_classify(items_path, config_path, jobs)
    if lines != count:
        sys.exit(f"classify printed {lines} lines for {count} items")
    rate = count / elapsed
    return {
        "summary_chars": f"{lengths[0]}-{lengths[-1]}, median {lengths[len(lengths) // 2]}",
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),
        "load_average": round(os.getloadavg()[0], 2),
        "items_per_second": round(rate),
        "target_items_per_second": TARGET_RATE[name],
        "ok": rate >= TARGET_RATE[name],
    }


if __name__ == "__main__":
    main()
