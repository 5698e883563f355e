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
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.text import is_cjk, normalize
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


# -- the story grows: names the relevant follow-ups bring --------------------------------
#
# Follow-ups name people, places and products the seed article did not. A name is proposed
# when it recurs in items labelled relevant, is rarer in items labelled irrelevant, is not a
# common word of the stored items, and the profile does not match it yet. A name that
# contains one of an entity's aliases ("Alibaba Cloud Pakistan") is proposed as that
# entity's alias; any other name as a new entity of the evidence group it appears beside
# most in the relevant items (a new product beside its maker, a city beside its country).
# Names are read from the title and summary: a body also names its background.

ENTITY_MIN_RELEVANT = 2  # a name in one relevant item is an anecdote, not a pattern
ENTITY_MIN_LIFT = 1.5  # clearly more frequent in relevant than in irrelevant items
LIFT_PRIOR = 2.0
ENTITY_MAX_PROPOSALS = 8
ENTITY_EXAMINED = 200  # best-ranked forms checked against the whole period, at most
# A form found in more than this share of the stored items of its script is a common word
# ("government", 公司, حکومت), judged once the script has BACKGROUND_MIN_ITEMS items outside
# the relevant ones (a share of a handful of items would say nothing).
BACKGROUND_MAX_SHARE = 0.2
BACKGROUND_MIN_ITEMS = 50
# A learned name counts a little less than the curated entity it stands beside.
LEARNED_WEIGHT_FACTOR = 0.8
NAME_MAX_WORDS = 4
CJK_NAME_CHARS = (2, 6)
# Function and calendar words that never start or end a name, per language (not story words).
_EDGE_WORDS = frozenset(
    # English
    "a an the and or of in on at to for from by with as is are was were be its it his her "
    "their our this that these those new after before over under says said amid via vs "
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december "
    # Urdu and Arabic
    "میں کے کی کا کو نے سے پر اور ہے ہیں تھا تھی گا گی گے کہ یہ وہ بھی لیے ساتھ بعد ایک کر "
    "کیا کرے کریں گیا جس جو ان اس في من على إلى عن مع أن هذا هذه التي الذي "
    # Hindi and Bengali
    "में के की का को ने से पर और है हैं था यह वह भी लिए साथ एक "
    "এবং ও এ থেকে করে হয় এই সেই জন্য সঙ্গে একটি".split()
)
# CJK characters that are grammar, not names: a CJK name neither starts nor ends with one.
_CJK_EDGE = frozenset("的了在是和与及将对为也等这其于从向被把并或就都而已又")
_SEGMENT_BREAK = re.compile(r"[.!?;:|\n。！？；：،؟۔]+\s*|\s+[-–—]\s+")
_NAME_TOKEN = re.compile(r"[^\W_]+(?:['’.&-][^\W_]+)*")
_POSSESSIVE = re.compile(r"['’]s?$")
TITLE_CASE_SHARE = 0.9  # share of capitalised long words that makes a segment a headline


def _script(token: str) -> str:
    """The token's script: latin, cjk or other (spaces and no case: Arabic, Devanagari…)."""
    first = token[:1] or " "
    if is_cjk(first):
        return "cjk"
    if first == " ":
        return ""  # the empty token that separates names
    if first.isascii() or "LATIN" in unicodedata.name(first, ""):
        return "latin"
    return "other"


def name_forms(text: str) -> set[str]:
    """Every form in ``text`` that could be a name: capitalised runs, acronyms and CamelCase
    words (Latin script), word n-grams (scripts without case), substrings of CJK runs."""
    forms: set[str] = set()
    for segment in _SEGMENT_BREAK.split(text):
        tokens = _tokens(segment)
        forms |= _latin_forms(tokens)
        forms |= _uncased_forms(tokens)
        for token in tokens:
            if _script(token) == "cjk":
                forms |= _cjk_forms(token)
    return forms


def _tokens(segment: str) -> list[str]:
    """Words of a segment; a possessive ends a name ("Pakistan's Jazz Cash"): an empty
    token after it keeps the two apart."""
    tokens: list[str] = []
    for token in _NAME_TOKEN.findall(segment):
        if _script(token) == "latin" and (bare := _POSSESSIVE.sub("", token)) != token:
            tokens += [bare, ""] if bare else [""]
        else:
            tokens.append(token)
    return tokens


