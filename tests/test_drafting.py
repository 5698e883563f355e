"""Drafting a profile from an article alone: entities, kinds, aliases, relations, rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.drafting import (
    Draft,
    DraftEntity,
    _family,
    clean_article,
    draft,
    draft_explained,
    draft_profile_toml,
    transliterations,
)
from pipeline.errors import ConfigError
from pipeline.matching import Matcher
from pipeline.profile import Entity, Profile, load_profile, profile_for_seed
from pipeline.types import Item

# A story the drafter was not written for: a Brazilian bank in Mexico.
ARTICLE = """Nubank wins a full banking licence in Mexico

Brazilian fintech Nubank has won a full banking licence in Mexico, opening the way for the \
lender to take deposits from millions of Mexican savers. Nubank's shares rose in New York.

Mexico's National Banking and Securities Commission (CNBV) granted the licence on Tuesday. \
NuPay, Nubank's payments app, already serves five million customers in Mexico City and \
Monterrey. Nubank Ventures will invest in Mexican fintech startups.

"Mexico is our largest market outside Brazil," said Nubank CEO David Velez. Analysts expect \
the licence to intensify competition in digital banking, where digital wallets and digital \
payments are spreading fast and fintech lenders compete for savers.
"""


@pytest.fixture(scope="module")
def drafted() -> Profile:
    return load_profile(draft_profile_toml(ARTICLE, "nu"), seed_id="nu", source="draft")


def entity(profile: Profile, name: str) -> Entity:
    return next(e for e in profile.entities if e.name == name)


def aliases(profile: Profile, name: str) -> set[str]:
    return {a.text for a in entity(profile, name).aliases}


def test_the_subject_and_its_units_form_one_group(drafted: Profile) -> None:
    subject = {e.name for e in drafted.entities if e.group == "subject"}
    assert {"Nubank", "NuPay", "Nubank Ventures", "David Velez"} <= subject
    assert "Mexico" not in subject and "Brazil" not in subject


def test_kinds_come_from_the_article_and_cldr() -> None:
    kinds = {e.name: e.kind for e in draft(ARTICLE, "nu").entities}
    assert kinds["Mexico"] == "place"
    assert kinds["Nubank"] == "org"
    assert kinds["NuPay"] == "product"  # "Nubank's payments app"
    assert kinds["David Velez"] == "person"  # "Nubank CEO David Velez"
    assert kinds["National Banking and Securities Commission"] == "institution"


def test_the_main_place_has_its_names_in_other_languages_and_its_cities(
    drafted: Profile,
) -> None:
    names = aliases(drafted, "Mexico")
    assert {"墨西哥", "Мексика"} <= names  # CLDR: zh, ru
    assert "México" not in names  # es (official): matched by "Mexico", accents dropped
    assert "Mexican" in names  # the adjective the article uses
    cities = aliases(drafted, "Cities of Mexico")
    assert "Mexico City" in cities and "Ciudad de México" in cities
    assert "Monterrey" in cities


def test_an_acronym_in_parentheses_is_an_alias_of_its_expansion(drafted: Profile) -> None:
    regulator = entity(drafted, "National Banking and Securities Commission")
    assert regulator.group == "place"  # "Mexico's ...": an institution of the place
    assert "CNBV" in {a.text for a in regulator.aliases}


def test_a_unit_described_with_the_place_implies_it_unless_another_country_is_named() -> None:
    article = (
        "Acme Bank opens in Kenya\n\nAcme Bank has opened in Kenya. Beta, Acme Bank's mobile "
        "wallet that dominates the Kenyan market, will serve its customers. Acme Bank said "
        "Kenyan savers want mobile wallets and mobile loans, and mobile payments grow."
    )
    profile = load_profile(draft_profile_toml(article, "a"), seed_id="a", source="d")
    beta = entity(profile, "Beta")
    assert beta.group == "subject"
    assert [(i.group, i.unless) for i in beta.implies] == [("place", ("elsewhere",))]
    matcher = Matcher(profile)
    assert matcher.match(Item(id="1", title="Beta doubles its users")).kind == "direct"
    assert not matcher.match(Item(id="2", title="Beta doubles its users in Uganda")).match


def test_direct_needs_subject_and_place_thread_needs_place_and_topic(drafted: Profile) -> None:
    kinds = {(r.kind, r.groups) for r in drafted.rules}
    assert kinds == {("direct", ("subject", "place")), ("thread", ("place", "topic"))}
    matcher = Matcher(drafted)
    assert matcher.match(Item(id="1", title="Nubank hires 500 staff in Mexico")).kind == "direct"
    thread = matcher.match(Item(id="2", title="Mexico's digital payments double"))
    assert thread.kind == "thread"
    assert not matcher.match(Item(id="3", title="Nubank results beat forecasts")).match
    assert not matcher.match(Item(id="4", title="Mexico wins the football final")).match


def test_every_choice_is_explained_in_the_toml_and_the_summary() -> None:
    toml_text, summary = draft_explained(ARTICLE, "nu")
    blocks = toml_text.split("[[entity]]")[1:]
    assert blocks and all("\nname = " in b for b in blocks)
    before = toml_text.split("[[entity]]")
    for head in before[:-1]:  # the lines above each entity say why and where each alias is from
        assert "\n# " in head.rsplit("\n\n", 1)[-1]
    assert "#   '墨西哥': CLDR zh territory name" in toml_text
    assert "#   'CNBV': article (its acronym in parentheses)" in toml_text
    assert any(line.startswith("subject: NuPay (product") for line in summary)
    assert any("Nubank's" in line for line in summary)


def test_transliterations_write_latin_names_in_south_asian_scripts() -> None:
    found = transliterations("Kamal", ["ur", "hi", "bn"])
    assert ("کمال", "ur") in found  # Urdu leaves the short first vowel unwritten
    assert ("कमाल", "hi") in found
    assert ("কামাল", "bn") in found
    assert ("علی", "ur") in transliterations("Ali", ["ur"])  # Arabic name elements keep theirs
    assert transliterations("CNBV", ["ur"]) == []  # acronyms are spelled letter by letter
    assert transliterations("Kamal", ["es"]) == []  # no rules for Latin-script languages


def test_a_story_outside_south_asia_gets_no_transliterations(drafted: Profile) -> None:
    assert aliases(drafted, "Nubank") == {"Nubank"}


def test_an_article_in_urdu_finds_its_country_in_cldr() -> None:
    article = "پاکستان میں ای کامرس\n\nپاکستان میں آن لائن خریداری بڑھ رہی ہے اور پاکستان کے شہری"
    result = draft(article, "ur")
    assert [e.name for e in result.entities if e.group == "place"][0] == "Pakistan"
    assert any("capital letters" in note for note in result.notes)


def test_an_article_with_nothing_to_draft_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="drafted"):
        profile_for_seed("x", "only lowercase words here, nothing else", None, "config.toml")


def test_seed_draft_on_the_command_line_prints_toml_and_explains_on_stderr(
    tmp_path: Path,
) -> None:
    article = tmp_path / "nubank.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "seed", "draft", str(article)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    load_profile(run.stdout, seed_id="nu", source="stdout")
    assert "followup: subject: Nubank (org" in run.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("   ", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "pipeline", "seed", "draft", str(empty)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "empty.txt" in bad.stderr


def topic_phrases(article: str) -> set[str]:
    return {a.text for t in draft(article, "t").topics for a in t.phrases}


def test_topic_words_are_carried_into_the_languages_of_the_storys_countries() -> None:
    # Mexico and Brazil write Spanish and Portuguese: "payments" comes in both, Urdu never
    phrases = topic_phrases(ARTICLE)
    assert {"pagos", "pagamento*"} <= phrases
    assert not any("\u0600" <= c <= "\u06ff" for p in phrases for c in p)
    article = (
        "Indus Telecom launches digital wallets in Pakistan\n\n"
        "Indus Telecom has launched digital wallets in Pakistan. Indus Telecom said digital "
        "payments, digital banking and digital identity will reach millions of Pakistani users."
    )
    assert "ڈیجیٹل" in topic_phrases(article)  # Urdu, an official language of Pakistan


def test_a_carried_word_alone_in_a_summary_stays_below_the_threshold(drafted: Profile) -> None:
    matcher = Matcher(drafted)
    headline = matcher.match(Item(id="1", title="México: crecen los pagos con el celular"))
    assert headline.score >= drafted.threshold and headline.kind == "thread"
    aside = matcher.match(
        Item(id="2", title="México gana el partido", summary="Los aficionados hicieron pagos.")
    )
    assert aside.score < drafted.threshold


KENYA = (
    "Orimoto opens in Kenya\n\nOrimoto has opened in Kenya. Orimoto said Kenyan savers want "
    "mobile payments and mobile loans, and Orimoto will add mobile payments across Kenya."
)
PAKISTAN = (
    "Orimoto opens in Pakistan\n\nOrimoto has opened in Pakistan. Orimoto said Pakistani "
    "savers want mobile payments and mobile loans, and Orimoto will grow across Pakistan."
)


def test_the_prime_minister_in_the_places_own_language_implies_the_place() -> None:
    profile = load_profile(draft_profile_toml(PAKISTAN, "o"), seed_id="o", source="d")
    offices = entity(profile, "Offices of Pakistan")  # Urdu is Pakistan's national language
    assert "وزیر اعظم" in {a.text for a in offices.aliases}
    assert [(i.group, i.unless) for i in offices.implies] == [("place", ("elsewhere",))]
    matcher = Matcher(profile)
    met = matcher.match(Item(id="1", title="وزیر اعظم کی Orimoto کے سربراہ سے ملاقات"))
    assert met.kind == "direct"
    abroad = matcher.match(Item(id="2", title="ملائشیا کے وزیر اعظم کی Orimoto سے ملاقات"))
    assert not abroad.match  # Malaysia's prime minister: another country is named
    # Swahili and English are national languages of other countries too: no offices for Kenya
    assert not [e for e in draft(KENYA, "k").entities if e.kind == "office"]


def test_a_groups_clipped_name_glued_to_its_line_of_business_is_a_weaker_alias() -> None:
    profile = load_profile(draft_profile_toml(KENYA, "k"), seed_id="k", source="d")
    units = entity(profile, "Orimoto units by name")
    assert {a.text for a in units.aliases} == {"Oripay"}  # the article names payments only
    assert units.group == "subject" and units.weight < entity(profile, "Orimoto").weight
    assert Matcher(profile).match(Item(id="1", title="Oripay doubles its users in Kenya")).match
    names = {e.name for e in draft(ARTICLE, "nu").entities}
    assert "Nubank units by name" not in names  # "Nu" is too short to be a clipped name


# A brief: too short for any word to repeat beside three others.
BRIEF = (
    "Nvidia to build AI centre with Indonesia's Indosat\n\n"
    "Nvidia and Indosat will build an artificial intelligence centre in Surakarta, the first "
    "sovereign AI facility in Indonesia. It will train models, and it opens next year."
)
# The same kind of story written in Chinese: no capitals, no spaces between words.
CHINESE = (
    "华为与沙特阿拉伯签署云计算合作协议\n\n"
    "华为云在利雅得宣布与沙特签署战略合作协议，将在沙特建设数据中心，并为沙特政府提供人工智能"
    "和云服务。该项目将推动沙特的人工智能产业。"
)


def test_a_brief_gets_the_lexicon_terms_it_repeats_as_topics_and_a_thread_rule() -> None:
    profile = load_profile(draft_profile_toml(BRIEF, "b"), seed_id="b", source="d")
    phrases = {a.text for t in profile.topics for a in t.phrases}
    assert {"artificial intelligence", "AI"} <= phrases  # AI twice, spelled out once
    assert "data center" not in phrases  # the lexicon's other terms: not in the article
    assert "IT" not in phrases  # "it" twice, the pronoun, not the acronym
    assert [r.kind for r in profile.rules] == ["direct", "thread"]
    matcher = Matcher(profile)
    assert (
        matcher.match(Item(id="1", title="Indonesia drafts rules for AI models")).kind == "thread"
    )
    assert not matcher.match(Item(id="2", title="Indonesia wins the cup final")).match


def test_an_article_in_chinese_gets_topics_from_the_lexicon_terms_it_writes() -> None:
    phrases = topic_phrases(CHINESE)
    assert {"人工智能", "artificial intelligence", "云计算", "云服务", "cloud"} <= phrases
    profile = load_profile(draft_profile_toml(CHINESE, "c"), seed_id="c", source="d")
    assert "thread" in [r.kind for r in profile.rules]
    met = Matcher(profile).match(Item(id="1", title="Saudi Arabia opens a national AI centre"))
    assert met.kind == "thread"


def test_a_lexicon_term_written_once_or_already_drafted_is_not_added_again() -> None:
    brief = "Orimoto opens in Kenya\n\nOrimoto has opened in Kenya with a blockchain wallet."
    assert "blockchain" in topic_phrases(brief)  # a brief says each thing once
    article = brief + (
        " Orimoto said savers in Nairobi and Mombasa had waited for years, and Orimoto will "
        "add shops across Kenya next year, hire three hundred staff and open two offices."
    )
    assert "blockchain" not in topic_phrases(article)  # once, in passing
    added = {
        a.text for t in draft(ARTICLE, "nu").topics for a in t.phrases if "lexicon," in a.source
    }
    assert added == {"fintech"}  # three times; its payments terms the statistics drafted already


def test_an_article_in_urdu_gets_topics_without_its_postpositions() -> None:
    article = (
        "پاکستان میں ڈیجیٹل ادائیگیوں کا فروغ\n\n"
        "اسلام آباد: پاکستان نے ڈیجیٹل ادائیگیوں کے نظام کا اعلان کیا ہے۔ حکام کے مطابق کلاؤڈ "
        "سروسز اور مصنوعی ذہانت سے ڈیجیٹل ادائیگیوں کو فروغ ملے گا، اور مصنوعی ذہانت کے شعبے میں "
        "تربیت دی جائے گی۔"
    )
    phrases = topic_phrases(article)
    assert {"مصنوعی ذہانت*", "artificial intelligence", "AI"} <= phrases
    postpositions = {"نے", "کے", "کا", "کو", "میں", "سے", "اور"}
    assert not [p for p in phrases if postpositions & set(p.strip("*").split())]
    profile = load_profile(draft_profile_toml(article, "u"), seed_id="u", source="d")
    assert Matcher(profile).match(Item(id="1", title="Pakistan unveils its AI policy")).match


QUAKE = """Earthquake strikes southern Turkey

