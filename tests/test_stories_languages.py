"""One event reported in English, Urdu and Chinese is one story, in digests and on the
review page; distinct news about the same entities stays apart."""

from __future__ import annotations

import re
from datetime import timedelta

from pipeline.digest import render_digest
from pipeline.stories import cluster_stories, same_event
from pipeline.types import Reason
from tests.fixtures_delivery import NOW, sample_digest, sample_match


def reasons(*pairs: tuple[str, str], topics: tuple[str, ...] = ()) -> tuple[Reason, ...]:
    entities = tuple(Reason(name, matched) for name, matched in pairs)
    return entities + tuple(Reason(t, t.lower(), kind="topic") for t in topics)


ENGLISH = dict(
    title="Alibaba Cloud to hire 200 engineers in Karachi",
    summary="The Alibaba Cloud centre opens in Karachi next month.",
    lang="en",
    source="Dawn",
    reasons=reasons(("Alibaba Cloud", "Alibaba Cloud"), ("Pakistan", "Karachi")),
)
URDU = dict(
    title="علی بابا کلاؤڈ کراچی میں ۲۰۰ انجینئرز بھرتی کرے گا",
    summary="",
    lang="ur",
    source="BBC Urdu",
    reasons=reasons(("Alibaba Cloud", "علی بابا کلاؤڈ"), ("Pakistan", "کراچی")),
)
CHINESE = dict(
    title="阿里云将在卡拉奇招聘200名工程师",
    summary="",
    lang="zh",
    source="Xinhua",
    reasons=reasons(("Alibaba Cloud", "阿里云"), ("Pakistan", "卡拉奇")),
)


def one_event(hours_apart: float = 6):
    return [
        sample_match(1, published=NOW, **ENGLISH),
        sample_match(2, published=NOW - timedelta(hours=hours_apart), **URDU),
        sample_match(3, published=NOW - timedelta(hours=2 * hours_apart), **CHINESE),
    ]


def test_an_english_an_urdu_and_a_chinese_report_of_one_event_are_one_story():
    [story] = cluster_stories(one_event())
    assert [m.id for m in story.matches] == [1, 2, 3]
    assert story.languages == ("en", "ur", "zh")
    assert story.outlets == ("Dawn", "BBC Urdu", "Xinhua")


def test_the_same_entities_and_figure_a_week_apart_are_different_stories():
    matches = one_event(hours_apart=24 * 7)
    assert len(cluster_stories(matches)) == 3


def test_same_entities_within_two_days_but_nothing_else_in_common_stay_apart():
    other = dict(URDU, title="علی بابا کلاؤڈ کراچی میں نیا دفتر کھولے گا")  # a new office
    matches = [sample_match(1, published=NOW, **ENGLISH), sample_match(2, **other)]
    assert len(cluster_stories(matches)) == 2


def test_a_shared_figure_with_other_entities_is_not_one_event():
    daraz = dict(CHINESE, reasons=reasons(("Daraz", "达拉兹"), ("Pakistan", "卡拉奇")))
    matches = [sample_match(1, published=NOW, **ENGLISH), sample_match(2, **daraz)]
    assert len(cluster_stories(matches)) == 2


def test_one_entity_needs_two_shared_signals():
    single = reasons(("Alibaba Cloud", "Alibaba Cloud"))
    english = sample_match(1, **dict(ENGLISH, reasons=single))
    urdu = sample_match(2, **dict(URDU, reasons=reasons(("Alibaba Cloud", "علی بابا کلاؤڈ"))))
    assert not same_event(english, urdu)  # only the figure 200 is shared
    with_topics = [
        sample_match(1, **dict(ENGLISH, reasons=single + reasons(topics=("Jobs",)))),
        sample_match(
            2,
            **dict(URDU, reasons=reasons(("Alibaba Cloud", "علی بابا کلاؤڈ"), topics=("Jobs",))),
        ),
    ]
    assert same_event(*with_topics)  # the figure and the same topics