def _is_marked(token: str) -> bool:
    """Capitalised beyond its first letter: an acronym (SECP) or CamelCase (JazzCash)."""
    return len(token) >= 2 and any(c.isupper() for c in token[1:])


def _latin_forms(tokens: list[str]) -> set[str]:
    headline = _title_case([t for t in tokens if _script(t) == "latin" and t[0].isalpha()])
    forms: set[str] = set()
    run: list[str] = []
    for position, token in enumerate([*tokens, ""]):
        latin = bool(token) and _script(token) == "latin"
        if latin and token[0].isupper() and (not headline or _is_marked(token)):
            run.append(token)
            continue
        forms |= _runs(run, at_start=position == len(run))
        run = []
    return forms


def _title_case(words: list[str]) -> bool:
    """A headline in title case capitalises every word, so only acronyms say "name" there.
    Told by a capitalised function word past the first ("Opens In Karachi With"), or by
    nearly every long word capitalised."""
    if any(w[0].isupper() and w.casefold() in _EDGE_WORDS for w in words[1:]):
        return True
    long_words = [w for w in words if len(w) >= 4]
    capitalised = sum(w[0].isupper() for w in long_words)
    return len(long_words) >= 5 and capitalised >= TITLE_CASE_SHARE * len(long_words)


def _runs(run: list[str], *, at_start: bool) -> set[str]:
    """A capitalised run's sub-runs, function words trimmed from their edges. A lone word
    at the start of a sentence is capitalised by its place, not as a name."""
    if len(run) == 1 and at_start and not _is_marked(run[0]):
        return set()
    return {
        " ".join(run[i:j])
        for i in range(len(run))
        for j in range(i + 1, min(len(run), i + NAME_MAX_WORDS) + 1)
        if run[i].casefold() not in _EDGE_WORDS
        and run[j - 1].casefold() not in _EDGE_WORDS
        and (j - i > 1 or len(run[i]) >= 3 or _is_marked(run[i]))
    }


def _uncased_forms(tokens: list[str]) -> set[str]:
    forms: set[str] = set()
    words = [t if _script(t) == "other" else "" for t in tokens]
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + NAME_MAX_WORDS) + 1):
            gram = words[i:j]
            if "" in gram or gram[0] in _EDGE_WORDS or gram[-1] in _EDGE_WORDS:
                continue
            if j - i == 1:
                continue  # without case, a word alone is a common word far more often than a name
            forms.add(" ".join(gram))
    return forms


def _cjk_forms(run: str) -> set[str]:
    low, high = CJK_NAME_CHARS
    return {
        run[i:j]
        for i in range(len(run))
        for j in range(i + low, min(len(run), i + high) + 1)
        if run[i] not in _CJK_EDGE and run[j - 1] not in _CJK_EDGE and all(map(is_cjk, run[i:j]))
    }


@dataclass(frozen=True)
class EntityProposal:
    """A name to add: as an alias of ``entity``, or (``entity`` None) as a new entity."""

    name: str  # as the follow-ups write it
    group: str  # the evidence group it joins
    entity: str | None  # the existing entity it extends, for an alias
    weight: float  # for a new entity
    relevant: tuple[int, ...]  # match ids of relevant items naming it
    irrelevant: tuple[int, ...]  # ... and of irrelevant ones
    lift: float  # how many times more frequent in relevant than in irrelevant items
    tied: tuple[str, ...] = ()  # other groups it keeps as much company with: a guess

    @property
    def kind(self) -> str:
        return "alias" if self.entity else "entity"


@dataclass(frozen=True)
class _Profiled:
    """What the profile TOML already knows, normalised: aliases by entity, groups, weights."""

    aliases: dict[str, str]  # normalised alias → entity name
    stems: frozenset[str]  # normalised aliases that inflections may follow ("Pakistan*")
    group_of: dict[str, str]  # entity or topic name → group
    weight_of: dict[str, float]  # entity name → weight


