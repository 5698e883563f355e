from __future__ import annotations

import random
from datetime import timedelta
from types import SimpleNamespace

import pytest
from rapidfuzz import fuzz

from pipeline import stories
from pipeline.stories import canonical_url, cluster_stories, story_key
from tests.fixtures_delivery import NOW, sample_match


def titles(stories):
    return [[match.title for match in story.matches] for story in stories]


def test_rewrites_of_one_story_from_several_outlets_collapse_into_one_story():
    matches = [
        sample_match(1, "Alibaba Cloud to open data centre in Karachi", source="Dawn"),
        sample_match(2, "Alibaba Cloud opens Karachi data center", source="Business Recorder"),
        sample_match(
            3, "Alibaba Cloud to open data center in Karachi, says minister", source="ProPakistani"
        ),
        sample_match(4, "Pakistan, Alibaba sign MoU on e-commerce", source="Dawn"),
    ]
    [cloud, mou] = cluster_stories(matches)
    assert [m.id for m in cloud.matches] == [1, 2, 3]
    assert cloud.outlets == ("Dawn", "Business Recorder", "ProPakistani")
    assert [m.id for m in mou.matches] == [4]


def test_different_news_about_the_same_entities_stays_apart():
    matches = [
        sample_match(1, "Pakistan signs MoU with Alibaba on e-commerce"),
        sample_match(2, "Pakistan signs MoU with China on solar"),
        sample_match(3, "Daraz lays off 200 staff"),
        sample_match(4, "Daraz lays off 300 staff"),
        sample_match(5, "Alibaba"),
        sample_match(6, "Alibaba Cloud to open data centre in Karachi"),
    ]
    assert len(cluster_stories(matches)) == 6


def test_the_same_url_is_one_story_whatever_its_tracking_parameters_and_title():
    matches = [
        sample_match(
            1, "Alibaba opens in Karachi", url="https://www.dawn.com/news/1?utm_source=rss"
        ),
        sample_match(2, "Completely different headline", url="http://dawn.com/news/1/#top"),
    ]
    [story] = cluster_stories(matches)
    assert story.lead.id == 1
    assert (
        canonical_url("https://www.dawn.com/news/1?utm_source=x&b=2&a=1")
        == "//dawn.com/news/1?a=1&b=2"
    )
    assert canonical_url("http://dawn.com:8080/news/1") == "//dawn.com:8080/news/1"
    assert canonical_url("https://dawn.com:443/news/1") == "//dawn.com/news/1"
    assert canonical_url("http://dawn.com:99999/x") is None
    assert canonical_url("not a url") is None


def test_outlet_suffixes_case_and_punctuation_do_not_change_the_story_key():
    key = story_key("Alibaba Cloud to open data centre in Karachi")
    assert story_key("ALIBABA CLOUD to open data-centre in Karachi! - Dawn") == key
    assert story_key("Alibaba Cloud to open data centre in Karachi | Business Recorder") == key
    assert story_key("Alibaba Cloud to open data centre in Lahore") != key
    assert len(key) == 16


def test_matches_sharing_a_stored_story_key_are_one_story():
    matches = [
        sample_match(1, "阿里云在卡拉奇开设数据中心", story="k1"),
        sample_match(2, "Alibaba Cloud opens in Karachi", story="k1"),
    ]
    assert len(cluster_stories(matches)) == 1


def test_stories_and_their_matches_are_newest_first_and_the_lead_is_the_newest():
    matches = [
        sample_match(
            1,
            "Ant Group raises stake in Telenor Microfinance Bank",
            published=NOW - timedelta(hours=5),
        ),
        sample_match(
            2, "Alibaba Cloud opens Karachi data center", published=NOW - timedelta(hours=3)
        ),
        sample_match(
            3, "Alibaba Cloud to open data centre in Karachi", published=NOW - timedelta(hours=1)
        ),
        sample_match(
            4, "Ant Group raises stake in Telenor Microfinance Bank", published=None, matched_at=NOW
        ),
    ]
    stories = cluster_stories(matches)
    assert [[m.id for m in story.matches] for story in stories] == [[4, 1], [3, 2]]
    assert stories[0].newest == NOW


