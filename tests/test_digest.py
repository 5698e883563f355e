from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.digest import (
    covered_by,
    highlight,
    render_alert,
    render_digest,
    render_webhook_body,
    safe_url,
    trend,
)
from pipeline.digest_chat import discord_escape
from pipeline.types import Reason
from tests.fixtures_delivery import NOW, sample_digest, sample_match

HOSTILE_TITLE = 'Alibaba <script>alert(1)</script><img src=x onerror="alert(2)"> "quoted" &amp; more\r\nBcc: victim@example.org'
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript&#x3A;alert(1)",
    "java\tscript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    'https://ok.example/"onmouseover="alert(1)',
]


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def hrefs(self) -> list[str]:
        return [attrs["href"] or "" for tag, attrs in self.tags if tag == "a"]


def test_the_subject_is_built_from_counts_and_seed_ids_never_from_feed_text():
    matches = [sample_match(1, HOSTILE_TITLE), sample_match(2, "Daraz news", seed="pk-ant-2026")]
    _, ctx = sample_digest()
    subject = render_digest(matches, ctx).subject
    assert subject == "followup: 2 new follow-ups for pk-alibaba-2026, pk-ant-2026 (28 Nov 2026)"
    assert "\r" not in subject and "\n" not in subject


def test_a_subject_with_many_seeds_names_two_and_counts_the_rest():
    matches = [sample_match(i, f"Story {i}", seed=f"seed-{i}") for i in range(4)]
    assert "for seed-0, seed-1 and 2 more" in render_digest(matches, sample_digest()[1]).subject


def test_hostile_titles_are_escaped_in_html_and_carry_no_markup_in_text():
    _, ctx = sample_digest()
    message = render_digest([sample_match(1, HOSTILE_TITLE, summary=HOSTILE_TITLE)], ctx)
    tags = Tags(message.html).tags
    assert not [tag for tag, _ in tags if tag in ("script", "img", "iframe")]
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html
    assert "&amp;amp; more" in message.html  # the feed's "&amp;" shown as text, not decoded
    assert "Bcc: victim@example.org" in message.text  # same line as the title: no header, no break
    assert "\r" not in message.text


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_only_http_links_survive_in_html_and_text(url):
    _, ctx = sample_digest()
    matches = [
        sample_match(1, "Alibaba Cloud opens Karachi data center", url=url, source="Dawn"),
        sample_match(
            2, "Alibaba Cloud opens Karachi data centre", url=url + "#2", source="Tribune"
        ),
    ]
    message = render_digest(matches, ctx)
    hrefs = Tags(message.html).hrefs()
    assert hrefs == ["http://127.0.0.1:8080/"]  # only the review link is left
    assert "script:" not in message.text.lower() and "data:" not in message.text
    assert "evil.example" not in message.html + message.text


def test_safe_url_keeps_ordinary_http_links():
    assert (
        safe_url("https://www.dawn.com/news/1?id=2&x=3") == "https://www.dawn.com/news/1?id=2&x=3"
    )
    assert safe_url("HTTP://example.org") == "HTTP://example.org"
    assert safe_url("https://") is None
    assert safe_url("ftp://example.org/x") is None


def test_matched_spans_are_highlighted_after_escaping():
    marked = highlight("Tom & <Alibaba> Cloud's <b>", ["alibaba", "<b>", "x"])
    assert "<b>" not in marked
    assert str(marked).count("<span") == 2
    assert ">Alibaba</span>" in marked and ">&lt;b&gt;</span>" in marked
    assert marked.startswith("Tom &amp; &lt;")


def test_overlapping_highlights_merge_into_one_span():
    marked = highlight("Alibaba Cloud Karachi", ["Alibaba Cloud", "Cloud Karachi"])
    assert str(marked).count("<span") == 1