def _profiled(profile: Mapping[str, Any]) -> _Profiled:
    aliases: dict[str, str] = {}
    group_of: dict[str, str] = {}
    weight_of: dict[str, float] = {}
    stems: set[str] = set()
    for table in ("entity", "topic"):
        for entry in profile.get(table, []):
            name = str(entry.get("name", ""))
            group_of[name] = str(entry.get("group", name))
            weight_of[name] = float(entry.get("weight", 1.0))
            for value in [*entry.get("aliases", []), *entry.get("phrases", [])]:
                text = value.get("alias", "") if isinstance(value, Mapping) else str(value)
                if norm := normalize(text.strip().lstrip("=").rstrip("*")):
                    # A topic's phrase is known too, but extends no entity: "" marks it.
                    aliases.setdefault(norm, name if table == "entity" else "")
                    if text.strip().endswith("*"):
                        stems.add(norm)
    return _Profiled(aliases, frozenset(stems), group_of, weight_of)


def propose_entities(
    scored: Sequence[Scored],
    background: Sequence[Item],
    profile: Mapping[str, Any],
    score: Callable[[Item], MatchResult],
) -> list[EntityProposal]:
    """Names that recur in relevant items and the profile lacks, best evidence first.

    ``background`` is every stored item of the period (matched or not, labelled or not): a
    form common in it is a word of the language, not a name of this story. ``score`` is the
    current matcher, run on the background items that hold a proposed name.
    """
    known = _profiled(profile)
    relevant = [(case, result) for case, result in scored if case.relevant]
    irrelevant = [case for case, _ in scored if not case.relevant]
    found = _forms_by_item(relevant)
    against = _forms_by_item([(case, None) for case in irrelevant])
    ranked = []
    for form, ids in found.items():
        lift = _lift(len(ids), len(relevant), len(against.get(form, ())), len(irrelevant))
        if len(ids) >= ENTITY_MIN_RELEVANT and lift >= ENTITY_MIN_LIFT:
            ranked.append((form, ids, lift))
    ranked = _closed(ranked)
    ranked.sort(key=lambda r: (-r[2], -len(r[1]), -len(r[0]), r[0]))
    corpus = _Corpus.of([c.item for c, _ in scored] + list(background), relevant)
    spans = [normalize(r.matched) for _, res in relevant for r in res.reasons]
    fresh = [r for r in ranked if not _already_known(normalize(r[0]), known, spans)]
    proposals: list[EntityProposal] = []
    for form, ids, lift in fresh[:ENTITY_EXAMINED]:
        if len(proposals) >= ENTITY_MAX_PROPOSALS:
            break
        norm = normalize(form)
        if corpus.common(form, norm):
            continue
        if any(norm in normalize(p.name) or normalize(p.name) in norm for p in proposals):
            continue  # one proposal per name: its longest recurring form came first or wins
        evidence = _Evidence(form, ids, against.get(form, ()), lift)
        company = [(i, score(i)) for i in background if norm in corpus.norm_of(i)]
        if proposal := _as_proposal(evidence, known, [*relevant, *_irrelevant(scored)], company):
            proposals.append(proposal)
    return proposals


def _irrelevant(scored: Sequence[Scored]) -> list[Scored]:
    return [(case, result) for case, result in scored if not case.relevant]


def _forms_by_item(
    cases: Sequence[tuple[LabelledCase, MatchResult | None]],
) -> dict[str, tuple[int, ...]]:
    found: dict[str, list[int]] = {}
    for case, _ in cases:
        for form in name_forms(f"{case.item.title}\n{case.item.summary}"):
            found.setdefault(form, []).append(case.match_id)
    return {form: tuple(ids) for form, ids in found.items()}


def _lift(rel: int, n_rel: int, irr: int, n_irr: int) -> float:
    """Ratio of the name's share of relevant items to its share of irrelevant ones, each
    drawn towards its share of all labelled items (a prior worth LIFT_PRIOR items): one
    item either way is no proof, and few irrelevant labels cannot make a name look rare."""
    pooled = (rel + irr) / (n_rel + n_irr)
    smoothed = [
        (k + LIFT_PRIOR * pooled) / (n + LIFT_PRIOR) for k, n in ((rel, n_rel), (irr, n_irr))
    ]
    return smoothed[0] / smoothed[1]


Ranked = tuple[str, tuple[int, ...], float]


def _closed(ranked: list[Ranked]) -> list[Ranked]:
    """Drop a form when a longer form containing it occurs in the same items: "Cloud
    Pakist" is only ever part of "Cloud Pakistan", 米纳 of 卢米纳."""
    by_items: dict[tuple[int, ...], list[str]] = {}
    for form, ids, _ in ranked:
        by_items.setdefault(ids, []).append(form)
    return [
        (form, ids, lift)
        for form, ids, lift in ranked
        if not any(form != other and form in other for other in by_items[ids])
    ]


