"""The review page in process: the list, its filters and search, stories, pagination,
labelling, the timeline, feed health and exports, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from tests.fixtures_web import (  # noqa: F401
    NOW,
    SEED,
    Entry,
    match_ids,
    review_app_fixture,
    store_matches,
)

DAWN = "http://127.0.0.1:9/dawn.xml"
BBC = "http://127.0.0.1:9/bbc-urdu.json"
XINHUA = "http://127.0.0.1:9/xinhua.atom"


def ids_on(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="match" id="m(\d+)"', html)]


def shown(review, html: str) -> list[str]:
    """The guids of the items whose matches the page lists, in its order."""
    guids = {ident: guid for guid, ident in match_ids(review.store).items()}
    return [guids[ident] for ident in ids_on(html)]


def ident(review, guid: str) -> int:
    return match_ids(review.store)[guid]


@pytest.fixture
def review(review_app):
    """A small database: three outlets, three languages, two seeds, four days.
    Newest first: x1, x2, b1, d2, d1."""
    app = review_app()
    store_matches(
        app.store,
        DAWN,
        [
            Entry(
                "d1",
                "Alibaba Cloud to open a data centre in Karachi",
                "The deal was signed with Pakistan's IT ministry.",
                url="https://dawn.example/1",
                score=0.92,
                reasons=(("Alibaba Cloud", "Alibaba Cloud"), ("Pakistan", "Karachi")),
                story="alibaba-karachi",
            ),
        ],
        NOW - timedelta(days=3),
    )
    store_matches(
        app.store,
        DAWN,
        [
            Entry(
                "d2",
                "Pakistan widens e-commerce rules",
                score=0.55,
                kind="thread",
                reasons=(("Pakistan", "Pakistan"),),
            ),
        ],
        NOW - timedelta(days=3) + timedelta(hours=1),
    )
    store_matches(
        app.store,
        BBC,
        [
            Entry(
                "b1",
                "علی بابا کلاؤڈ پاکستان میں ڈیٹا سینٹر قائم کرے گا",
                lang="ur",
                score=0.88,
                reasons=(("Alibaba Cloud", "علی بابا کلاؤڈ"), ("Pakistan", "پاکستان")),
                story="alibaba-karachi",
            )
        ],
        NOW - timedelta(days=1),
    )
    store_matches(
        app.store,
        XINHUA,
        [
            Entry(
                "x1",
                "阿里云将在巴基斯坦建设数据中心",
                lang="zh",
                score=0.9,
                reasons=(("Alibaba Cloud", "阿里云"), ("Pakistan", "巴基斯坦")),
                story="alibaba-karachi",
            ),
        ],
        NOW,
    )
    store_matches(
        app.store,
        XINHUA,
        [
            Entry(
                "x2",
                "Daraz sellers meet in Lahore",
                lang="en",
                seed="other-seed",
                score=0.7,
                reasons=(("Daraz", "Daraz"),),
            ),
        ],
        NOW - timedelta(minutes=1),
    )
    return app


def test_the_list_shows_every_match_newest_first_with_its_reasons_highlighted(review):
    page = review.client.get("/")
    assert page.status_code == 200
    assert shown(review, page.text) == ["x1", "x2", "b1", "d2", "d1"]
    assert "5 matches" in page.text
    assert "<mark>Alibaba Cloud</mark> to open a data centre in <mark>Karachi</mark>" in page.text
    assert "<mark>阿里云</mark>将在<mark>巴基斯坦</mark>建设数据中心" in page.text
    assert "<b>Pakistan</b> <q><bdi>Karachi</bdi></q>" in page.text


FILTERS = {
    "seed": ("seed=other-seed", ["x2"]),
    "since": ("since=2026-06-09", ["x1", "x2", "b1"]),
    "until": ("until=2026-06-07", ["d2", "d1"]),
    "date range": ("since=2026-06-08&until=2026-06-09", ["b1"]),
    "score": ("min_score=0.89", ["x1", "d1"]),
    "thread": ("kind=thread", ["d2"]),
    "outlet by url": (f"feed={BBC}", ["b1"]),
    "language": ("lang=ur", ["b1"]),
    "entity": ("entity=Daraz", ["x2"]),
    "search in English": ("q=karachi", ["d1"]),
    "search for two words": ("q=data+karachi", ["d1"]),
    "search in Urdu": ("q=کلاؤڈ", ["b1"]),
    "search in Chinese": ("q=巴基斯坦", ["x1"]),
    "short search word": ("q=e-", ["d2"]),
    "search and filter": ("q=alibaba&lang=en", ["d1"]),
}


@pytest.mark.parametrize("query, expected", FILTERS.values(), ids=FILTERS.keys())
def test_each_filter_narrows_the_list(review, query, expected):
    page = review.client.get(f"/?{query}")
    assert page.status_code == 200
    assert shown(review, page.text) == expected


def test_the_label_filter_follows_the_latest_label(review):
    csrf = review.csrf()
    d1, d2 = ident(review, "d1"), ident(review, "d2")
    for verdict in ("irrelevant", "relevant"):
        review.client.post(f"/matches/{d1}/label", data={"label": verdict, "csrf": csrf})
    review.client.post(f"/matches/{d2}/label", data={"label": "irrelevant", "csrf": csrf})
    assert shown(review, review.client.get("/?label=relevant").text) == ["d1"]
    assert shown(review, review.client.get("/?label=irrelevant").text) == ["d2"]
    assert shown(review, review.client.get("/?label=unlabeled").text) == ["x1", "x2", "b1"]


def test_a_story_shows_its_other_outlets_in_place(review):
    page = review.client.get("/?q=karachi").text
    others = re.search(r'<details class="others">(.*?)</details>', page, re.S)
    assert others is not None
    assert "2 other outlets in this story" in others.group(1)
    assert "bbc-urdu.json" in others.group(1) and "xinhua.atom" in others.group(1)


def test_filter_values_the_page_cannot_use_are_dropped_with_a_note(review):
    page = review.client.get("/?since=yesterday&min_score=7&kind=maybe&page=zero")
    assert page.status_code == 200
    assert shown(review, page.text) == ["x1", "x2", "b1", "d2", "d1"]
    for note in ("ignored since", "ignored min_score", "ignored kind"):
        assert note in page.text


def test_pages_hold_fifty_matches_and_link_to_older_ones(review_app):
    app = review_app()
    entries = [
        Entry(f"g{n}", f"Alibaba news number {n}", reasons=(("A", "Alibaba"),)) for n in range(120)
    ]
    store_matches(app.store, DAWN, entries)
    first = app.client.get("/").text
    assert len(ids_on(first)) == 50 and "1–50 of 120 matches" in first
    assert 'href="/?page=2" rel="next"' in first
    last = app.client.get("/?page=3").text
    assert len(ids_on(last)) == 20 and "101–120 of 120" in last
    assert 'rel="next"' not in last
    assert set(ids_on(first)).isdisjoint(ids_on(app.client.get("/?page=2").text))


def test_one_click_labels_a_match_and_comes_back_to_the_same_filter(review):
    csrf, b1 = review.csrf(), ident(review, "b1")
    answer = review.client.post(
        f"/matches/{b1}/label",
        data={"label": "relevant", "csrf": csrf, "next": "/?lang=ur"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/?lang=ur#m{b1}"
    [match] = [m for m in review.store.list_matches() if m.id == b1]
    assert match.label == "relevant"
    assert 'data-label="relevant"' in review.client.get("/?lang=ur").text


def test_the_script_labels_with_a_json_answer(review):
    csrf, x1 = review.csrf(), ident(review, "x1")
    answer = review.client.post(
        f"/matches/{x1}/label",
        data={"label": "irrelevant", "csrf": csrf},
        headers={"accept": "application/json"},
    )
    assert answer.json() == {"id": x1, "label": "irrelevant"}


def test_labelling_never_redirects_to_another_site(review):
    csrf = review.csrf()
    answer = review.client.post(
        "/matches/1/label",
        data={"label": "relevant", "csrf": csrf, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/#m1"


@pytest.mark.parametrize(
    "data, status",
    [({"label": "maybe"}, 400), ({"label": "relevant", "id": "999"}, 404)],
    ids=["unknown verdict", "unknown match"],
)
def test_a_label_post_that_cannot_apply_says_why(review, data, status):
    csrf = review.csrf()
    target = "/matches/999/label" if status == 404 else "/matches/1/label"
    answer = review.client.post(target, data={**data, "csrf": csrf})
    assert answer.status_code == status


def test_the_timeline_counts_matches_per_day_by_entity(review):
    page = review.client.get("/timeline?since=2026-06-07&until=2026-06-10")
    assert page.status_code == 200
    assert "<svg" in page.text and "<polyline" in page.text
    rows = dict(re.findall(r"<tr><td>(2026-06-\d\d)</td>(.*?)</tr>", page.text, re.S))
    headers = re.findall(r"<th>(.*?)</th>", page.text)
    assert headers == ["Day", "Pakistan", "Alibaba Cloud", "Daraz"]  # the biggest first
    assert sorted(rows) == ["2026-06-07", "2026-06-08", "2026-06-09", "2026-06-10"]
    counts = {day: re.findall(r"<td>(\d+)</td>", cells) for day, cells in rows.items()}
    assert counts["2026-06-07"] == ["2", "1", "0"]  # d1 (both), d2 (Pakistan)
    assert counts["2026-06-08"] == ["0", "0", "0"]
    assert counts["2026-06-09"] == ["1", "1", "0"]
    assert counts["2026-06-10"] == ["1", "1", "1"]


def test_the_timeline_counts_matches_per_day_by_language(review):
    page = review.client.get("/timeline?by=lang&seed=" + SEED)
    headers = re.findall(r"<th>(.*?)</th>", page.text)
    assert headers == ["Day", "en", "ur", "zh"]
    assert "4 matches from 2026-05-12 to 2026-06-10" in page.text


def test_the_feeds_page_shows_last_success_last_error_and_next_poll(review):
    store_matches(
        review.store,
        BBC,
        [],
        NOW + timedelta(minutes=5),
        outcome="failed",
        error="HTTP 503 from the server",
    )
    page = review.client.get("/feeds").text
    failing = re.search(r'<tr class="failing">(.*?)</tr>', page, re.S)
    assert failing is not None
    assert "bbc-urdu.json" in failing.group(1)
    assert "HTTP 503 from the server" in failing.group(1)
    assert "2026-06-09 12:00 UTC" in failing.group(1)  # its last success
    assert "2026-06-10 12:20 UTC" in failing.group(1)  # next poll
    assert page.count('<tr class="ok">') == 2


def test_exports_hold_the_current_filter_as_csv_and_json(review):
    as_json = review.client.get("/export.json?lang=en&seed=" + SEED)
    assert as_json.status_code == 200
    assert "attachment" in as_json.headers["content-disposition"]
    assert [m["id"] for m in as_json.json()] == [ident(review, "d2"), ident(review, "d1")]
    assert as_json.json()[1]["reasons"][0] == {
        "name": "Alibaba Cloud",
        "matched": "Alibaba Cloud",
        "kind": "entity",
        "alias": "Alibaba Cloud",
        "field": "title",
        "similarity": 100.0,
        "weight": 0.0,
    }
    as_csv = review.client.get("/export.csv?q=karachi")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["id"] for r in rows] == [str(ident(review, "d1"))]
    assert rows[0]["reasons"] == "Alibaba Cloud: Alibaba Cloud; Pakistan: Karachi"


def test_an_unknown_export_format_is_not_found(review):
    assert review.client.get("/export.xml").status_code == 404


def test_a_chunked_export_returns_every_match_once_even_when_times_tie(review_app):
    from pipeline.storage.review import ReviewQueries
    from pipeline.storage.store import MatchFilter

    app = review_app()
    store_matches(app.store, DAWN, [Entry(f"a{n}", f"Alibaba {n}") for n in range(7)])
    store_matches(
        app.store, BBC, [Entry(f"b{n}", f"Daraz {n}") for n in range(3)], NOW - timedelta(hours=1)
    )
    chunks = list(ReviewQueries(app.store.engine).iter_matches(MatchFilter(), chunk=3))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    flat = [m.id for chunk in chunks for m in chunk]
    assert flat == [m.id for m in app.store.list_matches()]  # the same order as the list
    limited = ReviewQueries(app.store.engine).iter_matches(MatchFilter(limit=5), chunk=3)
    assert [len(c) for c in limited] == [3, 2]


def test_an_export_of_an_empty_filter_is_valid_csv_and_json(review):
    assert review.client.get("/export.json?seed=nobody").json() == []
    rows = list(csv.reader(io.StringIO(review.client.get("/export.csv?seed=nobody").text)))
    assert rows[0][:3] == ["id", "seed", "score"] and len(rows) == 1
