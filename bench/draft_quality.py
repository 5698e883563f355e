"""Drafted versus curated profile: precision, direct and thread recall side by side.

    .venv/bin/python bench/draft_quality.py [--eval ../shared/eval/dev.jsonl] [--misses]
    .venv/bin/python bench/draft_quality.py --short     # also from the seeds' first paragraphs

Scores, on the shared dev set, the profile `followup seed draft` writes from
seeds/pakistan-alibaba-2026.txt alone beside the curated seeds/pakistan-alibaba-2026.toml;
then every labelled story under tests/data/stories/<id>/ (seed.txt, items.jsonl, and a
curated profile.toml when there is one), where the drafter was not written for the story;
and bench/seeds/pakistan-alibaba-2026.ur.txt, the story briefed in Urdu.
With --short, each story is also drafted from the first 1, 2 and 3 paragraphs of its seed
alone: users paste briefs and leads, not only long articles.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.drafting import draft_profile_toml  # noqa: E402
from pipeline.errors import ConfigError  # noqa: E402
from pipeline.evaluation import Metrics, evaluate, labeled_from_json  # noqa: E402
from pipeline.matching import Matcher  # noqa: E402
from pipeline.profile import Profile, load_profile  # noqa: E402

SEEDS = ROOT / "seeds"
STORIES = ROOT / "tests" / "data" / "stories"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def score(profile: Profile, rows: list, show_misses: bool) -> tuple[Metrics, dict[str, Metrics]]:
    matcher = Matcher(profile)
    results = [matcher.match(row.item) for row in rows]
    report = evaluate(rows, results, threshold=profile.threshold, seed=profile.seed_id)
    if show_misses:
        for case in report.misses:
            print(f"    miss  [{case.lang} {case.label}] {case.title[:90]}")
        for case in report.false_positives:
            print(f"    false [{case.lang} {case.label}] {case.title[:90]}")
    return report.overall, dict(report.languages)


def line(name: str, m: Metrics) -> str:
    return (
        f"  {name:<9} P {m.precision:.3f}  DR {m.direct_recall:.3f} ({m.direct_found}/{m.direct})"
        f"  TR {m.thread_recall:.3f} ({m.thread_found}/{m.thread})  matched {m.matched}"
    )


def languages(drafted: dict[str, Metrics], curated: dict[str, Metrics] | None) -> None:
    for lang, m in sorted(drafted.items()):
        if m.direct or m.thread:
            other = curated.get(lang) if curated else None
            tail = f"   curated DR {other.direct_recall:.2f}" if other else ""
            print(f"    {lang}: drafted DR {m.direct_recall:.2f} ({m.direct_found}/{m.direct})"
                  f" TR {m.thread_recall:.2f}{tail}")  # fmt: skip


def story(
    title: str, article: str, items: Path, curated: Path | None, misses: bool, short: bool
) -> None:
    rows = [labeled_from_json(json.loads(x)) for x in items.read_text().splitlines() if x.strip()]
    started = time.perf_counter()
    toml_text = draft_profile_toml(article, "drafted")
    took = (time.perf_counter() - started) * 1000
    drafted = load_profile(toml_text, seed_id="drafted", source="(drafted)")
    print(f"{title}: {len(rows)} items ({items}); drafting took {took:.0f} ms")
    d_overall, d_lang = score(drafted, rows, misses)
    print(line("drafted", d_overall))
    c_lang = None
    if curated is not None and curated.exists():
        prof = load_profile(curated.read_text(), seed_id="curated", source=str(curated))
        c_overall, c_lang = score(prof, rows, False)
        print(line("curated", c_overall))
    languages(d_lang, c_lang)
    if short:
        paragraphs = [p for p in article.split("\n\n") if p.strip()]
        for count in (1, 2, 3):
            lead = "\n\n".join(paragraphs[:count])
            name = f"first {count} ¶ ({len(lead.split())} words)"
            try:
                profile = load_profile(draft_profile_toml(lead, "d"), seed_id="d", source="-")
            except ConfigError as exc:  # nothing to draft from so little
                print(f"  {name}: {exc}")
                continue
            print(line(name, score(profile, rows, False)[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEV)
    parser.add_argument("--misses", action="store_true", help="List the drafted misses.")
    parser.add_argument(
        "--short", action="store_true", help="Also draft from the first paragraphs."
    )
    args = parser.parse_args()
    seed = SEEDS / "pakistan-alibaba-2026"
    story("pakistan-alibaba-2026", seed.with_suffix(".txt").read_text(), args.eval,
          seed.with_suffix(".toml"), args.misses, args.short)  # fmt: skip
    # The same story as an Urdu outlet would brief it: no capitals to tell names by.
    urdu = Path(__file__).parent / "seeds" / "pakistan-alibaba-2026.ur.txt"
    print()
    story("pakistan-alibaba-2026, Urdu brief", urdu.read_text(), args.eval, None, args.misses,
          args.short)  # fmt: skip
    for folder in sorted(p for p in STORIES.glob("*") if (p / "items.jsonl").exists()):
        print()
        story(folder.name, (folder / "seed.txt").read_text(), folder / "items.jsonl",
              folder / "profile.toml", args.misses, args.short)  # fmt: skip


if __name__ == "__main__":
    main()