def _already_known(norm: str, known: _Profiled, matched: Sequence[str]) -> bool:
    """Matched already: an alias, part of one, or part of what the matcher found."""
    return any(norm in alias for alias in known.aliases) or any(norm in span for span in matched)


@dataclass(frozen=True)
class _Corpus:
    """Every text of the period, to tell the words of a language from names."""

    lowercase: frozenset[str]  # words written in lower case somewhere
    norms: dict[int, str]  # id(item) → its normalised title and summary
    by_script: dict[str, list[str]]

    @classmethod
    def of(cls, items: Sequence[Item], relevant: Sequence[Scored]) -> _Corpus:
        lowercase = {
            word
            for item in items
            for word in _NAME_TOKEN.findall(f"{item.title} {item.summary}")
            if word.islower()
        }
        norms = {id(item): normalize(f"{item.title} {item.summary}") for item in items}
        # The story's names fill its relevant items by design: the share that tells a
        # common word is taken over the rest.
        story = {(c.item.id, c.item.title) for c, _ in relevant}
        by_script: dict[str, list[str]] = {"latin": [], "cjk": [], "other": []}
        for item in {(i.id, i.title): i for i in items if (i.id, i.title) not in story}.values():
            text = norms[id(item)]
            for script in {_script(c) for c in text if c.isalpha()}:
                by_script[script].append(text)
        return cls(frozenset(lowercase), norms, by_script)

    def norm_of(self, item: Item) -> str:
        return self.norms[id(item)]

    def common(self, form: str, norm: str) -> bool:
        """A word of the language: every word of it written in lower case elsewhere, or the
        form found in a large share of the stored items of its script."""
        words = form.split()
        marked = any(_is_marked(w) for w in words)
        if _script(form) == "latin" and not marked:
            if all(w.casefold() in self.lowercase for w in words):
                return True
        pool = self.by_script[_script(form)]
        if len(pool) < BACKGROUND_MIN_ITEMS:
            return False
        return sum(norm in text for text in pool) > BACKGROUND_MAX_SHARE * len(pool)


@dataclass(frozen=True)
class _Evidence:
    form: str
    relevant: tuple[int, ...]
    irrelevant: tuple[int, ...]
    lift: float


def _as_proposal(
    found: _Evidence,
    known: _Profiled,
    labelled: Sequence[Scored],
    company: Sequence[tuple[Item, MatchResult]],
) -> EntityProposal | None:
    """An alias when a capitalised run holds an alias ("Alibaba Cloud Pakistan"); else a new
    entity of the group it keeps company with. In CJK and uncased scripts a form that holds
    an alias is dropped instead: without case or word breaks, 巴基斯坦扩张 is "Pakistan
    expands", not a longer name."""
    norm = normalize(found.form)
    held = [a for a in known.aliases if _contains(norm, a, stem=a in known.stems)]
    if held and _script(found.form) != "latin":
        return None
    if held:
        entity = known.aliases[max(held, key=len)]
        if not entity:
            return None  # it extends a topic's phrase: a phrase, not a name
        group = known.group_of.get(entity, entity)
        return EntityProposal(
            found.form, group, entity, known.weight_of.get(entity, 1.0), *_ids(found)
        )
    chosen = set(found.relevant) | set(found.irrelevant)
    results = [r for c, r in labelled if c.match_id in chosen] + [r for _, r in company]
    beside = _company_group(results, known)
    if beside is None:
        return None  # it stands beside no entity: which evidence it is cannot be told
    group, entity, tied = beside
    weight = round(known.weight_of.get(entity, 1.0) * LEARNED_WEIGHT_FACTOR, 2)
    return EntityProposal(found.form, group, None, weight, *_ids(found), tied=tied)


def _ids(found: _Evidence) -> tuple[tuple[int, ...], tuple[int, ...], float]:
    return found.relevant, found.irrelevant, found.lift


def _contains(norm: str, alias: str, *, stem: bool = False) -> bool:
    """``alias`` inside ``norm`` as whole words, inflected when it is a stem (CJK: anywhere)."""
    if alias == norm or not alias:
        return False
    if any(is_cjk(c) for c in alias):
        return alias in norm
    end = r"\w*" if stem else ""
    return re.search(rf"(?<!\w){re.escape(alias)}{end}(?!\w)", norm) is not None