ANKARA, Feb 6 (Reuters) - A powerful earthquake struck southern Turkey early on Monday, \
killing thousands. Turkey's disaster agency AFAD said rescuers were searching the rubble.

President Tayyip Erdogan declared seven days of mourning across Turkey on Monday.
"""


def test_a_country_cldr_renamed_is_found_by_the_name_the_press_writes() -> None:
    profile = load_profile(draft_profile_toml(QUAKE, "q"), seed_id="q", source="d")
    turkey = entity(profile, "Turkey")  # CLDR's English name is Türkiye
    assert turkey.group == "place" and {"turkey", "turkiye"} <= {a.norm for a in turkey.aliases}
    names = {e.name for e in profile.entities}
    assert not names & {"Feb", "Monday", "Reuters", "ANKARA"}  # the dateline: no actors
    assert Matcher(profile).match(Item(id="1", title="AFAD sends more rescuers to Türkiye")).match


def test_datelines_are_dropped_and_a_leading_name_before_a_dash_is_kept() -> None:
    assert clean_article("ANKARA, Feb 6 (Reuters) - A quake").startswith("A quake")
    assert clean_article("WASHINGTON (AP) — The Senate").startswith("The Senate")
    assert clean_article("LONDON - Shares fell").startswith("Shares")
    assert clean_article("LUSAIL, Qatar, Dec 18 (Reuters) - Messi").startswith("Messi")
    assert clean_article("REDMOND, Wash., Jan 18 (Reuters) - Microsoft").startswith("Microsoft")
    assert "IBM" in clean_article("IBM - the company said it would")
    assert "NASA" in clean_article("NASA-backed - a probe")


DEAL = """Orbitex to buy Zentrix Games for $9 billion

