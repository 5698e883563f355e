"""Matches become a digest: subject, plain text, HTML, and webhook bodies. Pure: no clock
(times come in ``DigestContext``), no I/O beyond reading our own templates.

Feed text is hostile. It reaches HTML only through Jinja2's autoescape (highlights are
escaped before they are marked), links only when they are http(s), and never the subject:
the subject is built from counts, seed ids and dates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from pipeline import digest_chat as chat
from pipeline.stories import Story, cluster_stories, language, outlet, when
from pipeline.types import DigestMessage, FeedHealth, Match, MatchKind

WebhookFormat = Literal["json", "slack", "discord"]
Event = Literal["digest", "alert"]

TITLE_CHARS = 300  # a title longer than this is cut: a digest is read in a minute
SUMMARY_CHARS = 220
ERROR_CHARS = 160
OTHER_LINKS = 4  # "also covered by" links shown per story
_TEMPLATES = Path(__file__).parent / "templates"
# C0/C1 controls and bidi overrides/isolates: they reorder or hide text. ZWJ/ZWNJ stay
# (Urdu and Persian need them).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BADGES: dict[MatchKind, str] = {
    "direct": "Direct follow-up",
    "thread": "Same thread",
    "none": "Related",
}


@dataclass(frozen=True)
class DigestContext:
    """Everything a digest shows that is not in the matches. ``new_entities`` are entity
    names first seen in this period; ``timezone`` is an IANA name, for display."""

    period_end: datetime
    generated_at: datetime
    period_start: datetime | None = None
    seed_titles: Mapping[str, str] = field(default_factory=dict)
    previous_period_count: int | None = None
    new_entities: frozenset[str] = frozenset()
    failing_feeds: Sequence[FeedHealth] = ()
    timezone: str = "UTC"
    review_url: str | None = None
    product: str = "followup"
    # Gmail clips messages over ~100 KB; a story is ~1.6 KB of HTML. The JSON body keeps all.
    max_stories_per_seed: int = 25


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class StoryView:
    title: str  # one line, plain
    title_html: Markup  # escaped, matched spans marked
    summary: str
    summary_html: Markup
    url: str | None  # http(s) only
    outlet: str
    date: str
    kind: MatchKind
    badge: str
    covered_by: str  # "Dawn, Business Recorder and 3 more", or "" for one outlet
    also: tuple[Link, ...]
    evidence: tuple[str, ...]  # "Alibaba Cloud: 阿里云"
    score: float
    languages: tuple[str, ...] = ()  # "EN", "UR", "ZH": the lead's first
    versions: tuple[Link, ...] = ()  # one link per language besides the lead's


@dataclass(frozen=True)
class SeedView:
    seed: str
    title: str
    count: int
    stories: tuple[StoryView, ...]
    hidden: int = 0  # stories left out to keep the message short


@dataclass(frozen=True)
class Figures:
    matches: int
    direct: int
    thread: int
    stories: int
    outlets: int
    languages: tuple[str, ...]
    new_entities: tuple[str, ...]
    trend: str


@dataclass(frozen=True)
class FeedView:
    name: str
    url: str
    since: str
    failures: int
    error: str


def render_digest(matches: Sequence[Match], ctx: DigestContext) -> DigestMessage:
    """The digest of ``matches``: grouped by seed, then story, newest first."""
    seeds = seed_views(matches, ctx)
    values = _page(ctx, seeds, alert=False, heading=_heading(ctx))
    numbers = figures(matches, ctx, sum(len(seed.stories) + seed.hidden for seed in seeds))
    values["figures"] = numbers
    values["preview"] = (
        f"{_plural(numbers.matches, 'new follow-up')}, {numbers.direct} direct; {numbers.trend}"
    )
    return DigestMessage(subject=digest_subject(matches, ctx), **_render(values))


def render_alert(match: Match, ctx: DigestContext) -> DigestMessage:
    """An immediate alert for one match: the digest layout without the period's figures
    and the feed-health footer."""
    seeds = seed_views([match], ctx)
    values = _page(ctx, seeds, alert=True, heading=f"{_BADGES[match.kind]} alert")
    matched = _local(match.matched_at, ctx).strftime("%d %b %Y, %H:%M")
    values.update(figures=None, failing=[], period=f"matched {matched} ({_zone_name(ctx)})")
    values["preview"] = f"{_BADGES[match.kind]} for {_id(match.seed)}, score {match.score:.2f}"
    subject = f"{clean(ctx.product, 40)} alert: {_BADGES[match.kind].lower()} for {_id(match.seed)}"
    return DigestMessage(subject=f"{subject} (score {match.score:.2f})", **_render(values))


def render_webhook_body(
    matches: Sequence[Match],
    ctx: DigestContext,
    fmt: WebhookFormat,
    delivery_id: str,
    event: Event = "digest",
) -> bytes:
    """The exact bytes a webhook of format ``fmt`` posts (UTF-8 JSON in every format).

    ``event="alert"`` is an immediate alert (usually one match): JSON ``type`` is
    ``followup.alert`` and chat messages are headed like the alert email.
    """
    if fmt == "json":
        payload = json_payload(matches, ctx, delivery_id, event)
    elif fmt in ("slack", "discord"):
        seeds = seed_views(matches, ctx)
        alert = event == "alert" and matches
        heading = render_alert(matches[0], ctx).subject if alert else digest_subject(matches, ctx)
        render = chat.slack if fmt == "slack" else chat.discord
        payload = render(heading, _period_label(ctx), seeds, ctx.review_url)
    else:
        raise ValueError(f"unknown webhook format {fmt!r}")
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_payload(
    matches: Sequence[Match], ctx: DigestContext, delivery_id: str, event: Event = "digest"
) -> dict[str, Any]:
    stories = {match.id: story.key for story in _stories(matches) for match in story.matches}
    return {
        "type": f"followup.{event}",
        "id": delivery_id,
        "delivery_id": delivery_id,
        "generated_at": ctx.generated_at.isoformat(),
        "period": {
            "start": ctx.period_start.isoformat() if ctx.period_start else None,
            "end": ctx.period_end.isoformat(),
        },
        "count": len(matches),
        "matches": [
            {**match.to_json(), "story": stories[match.id]} for match in _newest_first(matches)
        ],
    }


def digest_subject(matches: Sequence[Match], ctx: DigestContext) -> str:
    """Counts, seed ids and a date: never feed text."""
    day, product = _local(ctx.period_end, ctx).strftime("%d %b %Y"), clean(ctx.product, 40)
    if not matches:
        return f"{product}: no new follow-ups ({day})"
    seeds = sorted({_id(match.seed) for match in matches})
    named = ", ".join(seeds[:2]) + (f" and {len(seeds) - 2} more" if len(seeds) > 2 else "")
    return f"{product}: {_plural(len(matches), 'new follow-up')} for {named} ({day})"


def seed_views(matches: Sequence[Match], ctx: DigestContext) -> list[SeedView]:
    by_seed: dict[str, list[Match]] = {}
    for match in matches:
        by_seed.setdefault(match.seed, []).append(match)
    views = []
    for seed, group in by_seed.items():
        stories = cluster_stories(group)
        shown = _most_relevant(stories, ctx.max_stories_per_seed)
        title = clean(ctx.seed_titles.get(seed, ""), TITLE_CHARS) or seed
        views.append(
            SeedView(
                seed=seed,
                title=title,
                count=len(group),
                stories=tuple(story_view(story, ctx) for story in shown),
                hidden=len(stories) - len(shown),
            )
        )
    return sorted(views, key=lambda view: (-view.count, view.seed))


def story_view(story: Story, ctx: DigestContext) -> StoryView:
    lead = story.lead
    needles = [reason.matched for reason in {r for m in story.matches for r in m.reasons}]
    title = clean(lead.title, TITLE_CHARS) or "(untitled)"
    summary = clean(lead.summary, SUMMARY_CHARS)
    also = [Link(outlet(match), url) for match in story.others if (url := safe_url(match.url))]
    return StoryView(
        title=title,
        title_html=highlight(title, needles),
        summary=summary,
        summary_html=highlight(summary, needles),
        url=safe_url(lead.url),
        outlet=clean(outlet(lead), 80),
        date=_local(when(lead), ctx).strftime("%d %b %Y, %H:%M"),
        kind=story.kind,
        badge=_BADGES[story.kind],
        covered_by=covered_by(story.outlets) if len(story.outlets) > 1 else "",
        also=tuple(_dedupe_links(also))[:OTHER_LINKS],
        evidence=tuple(_evidence(story.matches)),
        score=max(match.score for match in story.matches),
        languages=tuple(clean(code, 8).upper() for code in story.languages if code),
        versions=tuple(_versions(story)),
    )


def _versions(story: Story) -> list[Link]:
    """The first version of the story in each language besides its lead's, with a link."""
    seen = {language(story.lead)}
    links = []
    for match in story.others:
        code = language(match)
        if code and code not in seen and (url := safe_url(match.url)):
            seen.add(code)
            links.append(Link(f"{clean(code, 8).upper()}: {clean(outlet(match), 60)}", url))
    return links


