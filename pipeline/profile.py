"""Seed profiles: TOML text becomes a frozen ``Profile``. Pure: takes text, never paths.

The format is documented at the top of ``seeds/pakistan-alibaba-2026.toml``. In short: entities
and topics belong to evidence *groups* ("alibaba", "pakistan", "digital", ...); each has a weight
and aliases in any script; ``[[rule]]`` tables say which groups must all be present for a direct
follow-up or a same-thread item. Aliases are normalised once, here, with ``text.normalize``.

Alias markers: a leading ``=`` makes an alias case-sensitive (short ASCII aliases of up to four
letters with a capital, such as "AI", "Ant" or "SBP", are case-sensitive without it); a trailing
``*`` lets inflection letters follow ("Pakistan*" matches "Pakistani", "পাকিস্তান*" matches
"পাকিস্তানের"). An alias may also be a table ``{ alias = "...", context = ["group", ...] }``:
such an ambiguous form counts only when another group named in ``context`` has evidence too,
and an entity's ``not = [...]`` lists phrases whose words are not the entity (Urdu دور دراز,
"far-flung", is not Daraz).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError
from pipeline.text import is_cjk, normalize

KINDS = ("direct", "thread")
FIELDS = ("title", "summary", "content")
# Title evidence weighs more than body evidence: a headline names what the story is about,
# a summary also names its background. Overridable per profile in [profile].field_weights.
DEFAULT_FIELD_WEIGHTS = (("title", 1.0), ("summary", 0.75), ("content", 0.6))
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Alias:
    text: str  # as written in the profile, markers removed
    norm: str  # normalised form, what the matcher compares
    case_sensitive: bool = False
    stem: bool = False  # inflection letters may follow
    cjk: bool = False  # matched without word boundaries
    context: tuple[str, ...] = ()  # groups that must also have evidence


@dataclass(frozen=True)
class Implication:
    group: str  # evidence this entity lends to another group, e.g. Daraz → "pakistan"
    weight: float
    unless: tuple[str, ...] = ()  # groups whose evidence voids it (Daraz in Sri Lanka)


@dataclass(frozen=True)
class Entity:
    name: str
    group: str
    weight: float
    aliases: tuple[Alias, ...]
    implies: tuple[Implication, ...] = ()
    fuzzy: bool = True  # typo-tolerant matching for its long single-word aliases
    false_friends: tuple[Alias, ...] = ()  # phrases whose words are not this entity


@dataclass(frozen=True)
class Topic:
    name: str
    group: str
    weight: float
    phrases: tuple[Alias, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str  # "direct" or "thread"
    groups: tuple[str, ...]  # all must have evidence
    weight: float


@dataclass(frozen=True)
class Negative:
    name: str
    phrases: tuple[Alias, ...]
    factor: float  # multiplies the score of the rules of these kinds
    kinds: tuple[str, ...] = KINDS


@dataclass(frozen=True)
class Profile:
    seed_id: str
    source: str
    entities: tuple[Entity, ...]
    topics: tuple[Topic, ...] = ()
    rules: tuple[Rule, ...] = ()
    negatives: tuple[Negative, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    field_weights: tuple[tuple[str, float], ...] = DEFAULT_FIELD_WEIGHTS
    article: str = ""

    @property
    def groups(self) -> tuple[str, ...]:
        seen = dict.fromkeys(e.group for e in self.entities)
        seen.update(dict.fromkeys(t.group for t in self.topics))
        return tuple(seen)


def load_profile(toml_text: str, *, seed_id: str, source: str, article: str = "") -> Profile:
    """Parse and validate a profile. Raises ``ConfigError`` naming ``source`` and the key."""
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=source) from exc
    reader = _Reader(source)
    head = reader.table(data.get("profile", {}), "profile")
    profile = Profile(
        seed_id=seed_id,
        source=source,
        entities=tuple(
            reader.entity(e, f"entity[{i}]") for i, e in enumerate(reader.list(data, "entity"))
        ),
        topics=tuple(
            reader.topic(t, f"topic[{i}]") for i, t in enumerate(reader.list(data, "topic"))
        ),
        rules=tuple(reader.rule(r, f"rule[{i}]") for i, r in enumerate(reader.list(data, "rule"))),
        negatives=tuple(
            reader.negative(n, f"negative[{i}]")
            for i, n in enumerate(reader.list(data, "negative"))
        ),
        threshold=reader.number(head, "threshold", "profile", DEFAULT_THRESHOLD, 0.0, 1.0),
        field_weights=reader.field_weights(head),
        article=article,
    )
    _check_references(profile, source)
    return profile


def profile_for_seed(
    seed_id: str, article_text: str, profile_text: str | None, source: str
) -> Profile:
    """The seed's curated profile, or one drafted from its article when it has none."""
    if profile_text is None:
        drafted = draft_profile_toml(article_text, seed_id)
        return load_profile(
            drafted, seed_id=seed_id, source=f"{source} (drafted)", article=article_text
        )
    return load_profile(profile_text, seed_id=seed_id, source=source, article=article_text)