Orbitex Corp said on Tuesday it would buy Zentrix Games Inc for $9 billion in cash, the \
biggest deal in the video game market this year. Orbitex will pay $95 per share.

Zentrix Games makes Skyfall, one of the most played games. Zentrix shares jumped 30%. \
Orbitex said the deal would help Orbitex's subscription service, and Orbitex expects it to \
close next year after review by regulators in the United States.
"""


def test_a_deal_story_gets_both_companies_by_their_short_names_and_no_place() -> None:
    result = draft(clean_article(DEAL), "d")
    by_name = {e.name: e for e in result.entities}
    assert set(by_name) == {"Orbitex", "Zentrix Games"}  # "Orbitex Corp" is Orbitex itself
    assert {a.text for a in by_name["Zentrix Games"].aliases} == {"Zentrix Games", "Zentrix"}
    # the United States is named once, in passing: not the story's place, so no rule needs it
    assert [r.groups for r in result.rules] == [("subject",)]
    assert not any(e.name.endswith("units by name") for e in result.entities)  # "pay": a verb


def test_latin_names_are_also_found_and_matched_without_their_accents() -> None:
    article = (
        "Vexa opens in Brazil\n\nVexa has opened offices in Sao Paulo, Brazil. Vexa said "
        "Brazilian savers want mobile payments, and Vexa will grow across Brazil."
    )
    profile = load_profile(draft_profile_toml(article, "v"), seed_id="v", source="d")
    cities = {a.norm for a in entity(profile, "Cities of Brazil").aliases}
    assert "sao paulo" in cities  # CLDR writes São Paulo; accents are dropped on both sides
    matcher = Matcher(profile)
    assert matcher.match(Item(id="1", title="Vexa doubles its staff in Sao Paulo")).kind == "direct"
    assert matcher.match(Item(id="2", title="Vexa abre escritório em São Paulo")).kind == "direct"


LAUNCH = """Nimbra launches Orca-3, its fastest AI model

