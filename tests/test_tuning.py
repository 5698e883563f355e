"""Labels make matching better: `followup tune` proposals and `evaluate --labels` figures."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from pipeline import tuning
from pipeline.cli.labels import evaluate_labels, tune
from pipeline.config import load_settings
from pipeline.types import Item, MatchResult, Reason
from tests.fixtures_db import SEED_PROFILE
from tests.fixtures_web import SEED, Entry, match_ids, store_matches

# -- the arithmetic ---------------------------------------------------------------------


def case(n: int, title: str, relevant: bool, score: float, *reasons: Reason) -> tuning.Scored:
    return (
        tuning.LabelledCase(n, Item(str(n), title), relevant),
        MatchResult(score, True, "direct", reasons),
    )


LABELS = [
    case(1, "Alibaba Cloud opens in Karachi", True, 0.95),
    case(2, "Daraz widens seller programme", True, 0.9),
    case(3, "Alipay arrives in Pakistan", True, 0.8),
    case(4, "Pakistan e-commerce rules", True, 0.62),
    case(5, "Lottery winner buys on Daraz", False, 0.58),
    case(6, "Lottery scam names Alibaba", False, 0.55),
    case(7, "Pakistani lottery ticket on Alibaba", False, 0.52),
    case(8, "Cricket: Pakistan win, Alibaba sponsors", False, 0.7),
]


def test_metrics_count_precision_and_recall_among_the_labels():
    at = tuning.metrics(LABELS, 0.6)
    assert (at.labelled, at.relevant, at.kept, at.kept_relevant) == (8, 4, 5, 4)
    assert at.precision == pytest.approx(0.8) and at.recall == 1.0
    assert at.f1 == pytest.approx(2 * 0.8 / 1.8)


def test_the_proposed_threshold_is_the_one_that_best_separates_the_labels():
    # Between 0.58 and 0.62: all four relevant kept, and only the cricket item (F1 0.89);
    # above the cricket item's 0.7, one relevant item is lost (F1 0.86).
    assert tuning.propose_threshold(LABELS, 0.5) == 0.6


def test_on_a_tie_the_threshold_nearest_the_current_one_wins():
    labels = [case(1, "a", True, 0.9), case(2, "b", False, 0.3), case(3, "c", True, 0.8)]
    assert tuning.propose_threshold(labels, 0.5) == 0.5


@pytest.mark.parametrize(
    "labels, why",
    [
        (LABELS[:5], "only 5 labelled matches"),
        ([c for c in LABELS * 2 if c[0].relevant], "no match is labelled irrelevant"),
        ([c for c in LABELS * 2 if not c[0].relevant], "no match is labelled relevant"),
    ],
    ids=["too few", "all relevant", "all irrelevant"],
)
def test_thin_evidence_is_refused_and_says_why(labels, why):
    assert why in tuning.evidence_problem(labels)


def test_negative_terms_recur_in_irrelevant_items_and_never_in_relevant_ones():
    proposals = tuning.propose_negatives(LABELS, known={"Alibaba", "Daraz", "Pakistan"})
    assert [(p.term, p.irrelevant_items, p.examples) for p in proposals] == [
        ("lottery", 3, (5, 6, 7))
    ]


def test_a_word_of_a_relevant_item_is_never_a_negative_term():
    labels = [*LABELS, case(9, "Lottery regulator picks Alibaba Cloud", True, 0.9)]
    terms = [p.term for p in tuning.propose_negatives(labels, known=set())]
    assert "lottery" not in terms


def test_a_fuzzy_spelling_in_a_relevant_item_becomes_an_alias_to_add():
    fuzzy = Reason("Alibaba Group", "Alibba", "entity", "alibaba", similarity=92.3)
    exact = Reason("Pakistan", "Pakistan", "entity", "pakistan")
    labels = [
        case(1, "Alibba expands in Pakistan", True, 0.9, fuzzy, exact),
        case(2, "Alibba again", False, 0.6, fuzzy),  # an irrelevant item proves nothing
        case(3, "Alibba in Lahore", True, 0.8, fuzzy),
    ]
    [proposal] = tuning.propose_aliases(labels, known={"Alibaba", "Pakistan"})
    assert (proposal.entity, proposal.alias, proposal.seen_in) == (
        "Alibaba Group",
        "Alibba",
        (1, 3),
    )
    assert tuning.propose_aliases(labels, known={"alibba"}) == []


def test_the_profile_toml_is_written_back_with_the_proposal_in_it():
    data = tomllib.loads(SEED_PROFILE.read_text(encoding="utf-8"))
    proposal = tuning.Proposal(
        0.62,
        (tuning.AliasProposal("Alibaba Group", "Alibba", (1,)),),
        (tuning.TermProposal("lottery", 3, (5, 6, 7)),),
    )
    written = tomllib.loads(tuning.dump_toml(tuning.apply_proposal(data, proposal)))
    assert written["profile"]["threshold"] == 0.62
    assert written["profile"]["field_weights"] == data["profile"]["field_weights"]
    [group] = [e for e in written["entity"] if e["name"] == "Alibaba Group"]
    assert (
        group["aliases"][-1] == "Alibba" and group["aliases"][:-1] == data["entity"][0]["aliases"]
    )
    assert written["negative"][-1]["phrases"] == ["lottery"]
    assert written["entity"][1:] == data["entity"][1:]  # the rest, Urdu and Bengali included
    assert written["rule"] == data["rule"]
    assert data["profile"]["threshold"] == 0.5  # the original is not touched


def test_the_toml_writer_round_trips_awkward_values():
    data = {
        "profile": {"threshold": 0.5, "field_weights": {"title": 1.0}},
        "entity": [
            {
                "name": 'Quote " and \\ backslash',
                "aliases": ["阿里云", {"alias": "دراز", "context": ["pakistan"]}],
                "implies": [{"group": "pakistan", "weight": 0.8, "unless": []}],
                "fuzzy": False,
            }
        ],
    }
    assert tomllib.loads(tuning.dump_toml(data)) == data


def test_changes_list_what_would_appear_and_disappear():
    stored = [
        (1, 10, 0.9, Item("a", "kept")),
        (2, 11, 0.6, Item("b", "dropped")),
        (3, None, None, Item("c", "new")),
        (4, None, None, Item("d", "still out")),
    ]
    verdicts = [MatchResult(s, s >= 0.7, "direct") for s in (0.95, 0.3, 0.8, 0.1)]
    appear, disappear = tuning.changes(stored, verdicts, 0.7)
    assert [(c.item_id, c.before, c.after) for c in appear] == [(3, None, 0.8)]
    assert [(c.match_id, c.before, c.after) for c in disappear] == [(11, 0.6, 0.3)]


# -- against stored labels and the real matcher -------------------------------------------

RELEVANT = [
    "Alibaba Cloud opens data centre in Karachi",
    "Alibba Cloud expands in Pakistan",
    "Ant Group invests in Easypaisa, Pakistan",
    "Pakistan signs cloud computing deal with Alibaba",
    "Jack Ma visits Islamabad",
    "Pakistan e-commerce rules widen",
]
IRRELEVANT = [
    "Daraz lottery winner in Lahore gets a phone",
    "Lottery scam uses Daraz name in Karachi",
    "Pakistani lottery ticket sold on Alibaba.com",
]


@pytest.fixture
def labelled(db_url, store_for, write_config):
    """Matches stored an hour ago, labelled; plus one unlabelled match and one non-match."""
    from pipeline.matching import Matcher
    from pipeline.profile import profile_for_seed

    config = write_config(db_url=db_url)
    store = store_for(db_url)
    matcher = Matcher(profile_for_seed(SEED, "", SEED_PROFILE.read_text(), "seed"))
    titles = [*RELEVANT, *IRRELEVANT, "Lottery draw in Karachi mentions Daraz"]
    entries = [
        Entry(
            f"i{n}",
            title,
            score=matcher.match(Item("x", title)).score,
            reasons=tuple((r.name, r.matched) for r in matcher.match(Item("x", title)).reasons),
        )
        for n, title in enumerate(titles)
    ]
    entries.append(Entry("stale", "Alibaba Cloud opens in Karachi", score=None))
    now = datetime.now(UTC) - timedelta(hours=1)
    store_matches(store, "http://127.0.0.1:9/feed.xml", entries, now)
    by_guid = match_ids(store)
    ids = {title: by_guid[f"i{n}"] for n, title in enumerate(titles)}
    for title, match_id in ids.items():
        if title in RELEVANT or title in IRRELEVANT:
            store.label_match(match_id, "relevant" if title in RELEVANT else "irrelevant", now)
    return config, store, ids


def test_tune_proposes_an_alias_a_negative_term_and_a_threshold(labelled):
    config, store, ids = labelled
    result = CliRunner().invoke(tune, ["--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)
    assert [(a["entity"], a["alias"]) for a in report["aliases"]] == [("Alibaba Group", "Alibba")]
    assert [n["term"] for n in report["negatives"]] == ["lottery"]
    assert report["threshold"]["now"] == 0.5
    assert 0.5 < report["threshold"]["proposed"] <= 0.77
    assert report["before"]["precision"] == pytest.approx(6 / 9, abs=1e-4)
    assert report["after"]["precision"] == 1.0 and report["after"]["recall"] == 1.0
    disappear = {c["match"] for c in report["disappear"]}
    assert disappear == {ids[t] for t in IRRELEVANT} | {
        ids["Lottery draw in Karachi mentions Daraz"]
    }
    assert [c["title"] for c in report["appear"]] == ["Alibaba Cloud opens in Karachi"]


def test_tune_shows_its_proposal_and_applies_nothing(labelled, tmp_path):
    config, store, _ = labelled
    before = config.read_text()
    out = tmp_path / "proposed.toml"
    result = CliRunner().invoke(tune, ["--config", str(config), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Alibaba Group += 'Alibba'" in result.output
    assert "'lottery' in 3 irrelevant matches" in result.output
    assert "4 matches would disappear" in result.output
    assert "1 match would appear" in result.output
    assert "nothing was applied" in result.output
    assert config.read_text() == before
    settings = load_settings(str(config), {})
    assert settings.seeds[0].profile_text == SEED_PROFILE.read_text()
    proposed = tomllib.loads(out.read_text())
    assert proposed["negative"][-1]["phrases"] == ["lottery"]


def test_tune_refuses_to_overwrite_a_file(labelled, tmp_path):
    config, _, _ = labelled
    out = tmp_path / "exists.toml"
    out.write_text("keep me")
    result = CliRunner().invoke(tune, ["--config", str(config), "--out", str(out)])
    assert result.exit_code == 1
    assert out.read_text() == "keep me"


def test_tune_with_too_few_labels_proposes_nothing(db_url, store_for, write_config):
    config = write_config(db_url=db_url)
    store = store_for(db_url)
    [match] = store_matches(store, "http://127.0.0.1:9/f.xml", [Entry("a", "Alibaba in Pakistan")])
    store.label_match(match, "relevant", datetime.now(UTC))
    result = CliRunner().invoke(tune, ["--config", str(config)])
    assert result.exit_code == 0
    assert "no proposal: only 1 labelled matches" in result.output


def test_evaluate_labels_scores_the_matcher_against_stored_labels(labelled):
    config, _, ids = labelled
    settings = load_settings(str(config), {})
    [report] = json.loads(evaluate_labels(settings, as_json=True))
    assert report["overall"]["labelled"] == 9
    assert report["overall"]["relevant"] == 6
    assert report["overall"]["precision"] == pytest.approx(6 / 9, abs=1e-4)
    assert {fp["match"] for fp in report["false_positives"]} == {ids[t] for t in IRRELEVANT}
    assert report["misses"] == []
    text = evaluate_labels(settings, threshold=0.99)
    assert "at threshold 0.99" in text
    assert "no longer matched, labelled relevant" in text


@pytest.fixture
def followup_with_tune(followup, monkeypatch):
    """`followup` with `tune` registered, as `pipeline.cli._register` is to do."""
    from pipeline.cli import cli

    monkeypatch.setitem(cli.commands, "tune", tune)
    return followup


def test_followup_tune_runs_from_the_command_line(followup_with_tune, labelled):
    config, _, _ = labelled
    result = followup_with_tune("--config", str(config), "tune", "--seed", SEED)
    assert result.code == 0, result.err
    assert "seed pk-alibaba-2026: 9 labelled matches" in result.out


def test_followup_tune_with_an_unknown_seed_exits_2_naming_it(followup_with_tune, labelled):
    config, _, _ = labelled
    result = followup_with_tune("tune", "--seed", "nope", "--config", str(config))
    assert result.code == 2
    assert "no seed 'nope'" in result.err and "Traceback" not in result.err


def test_followup_evaluate_labels_runs_from_the_command_line(followup, labelled):
    config, _, _ = labelled
    result = followup("evaluate", "--labels", "--json", "--config", str(config))
    assert result.code == 0, result.err
    [report] = json.loads(result.out)
    assert report["overall"]["labelled"] == 9
    neither = followup("evaluate", "--config", str(config))
    assert neither.code == 2 and "--labels" in neither.err
