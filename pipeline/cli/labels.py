"""`followup tune` and `followup evaluate --labels`: the analyst's labels, put to work.

Both read the stored labels (``ReviewQueries.labelled``), run the seed's matcher on the
labelled items again, and report; ``pipeline.tuning`` does the arithmetic. ``tune`` changes
nothing: it prints what it proposes and what that would change, and ``--out`` writes the
proposed profile to a new file for the operator to adopt.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli.common import config_option, die, lazy_module, settings_from
from pipeline.config import SeedSettings, Settings

if TYPE_CHECKING:  # the database layer and the matcher load only when a command needs them
    from pipeline import tuning
    from pipeline.matching import Matcher
    from pipeline.storage.review import ReviewQueries, StoredCase
    from pipeline.types import MatchResult
else:
    tuning = lazy_module("pipeline.tuning")

DEFAULT_THRESHOLD = 0.5  # the profile format's own default
SWEEP = tuple(round(0.05 * n, 2) for n in range(4, 20))  # 0.20 … 0.95
LISTED = 15  # rows of each list in the text report


@dataclass(frozen=True)
class SeedLabels:
    seed: SeedSettings
    cases: list[tuning.LabelledCase]
    threshold: float  # in force now: the seed's own, else its profile's


def _profile_data(seed: SeedSettings) -> dict[str, Any] | None:
    if seed.profile_text is None:
        return None
    return tomllib.loads(seed.profile_text)


def _threshold(seed: SeedSettings, data: dict[str, Any] | None) -> float:
    if seed.threshold is not None:
        return seed.threshold
    return float((data or {}).get("profile", {}).get("threshold", DEFAULT_THRESHOLD))


def _matcher(seed: SeedSettings, profile_text: str | None, note: str = "") -> Matcher:
    from pipeline.matching import Matcher
    from pipeline.profile import profile_for_seed

    source = str(seed.profile_path or seed.article_path) + note
    return Matcher(profile_for_seed(seed.id, seed.article_text, profile_text, source))


def _seeds(settings: Settings, seed_id: str | None) -> list[SeedSettings]:
    return [settings.seed(seed_id)] if seed_id else list(settings.seeds)


def _load_labels(
    review: ReviewQueries, settings: Settings, seed_id: str | None
) -> list[SeedLabels]:
    found: dict[str, list[tuning.LabelledCase]] = {}
    for seed, case in review.labelled(seed_id):
        relevant = case.label == "relevant"
        found.setdefault(seed, []).append(
            tuning.LabelledCase(case.match_id or 0, case.item, relevant)
        )
    return [
        SeedLabels(seed, found.get(seed.id, []), _threshold(seed, _profile_data(seed)))
        for seed in _seeds(settings, seed_id)
    ]


def _score(matcher: Matcher, cases: list[tuning.LabelledCase]) -> list[tuning.Scored]:
    return [(case, matcher.match(case.item)) for case in cases]


# -- evaluate --labels --------------------------------------------------------------------


def evaluate_labels(
    settings: Settings,
    *,
    seed_id: str | None = None,
    threshold: float | None = None,
    as_json: bool = False,
) -> str:
    """The report of `followup evaluate --labels`: the matcher scored on stored labels."""
    from pipeline.bootstrap import open_store
    from pipeline.storage.review import ReviewQueries

    store = open_store(settings)
    try:
        labels = _load_labels(ReviewQueries(store.engine), settings, seed_id)
    finally:
        store.engine.dispose()
    reports = [_evaluation(entry, threshold) for entry in labels]
    if as_json:
        return json.dumps(reports, ensure_ascii=False) + "\n"
    return "".join(_evaluation_text(report) for report in reports)


def _evaluation(entry: SeedLabels, threshold: float | None) -> dict[str, Any]:
    at = entry.threshold if threshold is None else threshold
    scored = _score(_matcher(entry.seed, entry.seed.profile_text), entry.cases)
    return {
        "seed": entry.seed.id,
        "threshold": at,
        "overall": tuning.metrics(scored, at).to_json(),
        "languages": {k: m.to_json() for k, m in tuning.by_language(scored, at).items()},
        "sweep": [{"threshold": t, **tuning.metrics(scored, t).to_json()} for t in SWEEP],
        "false_positives": [
            _case_json(c, r) for c, r in scored if r.score >= at and not c.relevant
        ],
        "misses": [_case_json(c, r) for c, r in scored if r.score < at and c.relevant],
    }


def _case_json(case: tuning.LabelledCase, result: MatchResult) -> dict[str, Any]:
    return {
        "match": case.match_id,
        "score": round(result.score, 4),
        "title": case.item.title,
        "lang": case.item.lang,
        "reasons": [r.to_json() for r in result.reasons],
    }


def _evaluation_text(report: dict[str, Any]) -> str:
    overall = report["overall"]
    lines = [f"seed {report['seed']}: {overall['labelled']} labelled matches"]
    if not overall["labelled"]:
        lines.append("  no labels yet: label matches on the review page or with `followup label`")
        return "\n".join(lines) + "\n"
    lines.append(f"  at threshold {report['threshold']:.2f}: {_figures(overall)}")
    for lang, figures in report["languages"].items():
        lines.append(f"    {lang:<4} {_figures(figures)}")
    lines.append("  threshold sweep:")
    lines += [f"    {row['threshold']:.2f}  {_figures(row)}" for row in report["sweep"]]
    for title, key in (
        ("still matched, labelled irrelevant", "false_positives"),
        ("no longer matched, labelled relevant", "misses"),
    ):
        rows = report[key]
        lines.append(f"  {title}: {len(rows)}")
        lines += [f"    #{r['match']} {r['score']:.2f} {_short(r['title'])}" for r in rows[:LISTED]]
    return "\n".join(lines) + "\n"


def _figures(m: dict[str, Any]) -> str:
    return (
        f"precision {m['precision']:.2f}  recall {m['recall']:.2f}  F1 {m['f1']:.2f}  "
        f"({m['kept']} of {m['labelled']} kept, {m['relevant']} relevant)"
    )


def _short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- tune ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tuned:
    entry: SeedLabels
    proposal: tuning.Proposal
    before: tuning.Metrics
    after: tuning.Metrics
    appear: list[tuning.Change]
    disappear: list[tuning.Change]
    examined: int
    profile_text: str | None  # the proposed profile, when the profile changes
    entities: list[tuple[tuning.EntityProposal, tuning.EntityPreview]]
    entities_toml: str  # the TOML that adds them, "" when there are none


def tune_seed(
    review: ReviewQueries, entry: SeedLabels, *, since: datetime, limit: int
) -> Tuned | str:
    """The proposal for one seed, or why there is none."""
    scored = _score(_matcher(entry.seed, entry.seed.profile_text), entry.cases)
    problem = tuning.evidence_problem(scored)
    if problem:
        return problem
    data = _profile_data(entry.seed)
    proposal, text, after_scored = _propose(entry, scored, data)
    stored = review.recent_cases(entry.seed.id, since, limit)
    matcher = _matcher(entry.seed, text or entry.seed.profile_text, " (proposed)")
    verdicts = [matcher.match(case.item) for case in stored]
    appear, disappear = tuning.changes(
        [(c.item_id, c.match_id, c.score, c.item) for c in stored], verdicts, proposal.threshold
    )
    base = data if data is not None else tomllib.loads(_drafted(entry.seed))
    now = _matcher(entry.seed, entry.seed.profile_text)
    names = tuning.propose_entities(scored, [case.item for case in stored], base, now.match)
    return Tuned(
        entry=entry,
        proposal=proposal,
        before=tuning.metrics(scored, entry.threshold),
        after=tuning.metrics(after_scored, proposal.threshold),
        appear=appear,
        disappear=disappear,
        examined=len(stored),
        profile_text=text,
        entities=[(name, _preview(entry, scored, stored, base, name)) for name in names],
        entities_toml=tuning.entities_toml(base, names) if names else "",
    )


def _drafted(seed: SeedSettings) -> str:
    """The profile a seed without a profile file is matched with: drafted from its article."""
    from pipeline.profile import draft_profile_toml

    return draft_profile_toml(seed.article_text, seed.id)


def _preview(
    entry: SeedLabels,
    scored: list[tuning.Scored],
    stored: list[StoredCase],
    base: dict[str, Any],
    name: tuning.EntityProposal,
) -> tuning.EntityPreview:
    """Re-score, with the profile plus this one name, the items that hold the name (no
    other item can score differently)."""
    now = _matcher(entry.seed, entry.seed.profile_text)
    text = tuning.dump_toml(tuning.apply_entities(base, [name]))
    proposed = _matcher(entry.seed, text, f" (with {name.name!r})")
    rows = [c for c in stored if tuning.names_in(c.item, name)]
    labelled = [(c, r) for c, r in scored if tuning.names_in(c.item, name)]
    return tuning.entity_preview(
        [(c.item_id, c.match_id, c.score, c.item) for c in rows],
        [now.match(c.item) for c in rows],
        [proposed.match(c.item) for c in rows],
        [c for c, _ in labelled],
        [r for _, r in labelled],
        [proposed.match(c.item) for c, _ in labelled],
        entry.threshold,
    )


def _propose(
    entry: SeedLabels, scored: list[tuning.Scored], data: dict[str, Any] | None
) -> tuple[tuning.Proposal, str | None, list[tuning.Scored]]:
    """Profile changes first (from the current verdicts), then the best threshold for them."""
    notes = []
    if data is None:
        notes.append("the seed has no profile file (it is drafted): only the threshold is tuned")
        aliases, negatives = [], []
    else:
        known = tuning.known_phrases(data)
        aliases = tuning.propose_aliases(scored, known)
        negatives = tuning.propose_negatives(scored, known)
    draft = tuning.Proposal(entry.threshold, tuple(aliases), tuple(negatives))
    text = (
        tuning.dump_toml(tuning.apply_proposal(data, draft))
        if data and draft.changes_profile
        else None
    )
    after = _score(_matcher(entry.seed, text, " (proposed)"), entry.cases) if text else scored
    threshold = tuning.propose_threshold(after, entry.threshold)
    proposal = tuning.Proposal(threshold, draft.aliases, draft.negatives, tuple(notes))
    if data is not None and (text or threshold != entry.threshold):
        text = tuning.dump_toml(tuning.apply_proposal(data, proposal))
    return proposal, text, after


@click.command()
@config_option
@click.option("--seed", "seed_id", default=None, help="Only this seed (default: every seed).")
@click.option(
    "--days",
    type=click.IntRange(1),
    default=30,
    show_default=True,
    help="Stored items to re-check: fetched in the last DAYS days.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=20_000,
    show_default=True,
    help="At most this many stored items re-checked.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the proposed profile to this new file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the proposal as JSON.")
@click.option(
    "--entities-toml",
    "as_toml",
    is_flag=True,
    help="Print only the TOML that adds the proposed names to the profile.",
)
@click.pass_context
def tune(
    ctx: click.Context,
    seed_id: str | None,
    days: int,
    limit: int,
    out: str | None,
    as_json: bool,
    as_toml: bool,
) -> None:
    """Propose a threshold and profile changes from the labels; show what they would change.

    Nothing is applied: the proposed profile goes to --out, for you to review and adopt.
    """
    from pipeline.bootstrap import open_store, utcnow
    from pipeline.storage.review import ReviewQueries

    settings = settings_from(ctx)
    store = open_store(settings)
    try:
        review = ReviewQueries(store.engine)
        since = utcnow() - timedelta(days=days)
        results = [
            (entry, tune_seed(review, entry, since=since, limit=limit))
            for entry in _load_labels(review, settings, seed_id)
        ]
    finally:
        store.engine.dispose()
    if as_toml:
        click.echo(_entities_toml(results), nl=False)
    elif as_json:
        click.echo(json.dumps([_tuned_json(e, r) for e, r in results], ensure_ascii=False))
    else:
        click.echo("".join(_tuned_text(e, r) for e, r in results), nl=False)
    if out:
        _write_proposal(out, results)


def _entities_toml(results: list[tuple[SeedLabels, Tuned | str]]) -> str:
    chunks = []
    for entry, result in results:
        if isinstance(result, Tuned) and result.entities_toml:
            target = entry.seed.profile_path or "a profile file (start from `followup seed draft`)"
            chunks.append(f"# seed {entry.seed.id}: add to {target}\n\n{result.entities_toml}")
    return "\n".join(chunks) or "# no names to add\n"


def _write_proposal(out: str, results: list[tuple[SeedLabels, Tuned | str]]) -> None:
    texts = [r.profile_text for _, r in results if isinstance(r, Tuned) and r.profile_text]
    if len(texts) != 1:
        die(
            f"--out writes one seed's profile; {len(texts)} seeds have one to write (use --seed)", 1
        )
    path = Path(out)
    if path.exists():
        die(f"{out}: exists already; --out never overwrites a file", 1)
    header = "# Proposed by `followup tune` from the stored labels. Review, then point the\n"
    header += "# seed's `profile` at this file. Comments of the original are not carried over.\n"
    path.write_text(header + texts[0], encoding="utf-8")
    click.echo(f"proposed profile written to {out}")


def _tuned_json(entry: SeedLabels, result: Tuned | str) -> dict[str, Any]:
    if isinstance(result, str):
        return {"seed": entry.seed.id, "labels": len(entry.cases), "proposal": None, "why": result}
    p = result.proposal
    return {
        "seed": entry.seed.id,
        "labels": len(entry.cases),
        "threshold": {"now": entry.threshold, "proposed": p.threshold},
        "before": result.before.to_json(),
        "after": result.after.to_json(),
        "aliases": [
            {"entity": a.entity, "alias": a.alias, "matches": list(a.seen_in)} for a in p.aliases
        ],
        "negatives": [
            {"term": n.term, "matches": list(n.examples), "items": n.irrelevant_items}
            for n in p.negatives
        ],
        "examined": result.examined,
        "appear": [_change_json(c) for c in result.appear],
        "disappear": [_change_json(c) for c in result.disappear],
        "notes": list(p.notes),
        "entities": [_entity_json(name, preview) for name, preview in result.entities],
        "entities_toml": result.entities_toml,
    }


def _entity_json(name: tuning.EntityProposal, preview: tuning.EntityPreview) -> dict[str, Any]:
    return {
        "name": name.name,
        "kind": name.kind,
        "entity": name.entity,
        "group": name.group,
        "weight": name.weight,
        "relevant": list(name.relevant),
        "irrelevant": list(name.irrelevant),
        "lift": round(name.lift, 2),
        "tied_groups": list(name.tied),
        "would_match": [_change_json(c) for c in preview.appear],
        "risk": [_change_json(c) for c in preview.risk],
        "helped": list(preview.helped),
    }


def _change_json(change: tuning.Change) -> dict[str, Any]:
    return {
        "item": change.item_id,
        "match": change.match_id,
        "title": change.title,
        "score_before": change.before,
        "score_after": round(change.after, 4),
    }


def _tuned_text(entry: SeedLabels, result: Tuned | str) -> str:
    head = f"seed {entry.seed.id}: {len(entry.cases)} labelled matches"
    if isinstance(result, str):
        return f"{head}\n  no proposal: {result}\n"
    p, lines = result.proposal, [head]
    lines.append(
        f"  now       threshold {entry.threshold:.2f}: {_figures(result.before.to_json())}"
    )
    lines.append(f"  proposed  threshold {p.threshold:.2f}: {_figures(result.after.to_json())}")
    lines += [f"  note: {note}" for note in p.notes]
    if p.aliases:
        lines.append("  aliases to add (matched only fuzzily in relevant items):")
        lines += [f"    {a.entity} += {a.alias!r}  (matches {_ids(a.seen_in)})" for a in p.aliases]
    if p.negatives:
        lines.append(
            f"  negative terms (score x {tuning.NEGATIVE_FACTOR}; never in a relevant item):"
        )
        lines += [
            f"    {n.term!r} in {n.irrelevant_items} irrelevant matches ({_ids(n.examples)})"
            for n in p.negatives
        ]
    lines += _entities_text(result)
    lines.append(f"  applied to the {result.examined} items stored in the period:")
    for title, rows in (("would disappear", result.disappear), ("would appear", result.appear)):
        lines.append(f"    {len(rows)} {'match' if len(rows) == 1 else 'matches'} {title}")
        lines += [f"      {_change_line(c)}" for c in rows[:LISTED]]
        if len(rows) > LISTED:
            lines.append(f"      … and {len(rows) - LISTED} more (--json lists them all)")
    lines.append("  nothing was applied (--out FILE writes the proposed profile)")
    return "\n".join(lines) + "\n"


def _entities_text(result: Tuned) -> list[str]:
    if not result.entities:
        return []
    lines = ["  names the relevant follow-ups bring (not in the profile yet):"]
    for name, preview in result.entities:
        group = name.group + "".join(f" (or {g}: the items cannot tell)" for g in name.tied)
        what = (
            f"alias {name.name!r} of {name.entity}"
            if name.entity
            else f"entity {name.name!r} (group {group}, weight {name.weight:.2f})"
        )
        lines.append(
            f"    + {what}: in {len(name.relevant)} relevant and {len(name.irrelevant)} "
            f"irrelevant matches ({name.lift:.1f}x as frequent in relevant ones)"
        )
        lines.append(f"        would newly match {_count(len(preview.appear), 'stored item')}")
        lines += [f"          {_change_line(c)}" for c in preview.appear[:LISTED]]
        risky = _count(len(preview.risk), "match")
        lines.append(f"        would raise {risky} labelled irrelevant")
        lines += [f"          {_change_line(c)}" for c in preview.risk[:LISTED]]
    lines.append("  (--entities-toml prints the TOML that adds them)")
    return lines


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 'es' if noun.endswith('ch') else 's'}"


def _change_line(change: tuning.Change) -> str:
    before = f"{change.before:.2f}" if change.before is not None else "  — "
    ident = f"#{change.match_id}" if change.match_id else f"item {change.item_id}"
    return f"{ident} {before} → {change.after:.2f}  {_short(change.title, 70)}"


def _ids(ids: tuple[int, ...]) -> str:
    return ", ".join(f"#{i}" for i in ids)
