"""Seed profiles: parsing, validation errors that name the key, drafting from an article."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.profile import draft_profile_toml, load_profile, parse_alias, profile_for_seed

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = (ROOT / "seeds" / "pakistan-alibaba-2026.txt").read_text(encoding="utf-8")
SEED_PROFILE = (ROOT / "seeds" / "pakistan-alibaba-2026.toml").read_text(encoding="utf-8")

MINIMAL = """
[[entity]]
name = "Alibaba"
group = "company"
aliases = ["Alibaba*"]

[[entity]]
name = "Pakistan"
group = "country"
aliases = ["Pakistan*"]

[[rule]]
kind = "direct"
all = ["company", "country"]
"""


def test_the_shipped_profile_loads_with_every_language_of_the_story() -> None:
    profile = load_profile(SEED_PROFILE, seed_id="pk", source="seed.toml")
    aliases = {a.text for e in profile.entities for a in e.aliases}
    for name in (
        "Alibaba",
        "علی بابا",
        "阿里巴巴",
        "আলিবাবা",
        "अलीबाबा",
        "Ant Financial",
        "蚂蚁集团",
    ):
        assert name in aliases
    assert {"direct", "thread"} == {rule.kind for rule in profile.rules}
    assert dict(profile.field_weights)["title"] > dict(profile.field_weights)["summary"]


def test_a_minimal_profile_gets_defaults() -> None:
    profile = load_profile(MINIMAL, seed_id="s", source="p.toml")
    assert profile.threshold == 0.5
    assert profile.groups == ("company", "country")
    assert profile.entities[0].weight == 1.0


ALIASES = {
    "short capitalised ascii is case-sensitive": ("AI", "ai", True, False),
    "three letters with a capital is case-sensitive": ("Ant", "ant", True, False),
    "an equals sign forces case": ("=Telenor Bank", "telenor bank", True, False),
    "a star allows inflections": ("Pakistan*", "pakistan", False, True),
    "long names ignore case": ("Alibaba Cloud", "alibaba cloud", False, False),
    "lowercase short words ignore case": ("tech", "tech", False, False),
}


@pytest.mark.parametrize(("raw", "norm", "case", "stem"), list(ALIASES.values()), ids=list(ALIASES))
def test_alias_markers_are_read(raw: str, norm: str, case: bool, stem: bool) -> None:
    alias = parse_alias(raw)
    assert alias is not None
    assert (alias.norm, alias.case_sensitive, alias.stem) == (norm, case, stem)


def test_cjk_aliases_are_marked_for_matching_without_boundaries() -> None:
    alias = parse_alias("阿里雲")
    assert alias is not None and alias.cjk and alias.norm == "阿里云"


BAD = {
    "not toml": ("[[entity", None),
    "rule names an unknown group": (
        MINIMAL.replace('["company", "country"]', '["company", "nope"]'),
        "rule[0].all",
    ),
    "weight out of range": (
        MINIMAL.replace('group = "company"', 'group = "company"\nweight = 3'),
        "entity[0].weight",
    ),
    "aliases missing": (MINIMAL.replace('aliases = ["Alibaba*"]', ""), "entity[0].aliases"),
    "alias empty after normalisation": (
        MINIMAL.replace('["Alibaba*"]', '["  *"]'),
        "entity[0].aliases[0]",
    ),
    "unknown rule kind": (MINIMAL.replace('kind = "direct"', 'kind = "maybe"'), "rule[0].kind"),
    "no rules": (MINIMAL.split("[[rule]]")[0], "rule"),
    "threshold not a number": ("[profile]\nthreshold = 'high'\n" + MINIMAL, "profile.threshold"),
    "unknown field weight": (
        "[profile]\nfield_weights = { body = 1 }\n" + MINIMAL,
        "profile.field_weights",
    ),
    "implication to an unknown group": (
        MINIMAL.replace(
            'aliases = ["Alibaba*"]', 'aliases = ["Alibaba*"]\nimplies = [{ group = "x" }]'
        ),
        "entity[0].implies[0]",
    ),
}


@pytest.mark.parametrize(("text", "key"), list(BAD.values()), ids=list(BAD))
def test_a_bad_profile_raises_config_error_naming_file_and_key(text: str, key: str | None) -> None:
    with pytest.raises(ConfigError) as caught:
        load_profile(text, seed_id="s", source="seeds/bad.toml")
    assert caught.value.path == "seeds/bad.toml"
    assert caught.value.key == key
    assert "seeds/bad.toml" in str(caught.value)


def test_a_draft_of_the_seed_article_names_its_entities_and_loads() -> None:
    drafted = draft_profile_toml(SEED_TEXT, "pk")
    profile = load_profile(drafted, seed_id="pk", source="draft")
    names = {e.name for e in profile.entities}
    assert {"Alibaba", "Pakistan", "Daraz", "China-Pakistan Economic Corridor"} <= names
    aliases = {a.text for e in profile.entities for a in e.aliases}
    assert "CPEC" in aliases  # the acronym in parentheses is an alias of its expansion
    urdu = {a.text for e in profile.entities if e.name == "Pakistan" for a in e.aliases}
    assert "پاکستان" in urdu  # places bring their CLDR names in other scripts
    assert any(rule.kind == "direct" for rule in profile.rules)


def test_a_draft_of_any_article_is_valid_toml_with_quotes_and_backslashes() -> None:
    article = 'Acme "Quoted" Corp and Acme "Quoted" Corp met Back\\Slash Ltd in Karachi. ' * 3
    profile = load_profile(draft_profile_toml(article, "x"), seed_id="x", source="draft")
    assert profile.entities


def test_profile_for_seed_drafts_when_there_is_no_profile() -> None:
    drafted = profile_for_seed("pk", SEED_TEXT, None, "config.toml")
    curated = profile_for_seed("pk", SEED_TEXT, SEED_PROFILE, "seed.toml")
    assert drafted.source.endswith("(drafted)")
    assert len(curated.entities) > 5 and curated.article == SEED_TEXT


def test_an_article_with_nothing_to_draft_from_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="drafted"):
        profile_for_seed("empty", "   ", None, "config.toml")