def test_the_digest_is_grouped_by_seed_then_story_newest_first():
    matches, ctx = sample_digest()
    message = render_digest(matches, ctx)
    text = message.text
    assert text.index("== Alibaba's Pakistan expansion (2026)") < text.index(
        "== Ant Group and Pakistani fintech"
    )
    assert text.count("Alibaba Cloud to open data centre in Karachi") == 1  # 5 outlets, one entry
    assert "Covered by Dawn, Business Recorder and 3 more" in text
    assert "Covered by Dawn, Business Recorder and 3 more" in message.html
    newest, urdu, chinese, thread = (
        text.index("data centre in Karachi"),
        text.index("علی بابا"),
        text.index("阿里云"),
        text.index("Daraz cuts"),
    )
    assert newest < urdu < chinese < thread


def test_each_story_shows_outlet_local_date_link_badge_and_evidence():
    matches, ctx = sample_digest()
    message = render_digest(matches, ctx)
    assert "Dawn · 28 Nov 2026, 07:00" in message.text  # 02:00 UTC in Asia/Karachi
    assert "[Direct follow-up] Alibaba Cloud to open" in message.text
    assert "[Same thread] Daraz cuts 200 jobs" in message.text
    assert "Matched: Daraz; Alibaba Group: Alibaba" in message.text
    assert "https://news.example.org/1" in Tags(message.html).hrefs()
    assert "Same thread" in message.html and "Direct follow-up" in message.html
    assert ">Alibaba Cloud</span> to open data centre in <span" in message.html


def test_the_header_shows_the_periods_figures_and_the_footer_the_failing_feeds():
    matches, ctx = sample_digest()
    message = render_digest(matches, ctx)
    assert "27 Nov 2026, 08:00 – 28 Nov 2026, 08:00 (Asia/Karachi)" in message.text
    assert "9 new follow-ups (8 direct, 1 same thread) in 5 stories from 8 outlets" in message.text
    assert "Trend: ▲ up 3 from 6, 50%" in message.text
    assert "Languages: EN, UR, ZH" in message.text
    assert "Newly seen: Daraz, Telenor Microfinance Bank" in message.text
    assert (
        "Business Recorder: failing since 27 Nov 2026, 02:00, 9 failed polls: HTTP 503"
        in message.text
    )
    for shown in (
        "Failing feeds (1)",
        "HTTP 503 Service Unavailable",
        "Telenor Microfinance Bank",
        "up 3 from 6",
    ):
        assert shown in message.html


@pytest.mark.parametrize(
    ("count", "previous", "expected"),
    [
        (5, None, "no previous period to compare"),
        (5, 5, "same as the previous period (5)"),
        (2, 8, "▼ down 6 from 8, 75%"),
        (3, 0, "▲ up 3 from 0"),
    ],
)
def test_the_trend_compares_with_the_previous_period(count, previous, expected):
    assert trend(count, previous) == expected


def test_covered_by_names_two_outlets_and_counts_the_rest():
    assert covered_by(["Dawn", "BR", "ProPakistani"]) == "Dawn, BR and ProPakistani"
    assert covered_by(["Dawn", "BR"]) == "Dawn and BR"
    assert covered_by(["A", "B", "C", "D", "E"]) == "A, B and 3 more"


def test_an_empty_digest_says_so():
    _, ctx = sample_digest()
    message = render_digest([], ctx)
    assert message.subject == "followup: no new follow-ups (28 Nov 2026)"
    assert "No new follow-ups in this period." in message.text
    assert "No new follow-ups in this period." in message.html


def test_control_characters_and_bidi_overrides_do_not_reach_the_text():
    title = "Alibaba\u202e reversed\x00 \x1b[31mred\u2066 isolate"
    message = render_digest([sample_match(1, title)], sample_digest()[1])
    for bad in ("\u202e", "\x00", "\x1b", "\u2066"):
        assert bad not in message.text and bad not in message.html


def test_an_alert_names_the_seed_kind_and_score_but_not_the_title():
    _, ctx = sample_digest()
    alert = render_alert(sample_match(1, HOSTILE_TITLE, score=0.934), ctx)
    assert alert.subject == "followup alert: direct follow-up for pk-alibaba-2026 (score 0.93)"
    assert "Direct follow-up alert" in alert.html
    assert "new follow-ups (" not in alert.text  # no period figures in an alert
    assert "matched 28 Nov 2026, 07:05 (Asia/Karachi)" in alert.text
    assert "Failing feeds" not in alert.text
    assert "&lt;script&gt;" in alert.html


