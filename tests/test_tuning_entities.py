"""The story grows: `followup tune` proposes the names relevant follow-ups bring (people,
places, products, in any script), with what each would add to the stored matches."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from pipeline import tuning
from pipeline.cli.labels import tune
from pipeline.matching import Matcher
from pipeline.profile import load_profile, profile_for_seed
from pipeline.types import Item
from tests.fixtures_db import SEED_PROFILE
from tests.fixtures_web import SEED, Entry, match_ids, store_matches

# Names the curated profile does not know: a minister, a wallet (in three scripts), and a
# longer name of a known entity. "Shoaib Akhtar" recurs in irrelevant items, "Asia Cup" in
# both kinds alike: neither is news of this story.
RELEVANT = [
    (
        "Alibaba Cloud opens data centre in Karachi",
        "IT minister Rashida Qureshi said Alibaba Cloud Pakistan will run it.",
    ),
    (
        "Alibaba Cloud signs deal with Pakistan",
        "Rashida Qureshi welcomed the deal; Alibaba Cloud Pakistan hires 200 engineers.",
    ),
    (
        "Daraz adds instant payments in Pakistan",
        "Rashida Qureshi launched the service with the wallet Lumina Pay, in the Asia Cup week.",
    ),
    ("Ant Group backs a Pakistan wallet", "Lumina Pay, a young wallet, got Ant Group's support."),
    ("Daraz sellers in Pakistan get paid through Lumina Pay", ""),
    ("Alipay links up with Pakistan wallets", "Lumina Pay is the first to join."),
    ("Jack Ma meets Pakistan's prime minister", "Shoaib Akhtar was also at the meeting."),
    ("阿里巴巴投资巴基斯坦钱包", "卢米纳支付获得蚂蚁集团支持。"),
    ("蚂蚁集团与巴基斯坦合作", "卢米纳支付将扩大服务。"),
    ("علی بابا کا پاکستان میں نیا قدم", "لومینا پے کو اینٹ گروپ کی حمایت حاصل ہے۔"),
    ("اینٹ گروپ پاکستان میں سرمایہ کاری", "لومینا پے نے نئی سروس شروع کی۔"),
]
IRRELEVANT = [
    ("Lottery winner in Lahore gets a phone from Daraz", "Shoaib Akhtar handed it over."),
    ("Cricket: Pakistan win, Alibaba sponsors", "Shoaib Akhtar praised the Asia Cup crowd."),
    ("Daraz lottery ticket sold in Karachi", "A Lumina Pay lottery gave away phones."),
    ("Alibaba sponsors Asia Cup coverage in Pakistan", "Fans cheered in Lahore."),
    ("Daraz cricket giveaway in Karachi", "Winners get bats."),
    ("Alibaba mascot at a Lahore fair", "Children queued for photos."),
    ("Pakistan fans buy jerseys on AliExpress", "Sales doubled before the final."),
    ("Daraz lucky draw in Multan", "Three phones were given away."),
]
# Stored in the same period, neither matched nor labelled.
UNMATCHED = [
    ("Alibaba invests in Lumina Pay", ""),
    ("Lumina Pay wins a licence in Lahore", ""),
    ("Lumina Pay opens an office in Islamabad", ""),
    ("Rashida Qureshi opens an IT park in Lahore", ""),
    ("Rashida Qureshi meets students in Islamabad", ""),
    ("Weather: rain expected in the north", "The engineers said the data will come."),
]


@pytest.fixture
def growing(db_url, store_for, write_config):
    config = write_config(db_url=db_url)
    store = store_for(db_url)
    matcher = Matcher(profile_for_seed(SEED, "", SEED_PROFILE.read_text(), "seed"))
    texts = [*RELEVANT, *IRRELEVANT, *UNMATCHED]
    entries = []
    for n, (title, summary) in enumerate(texts):
        result = matcher.match(Item("x", title, summary))
        labelled = n < len(RELEVANT) + len(IRRELEVANT)
        assert result.match == labelled, f"the fixture assumes {title!r} matches: {labelled}"
        entries.append(
            Entry(
                f"i{n}",
                title,
                summary,
                score=result.score if labelled else None,
                reasons=tuple((r.name, r.matched) for r in result.reasons),
            )
        )
    now = datetime.now(UTC) - timedelta(hours=1)
    store_matches(store, "http://127.0.0.1:9/feed.xml", entries, now)
    ids = match_ids(store)
    for n in range(len(RELEVANT) + len(IRRELEVANT)):
        store.label_match(ids[f"i{n}"], "relevant" if n < len(RELEVANT) else "irrelevant", now)
    return config, {title: ids.get(f"i{n}") for n, (title, _) in enumerate(texts)}


def tuned(config, *args):
    result = CliRunner().invoke(tune, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def names(config):
    [report] = json.loads(tuned(config, "--json"))
    return {entry["name"]: entry for entry in report["entities"]}


def test_names_that_recur_in_relevant_follow_ups_are_proposed_in_every_script(growing):
    config, _ = growing
    found = names(config)
    assert {"Rashida Qureshi", "Lumina Pay", "卢米纳支付", "لومینا پے"} <= set(found)
    assert found["Lumina Pay"]["kind"] == "entity"


def test_a_longer_name_of_a_known_entity_becomes_its_alias(growing):
    config, _ = growing
    extended = names(config)["Alibaba Cloud Pakistan"]
    assert (extended["kind"], extended["entity"], extended["group"]) == (
        "alias",
        "Alibaba Cloud",
        "alibaba",
    )


def test_names_common_to_irrelevant_items_or_to_the_language_are_not_proposed(growing):
    config, _ = growing
    proposed = set(names(config))
    assert not proposed & {"Pakistan", "Karachi", "Ant Group", "Daraz", "IT"}
    for noise in ("Shoaib", "Akhtar", "Asia", "engineers", "蚂蚁集团", "پاکستان"):
        assert not [name for name in proposed if noise in name]


def test_a_new_name_joins_the_group_it_keeps_company_with_outside_the_story(growing):
    # Inside the story every item names both the company and the country; the stored news
    # of the minister and of the wallet without the company tells which group they are.
    config, _ = growing
    found = names(config)
    assert found["Rashida Qureshi"]["group"] == "pakistan"
    assert found["Lumina Pay"]["group"] == "pakistan"
    assert 0 < found["Lumina Pay"]["weight"] < 1


def test_the_preview_lists_what_a_name_would_newly_match_and_the_irrelevant_it_raises(growing):
    config, ids = growing
    lumina = names(config)["Lumina Pay"]
    assert [c["title"] for c in lumina["would_match"]] == ["Alibaba invests in Lumina Pay"]
    assert [c["match"] for c in lumina["risk"]] == [ids["Daraz lottery ticket sold in Karachi"]]
    assert lumina["irrelevant"] == [ids["Daraz lottery ticket sold in Karachi"]]
    assert set(lumina["helped"]) <= set(lumina["relevant"])
    assert len(lumina["relevant"]) == 4 and lumina["lift"] >= tuning.ENTITY_MIN_LIFT


def test_the_text_report_shows_each_name_with_its_preview(growing):
    config, _ = growing
    text = tuned(config)
    assert "names the relevant follow-ups bring" in text
    assert "+ entity 'Lumina Pay' (group pakistan" in text
    assert "+ alias 'Alibaba Cloud Pakistan' of Alibaba Cloud" in text
    assert "would newly match 1 stored item\n" in text
    assert "would raise 1 match labelled irrelevant" in text
    assert "Alibaba invests in Lumina Pay" in text


def test_the_toml_snippet_adds_the_names_to_the_profile(growing):
    config, _ = growing
    snippet = tuned(config, "--entities-toml")
    data = tomllib.loads(snippet)
    by_name = {entity["name"]: entity for entity in data["entity"]}
    assert by_name["Lumina Pay"]["aliases"] == ["Lumina Pay"]
    assert "Alibaba Cloud Pakistan" in by_name["Alibaba Cloud"]["aliases"]
    # Pasted in (the extended table replacing its namesake), the profile loads and the
    # stored item only the new name explains now matches.
    profile = tomllib.loads(SEED_PROFILE.read_text())
    grown = tuning.apply_entities(
        profile, [p for p in _proposals(data) if p.name in by_name and p.entity is None]
    )
    matcher = Matcher(load_profile(tuning.dump_toml(grown), seed_id=SEED, source="grown"))
    assert matcher.match(Item("x", "Alibaba invests in Lumina Pay")).match


def _proposals(data):
    for entity in data["entity"]:
        yield tuning.EntityProposal(
            entity["name"], entity["group"], None, entity["weight"], (), (), 0.0
        )


def test_with_too_few_labels_no_name_is_proposed(db_url, store_for, write_config):
    config = write_config(db_url=db_url)
    store = store_for(db_url)
    [match] = store_matches(
        store, "http://127.0.0.1:9/f.xml", [Entry("a", "Alibaba meets Rashida Qureshi")]
    )
    store.label_match(match, "relevant", datetime.now(UTC))
    assert tuned(config, "--entities-toml") == "# no names to add\n"


# -- the forms a text offers -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, present, absent",
    [
        (
            "Officials said Rashida Qureshi met SECP and JazzCash staff.",
            {"Rashida Qureshi", "SECP", "JazzCash"},
            {"Officials"},
        ),
        ("Alibaba Cloud Opens New Data Centre In Karachi With PTCL", {"PTCL"}, {"Data Centre"}),
        ("Staff of Pakistan's Jazz Cash grow", {"Jazz Cash", "Pakistan"}, {"Pakistan Jazz"}),
        ("阿里云在卡拉奇开设数据中心", {"卡拉奇", "阿里云"}, {"在卡拉奇"}),
        ("لومینا پے نے نئی سروس شروع کی", {"لومینا پے"}, {"نے", "لومینا پے نے"}),
    ],
    ids=["sentence", "title case", "possessive", "chinese", "urdu"],
)
def test_name_forms_are_capitalised_runs_acronyms_and_ngrams_without_grammar(text, present, absent):
    forms = tuning.name_forms(text)
    assert present <= forms
    assert not absent & forms
