"""Measure matching quality on labeled items. Pure: rows and verdicts in, a report out.

Labels follow ``shared/eval/README.md``: 2 = direct follow-up, 1 = same thread, 0 = neither.
Precision counts label 1 or 2 as correct; direct recall is over label 2; thread recall is over
labels 1 and 2. The keyword rule a Google Alerts user would write is scored beside the matcher.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.types import Item, MatchResult

# Acceptance targets at the default threshold (issue 3).
TARGETS = (("precision", 0.90), ("direct_recall", 0.95), ("thread_recall", 0.60))
LANGUAGE_DIRECT_RECALL = 0.90  # in every language ...
LANGUAGE_MIN_DIRECT = 5  # ... with at least this many direct (label 2) items
SWEEP = tuple(round(0.05 * step, 2) for step in range(2, 20))  # 0.10 … 0.95
# The rule the issue measures against, as a substring search of title and summary (the
# README's figures for it, 0.94 / 0.45 / 0.18 on dev.jsonl, are reproduced this way).
KEYWORD_RULE = 'Pakistan AND (Alibaba OR Daraz OR "Ant Group" OR "Ant Financial" OR Alipay)'
_KEYWORDS_ALL = ("pakistan",)
_KEYWORDS_ANY = ("alibaba", "daraz", "ant group", "ant financial", "alipay")


@dataclass(frozen=True)
class LabeledItem:
    item: Item
    label: int  # 0, 1 or 2
    why: str = ""

    @property
    def lang(self) -> str:
        return self.item.lang or "??"


@dataclass(frozen=True)
class Metrics:
    items: int
    matched: int
    correct: int  # matched and labeled 1 or 2
    direct: int  # items labeled 2
    direct_found: int
    thread: int  # items labeled 1 or 2
    thread_found: int

    @property
    def precision(self) -> float:
        return self.correct / self.matched if self.matched else 1.0

    @property
    def direct_recall(self) -> float:
        return self.direct_found / self.direct if self.direct else 1.0

    @property
    def thread_recall(self) -> float:
        return self.thread_found / self.thread if self.thread else 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "matched": self.matched,
            "precision": round(self.precision, 4),
            "direct_recall": round(self.direct_recall, 4),
            "thread_recall": round(self.thread_recall, 4),
            "direct": self.direct,
            "direct_found": self.direct_found,
            "thread": self.thread,
            "thread_found": self.thread_found,
        }


@dataclass(frozen=True)
class Case:
    """A false positive or a miss, with what the matcher saw."""

    id: str
    lang: str
    label: int
    score: float
    title: str
    why: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lang": self.lang,
            "label": self.label,
            "score": round(self.score, 4),
            "title": self.title,
            "why": self.why,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Check:
    name: str
    value: float
    target: float

    @property
    def ok(self) -> bool:
        return self.value >= self.target


@dataclass(frozen=True)
class Report:
    seed: str
    threshold: float
    overall: Metrics
    languages: tuple[tuple[str, Metrics], ...]
    baseline: Metrics
    baseline_languages: tuple[tuple[str, Metrics], ...]
    sweep: tuple[tuple[float, Metrics], ...]
    false_positives: tuple[Case, ...]
    misses: tuple[Case, ...]
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def labeled_from_json(row: Mapping[str, Any]) -> LabeledItem:
    """A dev.jsonl row. Raises ValueError when it lacks an id, a title or a 0/1/2 label."""
    label = row.get("label")
    if isinstance(label, bool) or label not in (0, 1, 2):
        raise ValueError("'label' must be 0, 1 or 2")
    return LabeledItem(item_from_json(row), int(label), str(row.get("why") or ""))


def item_from_json(row: Mapping[str, Any]) -> Item:
    """An item from one JSON object: ``id`` and ``title`` required, the rest optional text."""
    if not isinstance(row, Mapping):
        raise ValueError("not a JSON object")
    ident, title = row.get("id"), row.get("title")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) == "":
        raise ValueError("'id' must be a non-empty string or number")
    if not isinstance(title, str):
        raise ValueError("'title' must be a string")

    def text(name: str) -> str:
        value = row.get(name)
        return value if isinstance(value, str) else ""

    def optional(name: str) -> str | None:
        value = row.get(name)
        return value if isinstance(value, str) and value else None

    return Item(
        id=str(ident),
        title=title,
        summary=text("summary"),
        content=text("content"),
        url=optional("url"),
        source=optional("source"),
        lang=optional("lang"),
    )


def keyword_baseline(item: Item) -> bool:
    """``Pakistan AND (Alibaba OR Daraz OR "Ant Group" OR "Ant Financial" OR Alipay)``."""
    text = f"{item.title} {item.summary}".casefold()
    return all(k in text for k in _KEYWORDS_ALL) and any(k in text for k in _KEYWORDS_ANY)


def metrics(labels: Sequence[int], matched: Sequence[bool]) -> Metrics:
    pairs = list(zip(labels, matched, strict=True))
    return Metrics(
        items=len(pairs),
        matched=sum(1 for _, m in pairs if m),
        correct=sum(1 for label, m in pairs if m and label > 0),
        direct=sum(1 for label, _ in pairs if label == 2),
        direct_found=sum(1 for label, m in pairs if m and label == 2),
        thread=sum(1 for label, _ in pairs if label > 0),
        thread_found=sum(1 for label, m in pairs if m and label > 0),
    )


def evaluate(
    rows: Sequence[LabeledItem],
    results: Sequence[MatchResult],
    *,
    threshold: float,
    seed: str = "",
    baseline: Callable[[Item], bool] = keyword_baseline,
) -> Report:
    """Score ``results`` (one per row, same order) at ``threshold``, beside the keyword rule."""
    if len(rows) != len(results):
        raise ValueError(f"{len(rows)} rows but {len(results)} results")
    labels = [row.label for row in rows]
    matched = [result.score >= threshold for result in results]
    keyword = [baseline(row.item) for row in rows]
    overall = metrics(labels, matched)
    languages = _per_language(rows, matched)
    return Report(
        seed=seed,
        threshold=threshold,
        overall=overall,
        languages=languages,
        baseline=metrics(labels, keyword),
        baseline_languages=_per_language(rows, keyword),
        sweep=tuple(
            (t, metrics(labels, [r.score >= t for r in results]))
            for t in sorted({*SWEEP, threshold})
        ),
        false_positives=tuple(
            _case(row, result)
            for row, result, m in zip(rows, results, matched, strict=True)
            if m and row.label == 0
        ),
        misses=tuple(
            _case(row, result)
            for row, result, m in sorted(
                zip(rows, results, matched, strict=True), key=lambda t: -t[0].label
            )
            if not m and row.label > 0
        ),
        checks=_checks(overall, languages),
    )


def _per_language(
    rows: Sequence[LabeledItem], matched: Sequence[bool]
) -> tuple[tuple[str, Metrics], ...]:
    langs = sorted({row.lang for row in rows})
    return tuple(
        (
            lang,
            metrics(
                [row.label for row in rows if row.lang == lang],
                [m for row, m in zip(rows, matched, strict=True) if row.lang == lang],
            ),
        )
        for lang in langs
    )


def _checks(overall: Metrics, languages: Sequence[tuple[str, Metrics]]) -> tuple[Check, ...]:
    checks = [Check(name, getattr(overall, name), target) for name, target in TARGETS]
    checks += [
        Check(f"direct_recall[{lang}]", m.direct_recall, LANGUAGE_DIRECT_RECALL)
        for lang, m in languages
        if m.direct >= LANGUAGE_MIN_DIRECT
    ]
    return tuple(checks)


def _case(row: LabeledItem, result: MatchResult) -> Case:
    return Case(
        id=row.item.id,
        lang=row.lang,
        label=row.label,
        score=result.score,
        title=row.item.title[:160],
        why=row.why,
        reasons=tuple(str(reason) for reason in result.reasons[:6]),
    )


# ---------------------------------------------------------------------- renderings


def report_json(report: Report) -> dict[str, Any]:
    return {
        "seed": report.seed,
        "threshold": report.threshold,
        "ok": report.ok,
        "overall": report.overall.to_json(),
        "languages": {lang: m.to_json() for lang, m in report.languages},
        "baseline": {
            "rule": KEYWORD_RULE,
            "overall": report.baseline.to_json(),
            "languages": {lang: m.to_json() for lang, m in report.baseline_languages},
        },
        "sweep": [{"threshold": t, **m.to_json()} for t, m in report.sweep],
        "checks": [
            {"name": c.name, "value": round(c.value, 4), "target": c.target, "ok": c.ok}
            for c in report.checks
        ],
        "false_positives": [case.to_json() for case in report.false_positives],
        "misses": [case.to_json() for case in report.misses],
    }


def render_text(report: Report) -> str:
    lines = [
        f"seed {report.seed or '-'}: {report.overall.items} labeled items, "
        f"threshold {report.threshold:g}",
        "",
        f"{'':16}{'matched':>8}{'precision':>11}{'direct rec':>12}{'thread rec':>12}",
        _row("matcher", report.overall),
        _row("keyword rule", report.baseline),
        f"  keyword rule = {KEYWORD_RULE}",
        "",
        "per language (matcher | keyword rule):",
    ]
    baseline = dict(report.baseline_languages)
    for lang, m in report.languages:
        b = baseline[lang]
        lines.append(
            f"  {lang:4} n={m.items:<4} direct {m.direct_found}/{m.direct} "
            f"thread {m.thread_found}/{m.thread} matched {m.matched} (precision "
            f"{m.precision:.2f}) | direct {b.direct_found}/{b.direct} thread "
            f"{b.thread_found}/{b.thread} matched {b.matched}"
        )
    lines += [
        "",
        "threshold sweep:",
        f"{'':16}{'matched':>8}{'precision':>11}{'direct rec':>12}{'thread rec':>12}",
    ]
    lines += [_row(f"{'*' if t == report.threshold else ' '} {t:.2f}", m) for t, m in report.sweep]
    lines += ["", "targets:"]
    lines += [
        f"  {'ok  ' if c.ok else 'MISS'} {c.name} = {c.value:.3f} (target >= {c.target:.2f})"
        for c in report.checks
    ]
    for title, cases in (("false positives", report.false_positives), ("misses", report.misses)):
        lines += ["", f"{title} ({len(cases)}):"]
        for case in cases:
            lines.append(
                f"  {case.id} [{case.lang}, label {case.label}, score {case.score:.3f}] "
                f"{case.title[:90]}  -- {case.why}"
            )
            lines += [f"      {reason}" for reason in case.reasons]
    return "\n".join(lines) + "\n"


def _row(name: str, m: Metrics) -> str:
    return (
        f"{name:16}{m.matched:>8}{m.precision:>11.3f}{m.direct_recall:>12.3f}"
        f"{m.thread_recall:>12.3f}"
    )