def test_a_story_is_direct_when_any_of_its_matches_is():
    matches = [
        sample_match(1, "Alibaba Cloud opens Karachi data center", kind="thread"),
        sample_match(2, "Alibaba Cloud to open data centre in Karachi", kind="direct"),
    ]
    [story] = cluster_stories(matches)
    assert story.kind == "direct"


def test_the_same_words_a_week_apart_are_different_stories():
    matches = [
        sample_match(1, "Alibaba Cloud opens Karachi data center"),
        sample_match(
            2, "Alibaba Cloud opens Karachi data centre", published=NOW - timedelta(days=8)
        ),
    ]
    assert len(cluster_stories(matches)) == 2


def test_outlets_are_distinct_and_fall_back_to_feed_name_then_host():
    matches = [
        sample_match(1, "Alibaba Cloud opens Karachi data center", source="Dawn"),
        sample_match(2, "Alibaba Cloud opens Karachi data centre", source="DAWN"),
        sample_match(
            3, "Alibaba Cloud opens Karachi data-center", source=None, feed_name="Tribune"
        ),
        sample_match(
            4,
            "Alibaba Cloud opens Karachi data centers",
            source=None,
            feed_name=None,
            feed="https://propakistani.pk/feed/",
        ),
    ]
    [story] = cluster_stories(matches)
    assert story.outlets == ("Dawn", "Tribune", "propakistani.pk")


@pytest.mark.parametrize("seed", range(5))
def test_clustering_does_not_depend_on_input_order(seed):
    matches = [
        sample_match(i, title, published=NOW - timedelta(minutes=i % 3))
        for i, title in enumerate(
            [
                "Alibaba Cloud opens Karachi data center",
                "Alibaba Cloud to open data centre in Karachi",
                "Daraz lays off 200 staff",
                "Daraz lays off 200 staff in Pakistan",
                "Ant Group raises stake in Telenor Microfinance Bank",
            ]
        )
    ]
    shuffled = matches[:]
    random.Random(seed).shuffle(shuffled)
    assert titles(cluster_stories(shuffled)) == titles(cluster_stories(matches))


def test_clustering_thousands_of_distinct_titles_is_bounded_work(monkeypatch):
    # Counted, not timed: each match meets at most WINDOW titles, never all the others.
    compared = []

    def token_set_ratio(a, b, **kwargs):
        compared.append(1)
        return fuzz.token_set_ratio(a, b, **kwargs)

    monkeypatch.setattr(stories, "fuzz", SimpleNamespace(token_set_ratio=token_set_ratio))
    words = [f"w{i}" for i in range(400)]
    rng = random.Random(1)
    matches = [
        sample_match(i, " ".join(rng.sample(words, 8)), published=NOW - timedelta(seconds=i))
        for i in range(2000)
    ]
    found = cluster_stories(matches)
    assert len(found) > 1950
    assert len(matches) * 16 < len(compared) <= len(matches) * 64  # WINDOW = 64 titles
    # all pairs would be len(matches) ** 2 / 2 = 2,000,000 comparisons


def test_titles_without_words_are_not_grouped_by_title():
    matches = [
        sample_match(1, "", url="https://a.example/1"),
        sample_match(2, "", url="https://a.example/2"),
        sample_match(3, "…", url="https://a.example/1?utm_medium=rss"),
        sample_match(4, "🔥🔥", story=story_key("🔥🔥"), url=None),
        sample_match(5, "🔥🔥", story=story_key("🔥🔥"), url=None),
    ]
    assert [[m.id for m in story.matches] for story in cluster_stories(matches)] == [
        [1, 3],
        [2],
        [4],
        [5],
    ]
    assert story_key("") != story_key("…")