def test_the_json_webhook_body_lists_every_match_with_reasons_and_the_delivery_id():
    matches, ctx = sample_digest()
    body = json.loads(render_webhook_body(matches, ctx, "json", "dlv_01"))
    assert body["id"] == body["delivery_id"] == "dlv_01"
    assert body["period"] == {
        "start": "2026-11-27T03:00:00+00:00",
        "end": "2026-11-28T03:00:00+00:00",
    }
    assert body["count"] == len(body["matches"]) == 9
    first = body["matches"][0]
    assert {"seed", "score", "title", "url", "feed", "published", "reasons", "id", "kind"} <= set(
        first
    )
    assert (
        first["reasons"][0]["name"] == "Alibaba Cloud"
        and first["reasons"][0]["matched"] == "Alibaba Cloud"
    )
    same_story = {
        m["story"]
        for m in body["matches"]
        if "Karachi data" in m["title"] or "Karachi" in m["title"]
    }
    assert len(same_story) == 1
    assert [m["id"] for m in body["matches"]] == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_webhook_bodies_are_stable_bytes_for_the_same_batch():
    matches, ctx = sample_digest()
    for fmt in ("json", "slack", "discord"):
        assert render_webhook_body(matches, ctx, fmt, "d1") == render_webhook_body(
            matches, ctx, fmt, "d1"
        )


SLACK_TITLE = "<!channel> Alibaba & Daraz <https://evil.example|click here> > done"


def test_slack_bodies_escape_ampersands_and_angle_brackets():
    _, ctx = sample_digest()
    matches = [sample_match(1, SLACK_TITLE, url="https://dawn.com/a|b?x=1&y=2")]
    body = json.loads(render_webhook_body(matches, ctx, "slack", "d1"))
    texts = json.dumps(body, ensure_ascii=False)
    assert "<!channel>" not in texts and "<https://evil" not in texts
    story = body["blocks"][3]["text"]["text"]
    assert story.startswith(
        "<https://dawn.com/a%7Cb?x=1&amp;y=2|&lt;!channel&gt; Alibaba &amp; Daraz "
        "&lt;https://evil.example|click here&gt; &gt; done>"
    )
    assert body["text"] == "followup: 1 new follow-up for pk-alibaba-2026 (28 Nov 2026)"


def test_discord_bodies_escape_markdown_and_mentions():
    _, ctx = sample_digest()
    title = "@everyone **big** [click](https://evil.example) `code` _x_ ~~y~~ > quote"
    body = json.loads(render_webhook_body([sample_match(1, title)], ctx, "discord", "d1"))
    assert body["allowed_mentions"] == {"parse": []}
    description = body["embeds"][0]["description"]
    assert "@\u200beveryone" in description and "@everyone" not in description
    assert r"\*\*big\*\* \[click\](https://evil.example)" in description
    assert r"\`code\` \_x\_ \~\~y\~\~ > quote" in description
    assert "(https://news.example.org/1)" in description


def test_discord_block_markup_is_escaped_only_at_the_start_of_a_line():
    assert discord_escape("# Title\n> quote\n - item a-b #3 > 2") == (
        "\\# Title\n\\> quote\n \\- item a-b #3 > 2"
    )
    assert discord_escape("<@123> <#456> <t:1:R>") == "\\<@\u200b123> \\<#456> \\<t:1:R>"


def big_batch(count: int):
    _, ctx = sample_digest()
    matches = [
        sample_match(
            i,
            f"Story number {i} about Alibaba Cloud and its partners in Pakistan " + "x" * 200,
            seed=f"seed-{i % 12}",
            published=NOW - timedelta(minutes=i),
        )
        for i in range(count)
    ]
    return matches, ctx