def _company_group(
    results: Sequence[MatchResult], known: _Profiled
) -> tuple[str, str, tuple[str, ...]] | None:
    """(group, its entity seen most, groups tied with it) for the group seen in most of the
    items naming it.

    Inside the story every relevant item has every group (a minister and a product both
    stand beside the company and the country), so the items outside it decide: news of a
    minister without the company names the country. That is why unlabelled items count.
    """
    groups: dict[str, int] = {}
    entities: dict[str, int] = {}
    for result in results:
        names = {r.name for r in result.reasons if r.kind == "entity"}
        for group in {known.group_of.get(n, n) for n in names}:
            groups[group] = groups.get(group, 0) + 1
        for name in names:
            entities[name] = entities.get(name, 0) + 1
    if not groups:
        return None
    group = min(groups, key=lambda g: (-groups[g], g))
    members = [n for n in entities if known.group_of.get(n, n) == group]
    tied = tuple(sorted(g for g in groups if g != group and groups[g] == groups[group]))
    return group, min(members, key=lambda n: (-entities[n], n)), tied


def apply_entities(
    profile: Mapping[str, Any], proposals: Iterable[EntityProposal]
) -> dict[str, Any]:
    """A copy of the profile TOML data with these names in it."""
    data = copy.deepcopy(dict(profile))
    for proposal in proposals:
        if proposal.entity:
            for entry in data.get("entity", []):
                if entry.get("name") == proposal.entity:
                    entry.setdefault("aliases", []).append(proposal.name)
                    break
        else:
            data.setdefault("entity", []).append(_new_entity(proposal))
    return data


def _new_entity(proposal: EntityProposal) -> dict[str, Any]:
    return {
        "name": proposal.name,
        "group": proposal.group,
        "weight": proposal.weight,
        "aliases": [proposal.name],
    }


def entities_toml(profile: Mapping[str, Any], proposals: Sequence[EntityProposal]) -> str:
    """The TOML to paste into the profile: new ``[[entity]]`` tables, and each extended
    entity's table in full with its new aliases (it replaces the table of that name)."""
    data = apply_entities(profile, proposals)
    extended = {p.entity for p in proposals if p.entity}
    chunks = []
    for entry in data.get("entity", []):
        if entry.get("name") in extended:
            note = (
                f"# replaces the [[entity]] named {json.dumps(entry['name'], ensure_ascii=False)}"
            )
            chunks.append(note + "\n" + dump_toml({"entity": [entry]}))
    for proposal in proposals:
        if not proposal.entity:
            chunks.append("# new\n" + dump_toml({"entity": [_new_entity(proposal)]}))
    return "\n".join(chunks)


@dataclass(frozen=True)
class EntityPreview:
    """What one proposal changes on the stored items: each row is (case, before, after)."""

    appear: tuple[Change, ...]  # stored items that did not match and would
    risk: tuple[Change, ...]  # labelled irrelevant items whose score it raises
    helped: tuple[int, ...]  # labelled relevant matches whose score it raises


def entity_preview(
    stored: Sequence[tuple[int, int | None, float | None, Item]],
    before: Sequence[MatchResult],
    after: Sequence[MatchResult],
    labelled: Sequence[LabelledCase],
    labelled_before: Sequence[MatchResult],
    labelled_after: Sequence[MatchResult],
    threshold: float,
) -> EntityPreview:
    """``stored`` rows as in ``changes``, scored by the current and the proposed profile;
    the labelled cases likewise."""
    appear = [
        Change(item_id, None, item.title, None, new.score)
        for (item_id, match_id, _, item), old, new in zip(stored, before, after, strict=True)
        if match_id is None and old.score < threshold <= new.score
    ]
    risk, helped = [], []
    for case, old, new in zip(labelled, labelled_before, labelled_after, strict=True):
        if new.score <= old.score + 1e-9:
            continue
        if case.relevant:
            helped.append(case.match_id)
        else:
            risk.append(Change(0, case.match_id, case.item.title, old.score, new.score))
    return EntityPreview(tuple(appear), tuple(risk), tuple(helped))


def names_in(item: Item, proposal: EntityProposal) -> bool:
    """Whether the item's text holds the proposed name (only those can score differently)."""
    return normalize(proposal.name) in normalize(f"{item.title} {item.summary} {item.content}")