Nimbra Inc. on Thursday launched Orca-3, the latest version of the AI model behind its chat \
assistant. Nimbra said Orca-3 writes software code faster than Orca-2.

Orca-3 will be free for every user, Nimbra said. Vantor, Nimbra's largest backer, will add \
Orca-3 to its office software. Nimbra's rivals are racing to ship AI models of their own, and \
Orca-3 is expected to lift Nimbra's revenue.
"""


def test_a_launch_story_without_a_place_is_about_the_product_alone() -> None:
    result = draft(clean_article(LAUNCH), "n")
    groups = {e.name: e.group for e in result.entities}
    # "Nimbra Inc." opens a sentence: still Nimbra; but the versioned product it names nearly
    # as often is the story: news of Nimbra needs the story's vocabulary, as its backer's does
    assert groups["Orca-3"] == "subject" and groups["Nimbra"] == "actor"
    assert groups["Vantor"] == "actor"  # its largest backer: not the story's own group
    assert not any(name.endswith("units by name") for name in groups)
    profile = load_profile(draft_profile_toml(LAUNCH, "n"), seed_id="n", source="d")
    matcher = Matcher(profile)
    assert matcher.match(Item(id="1", title="Orca-3 tops the coding benchmarks")).kind == "direct"
    assert not matcher.match(Item(id="2", title="Vantor reports record office sales")).match
    assert not matcher.match(Item(id="4", title="Nimbra moves its offices downtown")).match
    assert matcher.match(Item(id="3", title="Vantor builds its own AI models")).kind == "thread"


def test_with_only_a_place_drafted_the_rule_is_the_place_never_the_other_countries() -> None:
    from pipeline.drafting import DraftAlias, DraftEntity, _rules

    def made(name: str, group: str) -> DraftEntity:
        return DraftEntity(name, "place", group, 1.0, (DraftAlias(name, "test"),), "test")

    entities = [made("Pakistan", "place"), made("Offices", "office"), made("Others", "elsewhere")]
    assert [r.groups for r in _rules(entities, [], None, None)] == [("place",)]


def test_a_country_is_the_story_place_before_its_continent() -> None:
    article = (
        "Mpox spreads in Africa\n\nA new mpox strain spread from Congo to Uganda, the World "
        "Health Organization (WHO) said. Africa must act, the WHO said, as cases in Congo rose "
        "and Congo asked for vaccines. Africa has few doses."
    )
    result = draft(clean_article(article), "m")
    places = [e.name for e in result.entities if e.group == "place"]
    assert places[0] == "Congo"  # Reuters' "Congo" is CLDR's "Congo - Kinshasa"
    assert "WHO" in {a.text for e in result.entities for a in e.aliases}


def drafted_from(article: str) -> Draft:
    """The draft of ``article`` as `followup seed draft` reads it (datelines dropped)."""
    return draft(clean_article(article), "t")


def by_name(result: Draft) -> dict[str, DraftEntity]:
    return {e.name: e for e in result.entities}


def kinds_of(result: Draft) -> dict[str, str]:
    """Every name's kind: the drafted entities', and those left out ("X: person, too rare")."""
    kinds = {s.split(":")[0]: s.split(": ")[1].split(",")[0] for s in result.skipped}
    return kinds | {e.name: e.kind for e in result.entities}


def test_a_persons_surname_alone_is_the_person_not_a_second_name() -> None:
    article = (
        "Kenya's Ruto signs the finance bill\n\nKenyan President William Ruto signed the "
        "finance bill into law on Monday after weeks of protests in Nairobi. Ruto said the "
        "new taxes would fund schools. Critics of Ruto's government called the bill a burden "
        "on the poor."
    )
    result = drafted_from(article)
    people = [e for e in result.entities if "Ruto" in {a.text for a in e.aliases}]
    assert [(e.name, e.kind, e.group) for e in people] == [("William Ruto", "person", "subject")]
    assert {a.text for a in people[0].aliases} == {"William Ruto", "Ruto"}


def test_a_full_stop_after_an_abbreviation_does_not_end_the_sentence() -> None:
    article = (
        "Observers back the count\n\nThe U.S. State Department said on Monday it would wait "
        "for the observers. The U.S. embassy in Caracas said the same. Officials of the State "
        "Department met Venezuela's electoral council, and Venezuela's opposition met them."
    )
    names = kinds_of(drafted_from(article))
    assert names.get("State Department") == "org" and "Department" not in names
    # the United States, as the article writes it: a place (Caracas makes Venezuela the main one)
    assert names["U.S"] in ("place", "a place of the story")


def test_places_the_atlas_does_not_know_are_found_by_what_the_article_writes_around_them() -> None:
    article = (
        "Floods swamp southern Sindh\n\nMonsoon floods swept across southern Sindh on Sunday, "
        "cutting roads to Dadu District and the Larkana area. Sindh's relief agency said "
        "thousands had left their homes, and rescue boats reached villages near Lake Manchar. "
        "The Sindh Relief Authority asked for tents."
    )
    result = drafted_from(article)
    entities = by_name(result)
    assert entities["Sindh"].kind == "place" and entities["Sindh"].group == "place"
    towns = {a.text for a in entities["Cities of Sindh"].aliases}
    assert {"Dadu District", "Larkana", "Lake Manchar"} <= towns
    assert entities["Sindh Relief Authority"].kind != "place"  # an organisation word ends it


def test_a_named_event_is_the_subject_and_its_name_alone_makes_a_direct_follow_up() -> None:
    article = (
        "Typhoon Haiyan batters the central Philippines\n\nTyphoon Haiyan struck the central "
        "Philippines on Friday with winds of 300 km/h, flattening homes in Tacloban. Haiyan "
        "weakened as it crossed the islands, but rescuers said the typhoon had cut power to "
        "millions. Typhoons rarely hit so hard."
    )
    result = drafted_from(article)
    subject = next(e for e in result.entities if e.group == "subject")
    assert (subject.name, subject.kind) == ("Typhoon Haiyan", "event")
    assert "Haiyan" in {a.text for a in subject.aliases}
    direct = [r for r in result.rules if r.kind == "direct"]
    assert [r.groups for r in direct] == [("subject",)]
    profile = load_profile(draft_profile_toml(article, "t"), seed_id="t", source="draft")
    verdict = Matcher(profile).match(Item(id="1", title="Haiyan death toll passes 5,000"))
    assert verdict.match and verdict.kind == "direct"


def test_a_plural_in_s_is_one_word_family_with_its_singular() -> None:
    assert _family("hurricanes") == _family("hurricane") == "hurricane"
    assert _family("approaches") == "approach"
    assert _family("businesses") == "business"


def test_a_units_last_word_written_alone_stays_a_word() -> None:
    article = (
        "Acme signs with Kenya\n\nAcme will expand Cloud services in Kenya. Acme Cloud will "
        "open two data centres in Nairobi, Acme said, and Kenya's banks will use Acme Cloud."
    )
    result = drafted_from(article)
    unit = next(e for e in result.entities if e.name == "Acme Cloud")
    assert {a.text for a in unit.aliases} == {"Acme Cloud"}


def test_a_wide_feature_is_neither_a_town_nor_an_actor_and_a_verb_ends_no_term() -> None:
    article = (
        "Storm Nora hits Florida's Gulf coast\n\nStorm Nora hit Florida's Gulf coast on "
        "Friday, and the Gulf stayed rough. Nora cut power across central Florida, and the "
        "storm followed a week of rain. The Gulf ports closed; storm damage was heavy and "
        "storm shelters filled, Florida officials said of the Gulf towns."
    )
    result = drafted_from(article)
    named = {a.text for e in result.entities for a in e.aliases}
    assert "Florida" in {e.name for e in result.entities} and "Gulf" not in named
    phrases = {p.text for t in result.topics for p in t.phrases}
    assert not any(p.startswith("storm followed") for p in phrases)
    toml_text = draft_profile_toml(article, "n")
    assert "#   'Florida*': article (" in toml_text  # found in the article, not in CLDR


def test_a_story_about_people_finds_their_country_adjective_and_news_of_them_alone() -> None:
    article = (
        "Greek sprinters Nikos Valas and Eleni Dora miss a drug test\n\nGreece suspended Nikos "
        "Valas and Eleni Dora from its Olympic team after the two Greek sprinters missed a drug "
        "test. Valas said he had not been told of the test. Dora was in hospital, and the "
        "Olympic committee of Greece met on Friday. Valas and Dora face a ban; the Sydney "
        "Olympics champion Valas may miss the Olympics."
    )
    result = drafted_from(article)
    entities = by_name(result)
    assert "Greek" in {a.text for a in entities["Greece"].aliases}  # not a name of its own
    assert "Olympic" not in entities  # an adjective before nouns, no actor
    assert (entities["Nikos Valas"].kind, entities["Eleni Dora"].kind) == ("person", "person")
    assert all("Olympics" != a.text for e in result.entities for a in e.aliases)
    profile = load_profile(draft_profile_toml(article, "g"), seed_id="g", source="draft")
    verdict = Matcher(profile).match(Item(id="1", title="Valas protests his innocence"))
    assert verdict.match  # news of the story's person, without the place


def test_a_month_starts_no_name_and_a_names_final_s_is_kept() -> None:
    article = (
        "Court backs tax claim on Yukos\n\nA Moscow court backed the tax claim on Yukos on "
        "Tuesday. Yukos's shares fell. The case began with the arrest last October of Mikhail "
        "Khodorkovsky, and Yukos says Khodorkovsky did nothing wrong."
    )
    result = drafted_from(article)
    names = {e.name for e in result.entities}
    assert not any(n.startswith("October") for n in names)
    yukos = next(e for e in result.entities if e.name == "Yukos")
    assert {a.text for a in yukos.aliases} == {"Yukos*"}  # "Yuko*" would be case-sensitive


def test_names_of_a_war_story_come_whole_and_the_united_nations_is_no_place() -> None:
    article = (
        "Rwandan troops land in North Darfur\n\nRwandan troops landed in El Fasher, capital "
        "of North Darfur, as the United Nations pressed President Omar al-Bashir. The Justice "
        "and Equality Movement and the rebels of Darfur met in Nigeria; a Nigerian force sent "
        "to Sudan will follow. The United Nations said Sudan's government must act, and "
        "Darfur's rebels together with the Justice and Equality Movement agreed."
    )
    result = drafted_from(article)
    entities = by_name(result)
    assert "Justice and Equality Movement" in entities and "Equality Movement" not in entities
    assert entities.get("North Darfur") is None or entities["North Darfur"].kind == "place"
    assert "North Darfur" in {
        a.text for e in result.entities for a in e.aliases if e.group == "place"
    }
    assert "United Nations" not in {e.name for e in result.entities if e.group == "place"}
    note = next(n for n in result.notes if n.startswith("the story's place"))
    assert "Niger," not in note and "United Nations" not in note  # "Nigerian" is Nigeria's
    phrases = {p.text for t in result.topics for p in t.phrases}
    assert not {"force sent*", "rebels together*"} & phrases
    assert "Omar al-Bashir" in {s.split(":")[0] for s in result.skipped} | set(entities)


def test_a_product_name_keeps_its_number_and_a_standalone_acronym_is_its_name() -> None:
    article = (
        "Vexo ships Cloud Pack 3\n\nVexo Corp. has begun shipping Cloud Pack 3 for its "
        "servers, Redmond, Wash., officials said. The update, known as CP3, fixes holes. CP3 "
        "is free. Vexo says CP3 will reach every customer, and the Vexo Security Board (VSB) "
        "approved it. CP3 arrives in May. VSB members tested CP3."
    )
    result = drafted_from(article)
    entities = by_name(result)
    assert "Wash" not in entities and "Cloud Pack" not in entities
    pack = entities["Cloud Pack 3"]
    assert pack.group == "subject" and "CP3" in {a.text for a in pack.aliases}
    assert entities["Vexo"].group == "actor"  # the maker: its other news is not the story


def test_a_person_titled_after_the_name_and_a_name_after_the_opening_article() -> None:
    article = (
        "Council counts the votes\n\nThe Democratic Coordinator rejected the count. Maria "
        "Lanza, the council's president, said the count was clean, and Maria Lanza met the "
        "Democratic Coordinator on Monday."
    )
    kinds = kinds_of(drafted_from(article))
    assert "Democratic Coordinator" in kinds and "Coordinator" not in kinds
    assert kinds["Maria Lanza"] == "person"


def test_organisations_shaped_like_places_stay_organisations() -> None:
    article = (
        "Western Union and Islamic State\n\nWestern Union blocked transfers to Islamic State "
        "fighters in Raqqa, Western Union said. Western Union's chief said Islamic State used "
        "couriers, and Islamic State's men moved cash across northern Syria."
    )
    kinds = kinds_of(drafted_from(article))
    assert kinds.get("Western Union") != "place" and kinds.get("Islamic State") != "place"


def test_the_storys_place_is_where_its_towns_are_not_its_actors_adjective() -> None:
    article = (
        "US troops push into Iraq's Najaf\n\nAmerican troops and US Marines pushed into "
        "Najaf on Monday. US tanks ringed the shrine as talks in Baghdad failed, and American officers "
        "said the cleric's men held out. Iraq's government met in Baghdad; Baghdad's markets "
        "closed, and Iraq asked for calm."
    )
    note = next(n for n in drafted_from(article).notes if n.startswith("the story's place"))
    assert note.startswith("the story's place is Iraq")


def test_an_arabic_surname_is_also_written_without_its_article() -> None:
    article = (
        "Cleric defies Baghdad\n\nRadical cleric Moqtada al-Sadr refused to leave the shrine "
        "in Najaf, Iraq. Aides said al-Sadr would stay, and al-Sadr's militia held the city."
    )
    cleric = next(e for e in drafted_from(article).entities if e.name == "Moqtada al-Sadr")
    assert {"al-Sadr", "Sadr"} <= {a.text for a in cleric.aliases}  # "Iraq's Sadr" in the news
