"""Learn from the analyst's labels: score the matcher on them, propose a better threshold,
aliases to add and negative terms, and say what the proposal would change. Pure: cases and
verdicts in, proposals and reports out; the caller runs the matcher and reads the database.

Labels only exist for stored matches, which all scored at or above the threshold of their
day. So labels can show that the threshold is too low (irrelevant matches kept) far better
than that it is too high: a lower threshold is proposed only where relevant labels sit close
above it. Evidence that thin is said to be thin: below ``MIN_LABELS`` labels, or with no
label of one kind, nothing is proposed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.types import Item, MatchResult

MIN_LABELS = 8  # fewer labels than this and a proposal would follow noise
# A negative term must recur in irrelevant items, and never occur in a relevant one.
NEGATIVE_MIN_ITEMS = 2
NEGATIVE_MAX_TERMS = 6
NEGATIVE_FACTOR = 0.5  # the profile format's default: halves the score, does not veto
MIN_TERM_LENGTH = 4
# Words too common in news to say anything about relevance, in the languages seen so far.
STOPWORDS = frozenset(
    "that this with from have will been were their they said says about after over into "
    "more than also news today year years week report reports says which when what where "
    "would could should there these those other some first last new".split()
)
_WORD = re.compile(rf"[^\W\d_]{{{MIN_TERM_LENGTH},}}")


@dataclass(frozen=True)
class LabelledCase:
    match_id: int
    item: Item
    relevant: bool


@dataclass(frozen=True)
class Metrics:
    labelled: int
    relevant: int
    kept: int  # scored at or above the threshold
    kept_relevant: int

    @property
    def precision(self) -> float:
        return self.kept_relevant / self.kept if self.kept else 1.0

    @property
    def recall(self) -> float:
        """Share of the relevant labels still matched (recall among stored matches only)."""
        return self.kept_relevant / self.relevant if self.relevant else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled,
            "relevant": self.relevant,
            "kept": self.kept,
            "kept_relevant": self.kept_relevant,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


Scored = tuple[LabelledCase, MatchResult]


def metrics(scored: Sequence[Scored], threshold: float) -> Metrics:
    kept = [case for case, result in scored if result.score >= threshold]
    return Metrics(
        labelled=len(scored),
        relevant=sum(1 for case, _ in scored if case.relevant),
        kept=len(kept),
        kept_relevant=sum(1 for case in kept if case.relevant),
    )


def by_language(scored: Sequence[Scored], threshold: float) -> dict[str, Metrics]:
    langs = sorted({case.item.lang or "??" for case, _ in scored})
    return {
        lang: metrics([s for s in scored if (s[0].item.lang or "??") == lang], threshold)
        for lang in langs
    }


def evidence_problem(scored: Sequence[Scored]) -> str | None:
    """Why the labels cannot support a proposal, or None when they can."""
    relevant = sum(1 for case, _ in scored if case.relevant)
    if len(scored) < MIN_LABELS:
        return f"only {len(scored)} labelled matches (at least {MIN_LABELS} needed)"
    if relevant == 0 or relevant == len(scored):
        kind = "relevant" if relevant == 0 else "irrelevant"
        return f"no match is labelled {kind}: nothing to tell apart"
    return None


def propose_threshold(scored: Sequence[Scored], current: float) -> float:
    """The threshold with the best F1 on the labels; on a tie, the one nearest ``current``.

    Candidates lie midway between neighbouring scores, so the chosen threshold keeps the
    widest margin the labels allow instead of sitting on one labelled item's score.
    """
    scores = sorted({result.score for _, result in scored})
    middles = {round((a + b) / 2, 3) for a, b in zip(scores, scores[1:], strict=False)}
    candidates = sorted(middles | {current})
    return max(candidates, key=lambda t: (round(metrics(scored, t).f1, 6), -abs(t - current)))


@dataclass(frozen=True)
class TermProposal:
    term: str
    irrelevant_items: int  # labelled irrelevant items that contain it
    examples: tuple[int, ...]  # their match ids


def propose_negatives(scored: Sequence[Scored], known: Iterable[str]) -> list[TermProposal]:
    """Words that recur in irrelevant items and never occur in relevant ones."""
    taken = {k.casefold() for k in known}
    relevant_words: set[str] = set()
    found: dict[str, list[int]] = {}
    for case, _ in scored:
        words = _words(case.item)
        if case.relevant:
            relevant_words |= words
            continue
        for word in words:
            found.setdefault(word, []).append(case.match_id)
    ranked = sorted(
        (
            TermProposal(word, len(ids), tuple(ids[:5]))
            for word, ids in found.items()
            if len(ids) >= NEGATIVE_MIN_ITEMS
            and word not in relevant_words
            and word not in taken
            and word not in STOPWORDS
        ),
        key=lambda p: (-p.irrelevant_items, p.term),
    )
    return ranked[:NEGATIVE_MAX_TERMS]


def _words(item: Item) -> set[str]:
    return {w.casefold() for w in _WORD.findall(f"{item.title} {item.summary}")}


@dataclass(frozen=True)
class AliasProposal:
    entity: str
    alias: str
    seen_in: tuple[int, ...]  # match ids of relevant items that spell it so


def propose_aliases(scored: Sequence[Scored], known: Iterable[str]) -> list[AliasProposal]:
    """Spellings that matched an entity only fuzzily in relevant items: make them exact."""
    taken = {k.casefold() for k in known}
    seen: dict[tuple[str, str], list[int]] = {}
    for case, result in scored:
        if not case.relevant:
            continue
        for reason in result.reasons:
            text = reason.matched.strip()
            if reason.kind == "entity" and reason.similarity < 100 and text.casefold() not in taken:
                seen.setdefault((reason.name, text), []).append(case.match_id)
    return [
        AliasProposal(entity, alias, tuple(ids)) for (entity, alias), ids in sorted(seen.items())
    ]


@dataclass(frozen=True)
class Proposal:
    threshold: float
    aliases: tuple[AliasProposal, ...] = ()
    negatives: tuple[TermProposal, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changes_profile(self) -> bool:
        return bool(self.aliases or self.negatives)


def known_phrases(profile: Mapping[str, Any]) -> set[str]:
    """Every alias, phrase and negative term the profile TOML already has, markers removed."""
    phrases: set[str] = set()
    for table in ("entity", "topic", "negative"):
        for entry in profile.get(table, []):
            for value in [*entry.get("aliases", []), *entry.get("phrases", [])]:
                text = value.get("alias", "") if isinstance(value, Mapping) else str(value)
                phrases.add(text.strip().lstrip("=").rstrip("*").strip())
    return phrases


def apply_proposal(profile: Mapping[str, Any], proposal: Proposal) -> dict[str, Any]:
    """A copy of the profile TOML data with the proposal in it."""
    data = copy.deepcopy(dict(profile))
    data.setdefault("profile", {})["threshold"] = proposal.threshold
    for change in proposal.aliases:
        for entity in data.get("entity", []):
            if entity.get("name") == change.entity:
                entity.setdefault("aliases", []).append(change.alias)
                break
    if proposal.negatives:
        data.setdefault("negative", []).append(
            {
                "name": "Learned from labels",
                "factor": NEGATIVE_FACTOR,
                "kinds": ["direct", "thread"],
                "phrases": [n.term for n in proposal.negatives],
            }
        )
    return data


@dataclass(frozen=True)
class Change:
    """A stored item whose verdict the proposal changes."""

    item_id: int
    match_id: int | None
    title: str
    before: float | None  # the stored match's score, None when it did not match
    after: float


def changes(
    stored: Sequence[tuple[int, int | None, float | None, Item]],
    proposed: Sequence[MatchResult],
    threshold: float,
) -> tuple[list[Change], list[Change]]:
    """(appear, disappear): (item id, match id, stored score, item) rows against the
    proposal's verdicts on the same items, in the same order."""
    appear, disappear = [], []
    for (item_id, match_id, score, item), result in zip(stored, proposed, strict=True):
        now_matches = result.score >= threshold
        change = Change(item_id, match_id, item.title, score, result.score)
        if match_id is None and now_matches:
            appear.append(change)
        elif match_id is not None and not now_matches:
            disappear.append(change)
    return appear, disappear


# -- a TOML writer for profiles ---------------------------------------------------------


def dump_toml(data: Mapping[str, Any]) -> str:
    """TOML text for a profile: plain keys first, then tables, then arrays of tables."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not _is_table(v)]
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{key}]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for entry in value:
                lines += ["", f"[[{key}]]"]
                lines += [f"{_key(k)} = {_value(v)}" for k, v in entry.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) or _is_table_array(value)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
