"""More stories the drafter was not written for, of other kinds than a company's deal: a
named disaster (Hurricane Charley, August 2004), a vote about a person (Venezuela's recall
referendum on Hugo Chavez), a scandal about two athletes (Greece's sprinters at Athens 2004),
a state's case against a company (Yukos), a war's humanitarian crisis (Darfur) and a product
release (Windows XP Service Pack 2). Each set (tests/data/stories/<id>/, see its README) holds real AG
News titles and leads labelled by the shared rubric; the profile is drafted from seed.txt.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from pipeline.drafting import draft_profile_toml
from pipeline.evaluation import evaluate, labeled_from_json
from pipeline.matching import Matcher
from pipeline.profile import load_profile

STORIES = Path(__file__).resolve().parent / "data" / "stories"
FIELDS = {"id", "title", "summary", "published", "source", "url", "lang", "label", "why"}

# (story, precision, direct recall, thread recall) floors, below the figures measured when
# these were written (Charley 1.000 / 1.000 / 0.982, Venezuela 1.000 / 1.000 / 0.983, the
# Greek sprinters 1.000 / 0.882 / 0.667, Yukos 1.000 / 1.000 / 1.000) so that drafter
# changes have room; a draft that takes Florida for an organisation, loses "Chavez" to a
# second entity, makes "Greek" and "Olympic" actors or "Yukos" a case-sensitive "Yuko*" (as
# drafts did before: 0.49 and 0.80 direct recall, 0.54 precision, 0.89 thread recall) fails.
FLOORS = [
    ("hurricane-charley-2004", 0.90, 0.90, 0.85),
    ("venezuela-recall-2004", 0.90, 0.90, 0.85),
    ("kenteris-thanou-2004", 0.90, 0.80, 0.60),
    ("yukos-2004", 0.90, 0.90, 0.95),
    ("darfur-2004", 0.90, 0.90, 0.90),  # measured 0.964 / 0.962 / 0.964
    # measured 0.814 / 0.959 / 0.658; with Microsoft the subject instead of its Service Pack
    # 2, every piece of Microsoft news was a follow-up (precision 0.61)
    ("windows-xp-sp2-2004", 0.75, 0.90, 0.60),
    # measured 1.000 / 0.971 / 0.798; with the United States its place (its troops' adjective
    # outnumbered Iraq's name), the short drafts found 16 of 69 direct follow-ups
    ("najaf-2004", 0.90, 0.90, 0.70),
]
# Not floored: oil-record-2004, a market topic with no one actor (drafted direct recall
# 0.19, thread recall 0.05: the drafter looks for an actor and a place; see bench/README).


def rows(story: str) -> list[dict]:
    lines = (STORIES / story / "items.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("story", [story for story, *_ in FLOORS])
def test_the_set_is_well_formed(story: str) -> None:
    items = rows(story)
    assert len(items) >= 150
    assert all(set(item) == FIELDS for item in items)
    assert len({item["id"] for item in items}) == len(items)
    labels = Counter(item["label"] for item in items)
    assert labels[0] >= 100 and labels[1] >= 2 and labels[2] >= 10  # see each README


@pytest.mark.parametrize(("story", "precision", "direct", "thread"), FLOORS)
def test_a_drafted_profile_tracks_the_story(
    story: str, precision: float, direct: float, thread: float
) -> None:
    article = (STORIES / story / "seed.txt").read_text(encoding="utf-8")
    profile = load_profile(draft_profile_toml(article, "d"), seed_id="d", source="draft")
    labelled = [labeled_from_json(row) for row in rows(story)]
    matcher = Matcher(profile)
    results = [matcher.match(row.item) for row in labelled]
    overall = evaluate(labelled, results, threshold=profile.threshold, seed="d").overall
    assert overall.precision >= precision
    assert overall.direct_recall >= direct
    assert overall.thread_recall >= thread