def test_slack_bodies_respect_block_and_text_limits():
    matches, ctx = big_batch(300)
    body = json.loads(render_webhook_body(matches, ctx, "slack", "d1"))
    assert len(body["blocks"]) <= 50
    assert body["blocks"][-2]["elements"][0]["text"].startswith("and ")
    assert body["blocks"][-2]["elements"][0]["text"].endswith("more stories")
    for block in body["blocks"]:
        text = block.get("text") or block["elements"][0]
        assert len(text["text"]) <= (150 if block["type"] == "header" else 3000)


def test_discord_bodies_respect_embed_and_message_limits():
    matches, ctx = big_batch(300)
    body = json.loads(render_webhook_body(matches, ctx, "discord", "d1"))
    assert len(body["content"]) <= 2000
    assert 1 <= len(body["embeds"]) <= 10
    assert all(len(e["title"]) <= 256 and len(e["description"]) <= 4096 for e in body["embeds"])
    assert sum(len(e["title"]) + len(e["description"]) for e in body["embeds"]) <= 6000
    assert body["embeds"][0]["description"].endswith("more")


def test_an_unknown_webhook_format_is_refused():
    with pytest.raises(ValueError, match="xml"):
        render_webhook_body([], sample_digest()[1], "xml", "d1")  # type: ignore[arg-type]


def test_an_unknown_timezone_still_renders_in_utc():
    matches, ctx = sample_digest()
    message = render_digest(matches[:1], replace(ctx, timezone="Mars/Olympus"))
    assert "(UTC)" in message.text and "Dawn · 28 Nov 2026, 02:00" in message.text


def test_reasons_that_do_not_occur_in_the_title_are_still_listed():
    match = sample_match(1, "Cloud firm expands", reasons=(Reason("Alibaba Cloud", "阿里云"),))
    message = render_digest([match], sample_digest()[1])
    assert "Matched: Alibaba Cloud: 阿里云" in message.text
    assert ">Cloud firm expands</a>" in message.html  # nothing to mark in the title


def test_a_long_digest_shows_direct_follow_ups_first_and_counts_the_rest():
    _, ctx = sample_digest()
    matches = [
        sample_match(i, f"Distinct story {i} today", kind="thread" if i % 2 else "direct")
        for i in range(40)
    ]
    message = render_digest(matches, replace(ctx, max_stories_per_seed=10))
    shown = [line for line in message.text.splitlines() if line.startswith("* [")]
    assert len(shown) == 10 and all(line.startswith("* [Direct follow-up]") for line in shown)
    assert "in 40 stories" in message.text
    assert "...and 30 more stories for this seed: http://127.0.0.1:8080/" in message.text
    assert "and 30 more stories for this seed" in message.html
    assert len(json.loads(render_webhook_body(matches, ctx, "json", "d"))["matches"]) == 40


@settings(max_examples=300, deadline=None)
@given(text=st.text(), needles=st.lists(st.text(min_size=1, max_size=6), max_size=4))
def test_highlighting_any_text_adds_only_our_own_marks(text, needles):
    marked = str(highlight(text, needles))
    bare = re.sub(r'<span style="[^"<>]*">|</span>', "", marked)
    assert "<" not in bare and ">" not in bare
    assert html.unescape(bare) == text


@settings(max_examples=300, deadline=None)
@given(url=st.one_of(st.text(), st.from_regex(r"\A[a-zA-Z&#;0-9\s]{0,12}:[^\s]{0,20}\Z")))
def test_every_url_that_passes_is_an_http_link(url):
    if (kept := safe_url(url)) is not None:
        assert kept.lower().startswith(("http://", "https://")) and kept == url


def test_an_alert_webhook_says_it_is_an_alert():
    _, ctx = sample_digest()
    match = sample_match(1, "Alibaba Cloud opens Karachi data center", score=0.97)
    body = json.loads(render_webhook_body([match], ctx, "json", "a1", event="alert"))
    assert body["type"] == "followup.alert" and [m["id"] for m in body["matches"]] == [1]
    slack = json.loads(render_webhook_body([match], ctx, "slack", "a1", event="alert"))
    assert slack["text"] == "followup alert: direct follow-up for pk-alibaba-2026 (score 0.97)"
    assert json.loads(render_webhook_body([match], ctx, "json", "d1"))["type"] == "followup.digest"
