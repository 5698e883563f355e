"""Throughput of `followup classify`, beside a naive fuzzy loop over the same items.

    .venv/bin/python bench/classify_bench.py            # 50,000 items, the shipped seed
    .venv/bin/python bench/classify_bench.py --json     # one JSON object instead of text

Items (title + ~400-character summary) are generated deterministically from the labeled
dev set: each title is a dev title, each summary a window of the dev summaries at a seeded
random offset, so no two summaries are alike. The whole `followup classify` process is timed
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

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
SEED_ID = "pk-alibaba-2026"
ARTICLE = ROOT / "seeds" / "pakistan-alibaba-2026.txt"
PROFILE = ROOT / "seeds" / "pakistan-alibaba-2026.toml"
TARGET_RATE = 20_000  # items/s for the whole process (issue 3)
TARGET_RATIO = 5.0  # times the naive loop


def make_items(count: int, seed: int = 2026) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    corpus = " ".join((row.get("summary") or row["title"]) for row in rows)
    rng = random.Random(seed)
    items = []
    for index in range(count):
        row = rows[rng.randrange(len(rows))]
        start = rng.randrange(max(1, len(corpus) - 400))
        items.append(
            {
                "id": f"bench-{index}",
                "title": row["title"],
                "summary": corpus[start : start + 400],
                "lang": row.get("lang") or "",
            }
        )
    return items


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    items = make_items(args.items)
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
        elapsed, cpu, lines = run_classify(items_path, config_path, args.jobs)
    if lines != args.items:
        sys.exit(f"classify printed {lines} lines for {args.items} items")
    naive_elapsed, alias_count = run_naive(items[: args.naive_items])
    rate = args.items / elapsed
    naive_rate = args.naive_items / naive_elapsed
    result = {
        "items": args.items,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),
        "load_average": round(os.getloadavg()[0], 2),
        "items_per_second": round(rate),
        "target_items_per_second": TARGET_RATE,
        "naive_items": args.naive_items,
        "naive_aliases": alias_count,
        "naive_items_per_second": round(naive_rate, 1),
        "speedup": round(rate / naive_rate, 1),
        "target_speedup": TARGET_RATIO,
        "cpus": os.cpu_count(),
        "ok": rate >= TARGET_RATE and rate / naive_rate >= TARGET_RATIO,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"followup classify: {args.items} items in {elapsed:.2f} s = {rate:,.0f} items/s "
        f"(target {TARGET_RATE:,}) on {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}; {cpu:.2f} CPU seconds = {cpu / args.items * 1e6:.0f} µs/item\n"
        f"naive partial_ratio loop ({alias_count} aliases): {naive_rate:,.1f} items/s "
        f"on {args.naive_items} of the same items\n"
        f"speedup: {rate / naive_rate:,.0f}x (target {TARGET_RATIO:g}x)  "
        f"{'OK' if result['ok'] else 'BELOW TARGET'}"
    )


if __name__ == "__main__":
    main()