def test_years_and_small_numbers_are_not_a_shared_signal():
    english = dict(ENGLISH, title="Alibaba Cloud plans for 2026 in Karachi: 3 sites", summary="")
    urdu = dict(URDU, title="علی بابا کلاؤڈ ۲۰۲۶ میں کراچی کے ۳ مقامات")
    assert not same_event(sample_match(1, **english), sample_match(2, **urdu))


def test_a_latin_name_kept_in_another_script_is_a_shared_signal():
    english = dict(ENGLISH, title="Alibaba Cloud brings Qwen to Karachi", summary="")
    chinese = dict(CHINESE, title="阿里云把Qwen带到卡拉奇")
    assert same_event(sample_match(1, **english), sample_match(2, **chinese))


def test_the_digest_shows_one_story_listing_its_language_versions():
    matches, ctx = sample_digest()
    folded = [*(m for m in matches if m.seed != "pk-alibaba-2026"), *one_event()]
    html = render_digest(folded, ctx).html
    text = render_digest(folded, ctx).text
    assert html.count("to hire 200 engineers in") == 1
    assert "招聘200名工程师" not in html  # folded under the English lead
    versions = re.search(r'<div class="languages"[^>]*>(.*?)</div>', html, re.S)
    assert versions is not None and "In EN, UR, ZH" in versions.group(1)
    assert "UR: BBC Urdu" in versions.group(1) and "ZH: Xinhua" in versions.group(1)
    assert "In EN, UR, ZH" in text and "- ZH: Xinhua: https://news.example.org/3" in text
    apart = render_digest(one_event(hours_apart=24 * 7), ctx).html
    assert "In EN, UR, ZH" not in apart and "招聘200名工程师" in apart


# -- on the review page ------------------------------------------------------------------


def stored(review_app):
    """Three language versions of one event, stored as polls store them (each its own
    story key), and the same news a week earlier."""
    from pipeline.stories import story_key
    from tests.fixtures_web import NOW as PAGE_NOW
    from tests.fixtures_web import Entry, match_ids, store_matches

    app = review_app()
    week_ago = dict(ENGLISH, title="Alibaba Cloud hires 200 engineers in Karachi")
    versions = [
        ("http://127.0.0.1:9/dawn.xml", "en1", ENGLISH, PAGE_NOW),
        ("http://127.0.0.1:9/bbc-urdu.xml", "ur1", URDU, PAGE_NOW - timedelta(hours=5)),
        ("http://127.0.0.1:9/xinhua.xml", "zh1", CHINESE, PAGE_NOW - timedelta(hours=9)),
        ("http://127.0.0.1:9/tribune.xml", "old", week_ago, PAGE_NOW - timedelta(days=7)),
    ]
    for feed, guid, fields, when in versions:
        entry = Entry(
            guid,
            fields["title"],
            fields["summary"],
            lang=fields["lang"],
            url=f"https://news.example.org/{guid}",
            reasons=tuple((r.name, r.matched) for r in fields["reasons"]),
            story=story_key(fields["title"]),
        )
        store_matches(app.store, feed, [entry], when)
    return app, match_ids(app.store)


def others_of(html: str, match_id: int) -> str:
    row = re.search(
        rf'<li class="match" id="m{match_id}".*?(?=<li class="match"|</ol>)', html, re.S
    )
    assert row is not None
    found = re.search(r'<details class="others">(.*?)</details>', row.group(0), re.S)
    return found.group(1) if found else ""


def test_the_page_shows_the_language_versions_of_one_event_as_one_story(review_app):
    app, ids = stored(review_app)
    page = app.client.get("/").text
    english = others_of(page, ids["en1"])
    assert "2 other outlets in this story" in english
    assert "bbc-urdu.xml" in english and "xinhua.xml" in english
    assert '<span class="lang">zh</span>' in english
    assert "tribune.xml" not in english  # the same news a week earlier is another story
    urdu = others_of(page, ids["ur1"])
    assert "dawn.xml" in urdu and "xinhua.xml" in urdu
    assert others_of(page, ids["old"]) == ""


def test_a_filtered_page_still_folds_in_versions_the_filter_hides(review_app):
    app, ids = stored(review_app)
    page = app.client.get("/?lang=zh").text
    assert "dawn.xml" in others_of(page, ids["zh1"])