def figures(matches: Sequence[Match], ctx: DigestContext, stories: int) -> Figures:
    languages = sorted({match.lang.lower() for match in matches if match.lang})
    return Figures(
        matches=len(matches),
        direct=sum(match.kind == "direct" for match in matches),
        thread=sum(match.kind == "thread" for match in matches),
        stories=stories,
        outlets=len({outlet(match).casefold() for match in matches}),
        languages=tuple(clean(code, 8) for code in languages),
        new_entities=tuple(clean(name, 80) for name in sorted(ctx.new_entities)),
        trend=trend(len(matches), ctx.previous_period_count),
    )


def trend(count: int, previous: int | None) -> str:
    if previous is None:
        return "no previous period to compare"
    if count == previous:
        return f"same as the previous period ({previous})"
    arrow, word = ("▲", "up") if count > previous else ("▼", "down")
    percent = f", {abs(count - previous) / previous:.0%}" if previous else ""
    return f"{arrow} {word} {abs(count - previous)} from {previous}{percent}"


def covered_by(outlets: Sequence[str], shown: int = 2) -> str:
    """'Dawn, Business Recorder and 3 more'."""
    names = [clean(name, 60) for name in outlets]
    if len(names) <= shown + 1:
        return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


def highlight(text: str, needles: Iterable[str]) -> Markup:
    """``text`` escaped, with every case-insensitive occurrence of a needle marked.

    Spans are found in the raw text and each piece is escaped on its own, so neither the
    text nor a needle can open a tag.
    """
    spans = sorted(
        (found.start(), found.end())
        for needle in {n.strip() for n in needles if len(n.strip()) >= 2}
        for found in re.finditer(re.escape(needle), text, re.IGNORECASE)
    )
    out, position = [], 0
    for start, end in _merge(spans):
        out += [escape(text[position:start]), Markup(_MARK) % text[start:end]]
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL without whitespace or controls; else None.

    ``javascript:``, ``data:``, entity-encoded or whitespace-split schemes all fail here.
    """
    if not url or len(url) > 2048 or re.search(r"[\s\x00-\x1f\x7f-\x9f\"<>\\`]", url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def clean(text: str | None, limit: int) -> str:
    """One line of display text: controls and bidi overrides removed, spaces collapsed."""
    line = " ".join(_INVISIBLE.sub(" ", text or "").split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


_MARK = '<span style="background-color:#fff1a8;color:#1f2328;border-radius:2px;">%s</span>'


def _most_relevant(stories: list[Story], limit: int) -> list[Story]:
    """At most ``limit`` stories, direct follow-ups before thread context, newest first."""
    if len(stories) <= limit:
        return stories
    kept = set(sorted(range(len(stories)), key=lambda i: (stories[i].kind != "direct", i))[:limit])
    return [story for index, story in enumerate(stories) if index in kept]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _evidence(matches: Sequence[Match]) -> list[str]:
    seen: dict[str, str] = {}
    for match in matches:
        for reason in match.reasons:
            name, matched = clean(reason.name, 60), clean(reason.matched, 60)
            seen.setdefault(
                name, name if matched.casefold() == name.casefold() else f"{name}: {matched}"
            )
    return list(seen.values())[:8]


def _dedupe_links(links: list[Link]) -> list[Link]:
    seen: dict[str, Link] = {}
    for link in links:
        seen.setdefault(link.label.casefold(), Link(clean(link.label, 60), link.url))
    return list(seen.values())


def _stories(matches: Sequence[Match]) -> list[Story]:
    by_seed: dict[str, list[Match]] = {}
    for match in matches:
        by_seed.setdefault(match.seed, []).append(match)
    return [story for group in by_seed.values() for story in cluster_stories(group)]


def _newest_first(matches: Sequence[Match]) -> list[Match]:
    return sorted(matches, key=lambda match: (-when(match).timestamp(), match.id))


def _page(
    ctx: DigestContext, seeds: list[SeedView], *, alert: bool, heading: str
) -> dict[str, Any]:
    return {
        "product": clean(ctx.product, 40),
        "heading": heading,
        "period": _period_label(ctx),
        "generated": _local(ctx.generated_at, ctx).strftime("%d %b %Y, %H:%M"),
        "seeds": seeds,
        "alert": alert,
        "failing": [_feed_view(feed, ctx) for feed in ctx.failing_feeds],
        "review_url": safe_url(ctx.review_url),
    }


def _render(values: dict[str, Any]) -> dict[str, str]:
    html = _environment(True).get_template("digest.html").render(values)
    text = _environment(False).get_template("digest.txt").render(values)
    return {"html": html, "text": text}


@cache
def _environment(html: bool) -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _feed_view(feed: FeedHealth, ctx: DigestContext) -> FeedView:
    since = feed.failing_since or feed.last_success_at
    return FeedView(
        name=clean(feed.name or feed.url, 80),
        url=clean(feed.url, 200),
        since=_local(since, ctx).strftime("%d %b %Y, %H:%M") if since else "unknown",
        failures=feed.consecutive_failures,
        error=clean(feed.last_error, ERROR_CHARS) or "unknown error",
    )


def _heading(ctx: DigestContext) -> str:
    return f"Follow-ups, {_local(ctx.period_end, ctx).strftime('%d %b %Y')}"


def _period_label(ctx: DigestContext) -> str:
    end = _local(ctx.period_end, ctx).strftime("%d %b %Y, %H:%M")
    if ctx.period_start is None:
        return f"until {end} ({_zone_name(ctx)})"
    start = _local(ctx.period_start, ctx).strftime("%d %b %Y, %H:%M")
    return f"{start} – {end} ({_zone_name(ctx)})"


def _local(moment: datetime, ctx: DigestContext) -> datetime:
    return moment.astimezone(_zone(ctx.timezone)) if moment.tzinfo else moment


def _zone_name(ctx: DigestContext) -> str:
    return ctx.timezone if _zone(ctx.timezone).key == ctx.timezone else "UTC"


@cache
def _zone(name: str) -> ZoneInfo:
    # config.py validates the name; a digest still renders (in UTC) if it slipped through.
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _id(seed: str) -> str:
    """A seed id as subject text: ours, but still no controls and bounded."""
    return clean(re.sub(r"[^\w.:-]", "-", seed), 60)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