def draft_profile_toml(article_text: str, seed_id: str) -> str:
    """A starting profile drafted from the article alone (see ``pipeline.drafting``): its
    entities with kinds and aliases, its topics and the direct and thread rules, as TOML
    whose comments explain each choice. Imported lazily: babel's data loads only here."""
    from pipeline.drafting import draft_profile_toml as draft

    return draft(article_text, seed_id)


def parse_alias(raw: str, context: Sequence[str] = ()) -> Alias | None:
    """One alias with its markers read. None when nothing is left to match."""
    text = raw.strip()
    forced = text.startswith("=")
    text = text.removeprefix("=")
    stem = text.endswith("*")
    text = text.removesuffix("*").strip()
    norm = normalize(text)
    if not norm:
        return None
    short_upper = text.isascii() and len(text) <= 4 and any(c.isupper() for c in text)
    return Alias(
        text=text,
        norm=norm,
        case_sensitive=forced or short_upper,
        stem=stem,
        cjk=any(is_cjk(c) for c in norm),
        context=tuple(context),
    )


class _Reader:
    """Typed access to the TOML tree; every error names the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.source, key=key)

    def table(self, value: Any, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(key, "must be a table")
        return value

    def list(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{key}]])")
        return value

    def text(self, table: Mapping[str, Any], name: str, where: str) -> str:
        value = table.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}.{name}", "must be a non-empty string")
        return value.strip()

    def number(
        self,
        table: Mapping[str, Any],
        name: str,
        where: str,
        default: float,
        low: float,
        high: float,
    ) -> float:
        value = table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{where}.{name}", "must be a number")
        if not low <= value <= high:
            raise self.fail(f"{where}.{name}", f"must be between {low:g} and {high:g}")
        return float(value)

    def strings(self, table: Mapping[str, Any], name: str, where: str) -> tuple[str, ...]:
        value = table.get(name, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{name}", "must be a list of strings")
        return tuple(v.strip() for v in value if v.strip())

    def aliases(self, table: Mapping[str, Any], name: str, where: str) -> tuple[Alias, ...]:
        value = table.get(name)
        if not isinstance(value, list) or not value:
            raise self.fail(f"{where}.{name}", "must be a non-empty list")
        shared = self.strings(table, "context", where)
        out: list[Alias] = []
        for index, item in enumerate(value):
            key = f"{where}.{name}[{index}]"
            if isinstance(item, str):
                alias = parse_alias(item, shared)
            elif isinstance(item, Mapping):
                alias = parse_alias(
                    self.text(item, "alias", key), self.strings(item, "context", key)
                )
            else:
                raise self.fail(key, "must be a string or a table with 'alias'")
            if alias is None:
                raise self.fail(key, "is empty after normalisation")
            out.append(alias)
        return tuple(dict.fromkeys(out))

    def entity(self, table: Mapping[str, Any], where: str) -> Entity:
        implies = table.get("implies", [])
        if not isinstance(implies, list):
            raise self.fail(f"{where}.implies", "must be an array of tables")
        fuzzy = table.get("fuzzy", True)
        if not isinstance(fuzzy, bool):
            raise self.fail(f"{where}.fuzzy", "must be true or false")
        return Entity(
            name=self.text(table, "name", where),
            group=self.text(table, "group", where),
            weight=self.number(table, "weight", where, 1.0, 0.0, 1.0),
            aliases=self.aliases(table, "aliases", where),
            implies=tuple(
                self.implication(self.table(imp, f"{where}.implies[{i}]"), f"{where}.implies[{i}]")
                for i, imp in enumerate(implies)
            ),
            fuzzy=fuzzy,
            false_friends=self.aliases(table, "not", where) if "not" in table else (),
        )

    def implication(self, table: Mapping[str, Any], where: str) -> Implication:
        return Implication(
            group=self.text(table, "group", where),
            weight=self.number(table, "weight", where, 1.0, 0.0, 1.0),
            unless=self.strings(table, "unless", where),
        )

    def topic(self, table: Mapping[str, Any], where: str) -> Topic:
        return Topic(
            name=self.text(table, "name", where),
            group=self.text(table, "group", where),
            weight=self.number(table, "weight", where, 1.0, 0.0, 1.0),
            phrases=self.aliases(table, "phrases", where),
        )

    def rule(self, table: Mapping[str, Any], where: str) -> Rule:
        kind = self.text(table, "kind", where)
        if kind not in KINDS:
            raise self.fail(f"{where}.kind", f"must be one of {', '.join(KINDS)}")
        groups = self.strings(table, "all", where)
        if not groups:
            raise self.fail(f"{where}.all", "must name at least one group")
        return Rule(
            name=table.get("name") or " + ".join(groups),
            kind=kind,
            groups=groups,
            weight=self.number(table, "weight", where, 1.0, 0.0, 1.0),
        )

    def negative(self, table: Mapping[str, Any], where: str) -> Negative:
        kinds = self.strings(table, "kinds", where) or KINDS
        if any(kind not in KINDS for kind in kinds):
            raise self.fail(f"{where}.kinds", f"must be among {', '.join(KINDS)}")
        return Negative(
            name=self.text(table, "name", where),
            phrases=self.aliases(table, "phrases", where),
            factor=self.number(table, "factor", where, 0.5, 0.0, 1.0),
            kinds=kinds,
        )

    def field_weights(self, head: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
        table = self.table(head.get("field_weights", {}), "profile.field_weights")
        unknown = set(table) - set(FIELDS)
        if unknown:
            raise self.fail("profile.field_weights", f"unknown field {sorted(unknown)[0]!r}")
        defaults = dict(DEFAULT_FIELD_WEIGHTS)
        return tuple(
            (name, self.number(table, name, "profile.field_weights", defaults[name], 0.0, 1.0))
            for name in FIELDS
        )


def _check_references(profile: Profile, source: str) -> None:
    """Every group a rule, implication or context names must exist."""
    known = set(profile.groups)
    if not profile.entities and not profile.topics:
        raise ConfigError("defines no [[entity]] and no [[topic]]", path=source, key="entity")
    if not profile.rules:
        raise ConfigError("defines no [[rule]]", path=source, key="rule")
    for i, rule in enumerate(profile.rules):
        for group in rule.groups:
            if group not in known:
                raise ConfigError(f"unknown group {group!r}", path=source, key=f"rule[{i}].all")
    for i, entity in enumerate(profile.entities):
        for j, imp in enumerate(entity.implies):
            for group in (imp.group, *imp.unless):
                if group not in known:
                    key = f"entity[{i}].implies[{j}]"
                    raise ConfigError(f"unknown group {group!r}", path=source, key=key)
    terms = [(f"entity[{i}]", e.aliases) for i, e in enumerate(profile.entities)]
    terms += [(f"topic[{i}]", t.phrases) for i, t in enumerate(profile.topics)]
    for where, aliases in terms:
        for alias in aliases:
            for group in alias.context:
                if group not in known:
                    raise ConfigError(
                        f"unknown group {group!r}", path=source, key=f"{where}.context"
                    )
