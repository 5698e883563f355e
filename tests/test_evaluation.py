"""Evaluation: the rubric's precision and recalls, per language, a sweep, and the keyword rule."""

from __future__ import annotations

import json

import pytest

from pipeline.evaluation import (
    evaluate,
    item_from_json,
    keyword_baseline,
    labeled_from_json,
    metrics,
    render_text,
    report_json,
)
from pipeline.types import Item, MatchResult, Reason


def row(ident: str, label: int, lang: str = "en", title: str = "t") -> dict[str, object]:
    return {"id": ident, "title": title, "summary": None, "lang": lang, "label": label, "why": "w"}


def verdict(score: float) -> MatchResult:
    reason = Reason(name="Pakistan", matched="Pakistan", field="title")
    return MatchResult(score, score >= 0.5, "direct" if score >= 0.5 else "none", (reason,))


def test_metrics_count_label_one_and_two_as_correct() -> None:
    m = metrics([2, 1, 0, 2, 0], [True, True, True, False, False])
    assert (m.matched, m.correct) == (3, 2)
    assert m.precision == pytest.approx(2 / 3)
    assert m.direct_recall == pytest.approx(1 / 2)  # label 2 only
    assert m.thread_recall == pytest.approx(2 / 3)  # labels 1 and 2


def test_metrics_of_nothing_matched_are_defined() -> None:
    m = metrics([0, 0], [False, False])
    assert (m.precision, m.direct_recall, m.thread_recall) == (1.0, 1.0, 1.0)


def test_report_splits_by_language_sweeps_thresholds_and_lists_mistakes() -> None:
    rows = [
        labeled_from_json(r)
        for r in (row("a", 2), row("b", 0), row("c", 1, "ur"), row("d", 2, "ur"))
    ]
    results = [verdict(0.9), verdict(0.6), verdict(0.3), verdict(0.55)]
    report = evaluate(rows, results, threshold=0.5, seed="pk")
    assert report.overall.matched == 3 and report.overall.precision == pytest.approx(2 / 3)
    assert dict(report.languages)["ur"].direct_recall == 1.0
    assert [case.id for case in report.false_positives] == ["b"]
    assert [case.id for case in report.misses] == ["c"]
    assert report.false_positives[0].reasons == ("Pakistan: 'Pakistan' ~ '' (title, 100)",)
    sweep = dict(report.sweep)
    assert sweep[0.7].matched == 1 and sweep[0.5].matched == 3
    assert {c.name for c in report.checks} >= {"precision", "direct_recall", "thread_recall"}


def test_a_threshold_decides_matches_from_scores_not_from_the_match_flag() -> None:
    rows = [labeled_from_json(row("a", 2))]
    assert evaluate(rows, [verdict(0.45)], threshold=0.4).overall.matched == 1
    assert evaluate(rows, [verdict(0.45)], threshold=0.5).overall.matched == 0


def test_languages_with_five_direct_items_get_their_own_recall_check() -> None:
    rows = [labeled_from_json(row(str(i), 2, "bn")) for i in range(5)]
    report = evaluate(rows, [verdict(0.9)] * 4 + [verdict(0.1)], threshold=0.5)
    check = {c.name: c for c in report.checks}["direct_recall[bn]"]
    assert check.value == pytest.approx(0.8) and not check.ok and not report.ok


KEYWORD = {
    "pakistan and alibaba": ("Alibaba eyes Pakistan", True),
    "pakistani counts as pakistan": ("Pakistani sellers on AliExpress and Alibaba", True),
    "ant financial": ("Ant Financial in Pakistan", True),
    "alibaba without pakistan": ("Alibaba earnings", False),
    "pakistan without the companies": ("Pakistan digital payments", False),
    "urdu is invisible to the keyword rule": ("علی بابا پاکستان", False),
}


@pytest.mark.parametrize(("title", "expected"), list(KEYWORD.values()), ids=list(KEYWORD))
def test_keyword_baseline_is_the_google_alerts_rule(title: str, expected: bool) -> None:
    assert keyword_baseline(Item(id="k", title=title)) is expected


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "t", "label": 1},
        {"id": "x", "label": 1},
        {"id": "x", "title": "t", "label": 3},
        {"id": "x", "title": "t", "label": True},
        {"id": "", "title": "t", "label": 0},
    ],
)
def test_a_labeled_row_needs_an_id_a_title_and_a_label(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        labeled_from_json(bad)


def test_items_take_optional_text_fields_and_ignore_odd_types() -> None:
    item = item_from_json({"id": 7, "title": "T", "summary": None, "content": 3, "lang": "ur"})
    assert (item.id, item.summary, item.content, item.lang) == ("7", "", "", "ur")


def test_text_and_json_renderings_carry_the_same_figures() -> None:
    rows = [
        labeled_from_json(row("a", 2)),
        labeled_from_json(row("b", 0, title="Pakistan Alibaba")),
    ]
    report = evaluate(rows, [verdict(0.9), verdict(0.2)], threshold=0.5, seed="pk")
    data = json.loads(json.dumps(report_json(report)))
    assert data["overall"]["precision"] == 1.0 and data["baseline"]["overall"]["matched"] == 1
    assert data["sweep"][0]["threshold"] == 0.1 and data["ok"] is True
    text = render_text(report)
    assert "keyword rule" in text and "threshold sweep" in text and "direct_recall" in text


def test_rows_and_results_must_pair_up() -> None:
    with pytest.raises(ValueError, match="1 rows but 0 results"):
        evaluate([labeled_from_json(row("a", 1))], [], threshold=0.5)
