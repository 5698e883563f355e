"""Slack and Discord incoming-webhook payloads for a digest. Pure.

Both take the digest's view model (already one-line, controls removed, links http(s) only)
and add each service's own escaping and size limits: Slack's mrkdwn needs ``&``, ``<`` and
``>`` escaped (``<!channel>`` is markup); Discord's markdown needs backslashes, and
``allowed_mentions`` keeps ``@everyone`` in a title from pinging anyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.digest import SeedView, StoryView

# Slack: 50 blocks per message, 3000 characters per section text, 150 per header.
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
# Discord: content 2000, 10 embeds, title 256, description 4096, footer 2048, and 6000
# characters over all embeds of a message.
DISCORD_CONTENT_CHARS = 2000
DISCORD_MAX_EMBEDS = 10
DISCORD_TITLE_CHARS = 256
DISCORD_DESCRIPTION_CHARS = 4096
DISCORD_TOTAL_CHARS = 6000

# Inline markup anywhere (emphasis, code, spoilers, masked links, <@mentions>), block
# markup (headings, quotes, lists) only where it counts: at the start of a line.
_DISCORD_INLINE = re.compile(r"([\\*_~`|\[\]<])")
_DISCORD_LINE_START = re.compile(r"^(\s*)([-#>])", re.MULTILINE)


def slack(
    heading: str, period: str, seeds: Sequence[SeedView], review_url: str | None
) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(heading, SLACK_HEADER_CHARS)},
        },
        _slack_context(period),
    ]
    room = SLACK_MAX_BLOCKS - len(blocks) - 2  # keep two for "more" and the review link
    left = sum(len(seed.stories) for seed in seeds)
    for seed in seeds:
        if room < 2:
            break
        blocks.append(_slack_section(f"*{slack_escape(seed.title)}* ({seed.count})"))
        room -= 1
        for story in seed.stories[:room]:
            blocks.append(_slack_section(_slack_story(story)))
            room -= 1
            left -= 1
    if left:
        blocks.append(_slack_context(f"and {left} more stories"))
    if review_url:
        blocks.append(_slack_context(f"<{slack_url(review_url)}|Review all matches>"))
    return {
        "text": slack_escape(heading),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def discord(
    heading: str, period: str, seeds: Sequence[SeedView], review_url: str | None
) -> dict[str, Any]:
    content = f"**{discord_escape(heading)}**\n{discord_escape(period)}"
    if review_url:
        content += f"\n[Review all matches]({discord_url(review_url)})"
    embeds: list[dict[str, Any]] = []
    budget = DISCORD_TOTAL_CHARS
    for seed in seeds[:DISCORD_MAX_EMBEDS]:
        title = _cut(discord_escape(f"{seed.title} ({seed.count})"), DISCORD_TITLE_CHARS)
        limit = min(DISCORD_DESCRIPTION_CHARS, budget - len(title))
        if limit < 200:
            break
        description = _discord_lines([_discord_story(story) for story in seed.stories], limit)
        embeds.append({"title": title, "description": description})
        budget -= len(title) + len(description)
    return {
        "content": _cut(content, DISCORD_CONTENT_CHARS),
        "embeds": embeds,
        "allowed_mentions": {"parse": []},
    }


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_url(url: str) -> str:
    # "|" would end the URL part of <url|label>.
    return slack_escape(url).replace("|", "%7C")


def discord_escape(text: str) -> str:
    # A zero-width space after "@" stops mentions even where allowed_mentions is ignored.
    escaped = _DISCORD_LINE_START.sub(r"\1\\\2", _DISCORD_INLINE.sub(r"\\\1", text))
    return escaped.replace("@", "@\u200b")


def discord_url(url: str) -> str:
    # Parentheses would end a masked link early.
    return url.replace("(", "%28").replace(")", "%29")


def _slack_story(story: StoryView) -> str:
    title = slack_escape(story.title)
    head = f"<{slack_url(story.url)}|{title}>" if story.url else f"*{title}*"
    meta = " · ".join(slack_escape(part) for part in (story.badge, story.outlet, story.date))
    lines = [head, meta]
    if story.covered_by:
        lines.append(f"covered by {slack_escape(story.covered_by)}")
    if story.evidence:
        lines.append("matched: " + slack_escape(", ".join(story.evidence)))
    return _cut("\n".join(lines), SLACK_SECTION_CHARS)


def _slack_section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_SECTION_CHARS)}}


def _slack_context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _cut(text, SLACK_SECTION_CHARS)}],
    }


def _discord_story(story: StoryView) -> str:
    title = discord_escape(story.title)
    head = f"[{title}]({discord_url(story.url)})" if story.url else f"**{title}**"
    meta = " · ".join(discord_escape(part) for part in (story.badge, story.outlet, story.date))
    if story.covered_by:
        meta += f" · covered by {discord_escape(story.covered_by)}"
    return f"• {head}\n{meta}"


def _discord_lines(entries: list[str], limit: int) -> str:
    """As many whole entries as fit in ``limit``, then how many were left out."""
    out: list[str] = []
    used = 0
    for index, entry in enumerate(entries):
        more = f"…and {len(entries) - index} more"
        if used + len(entry) + 1 + len(more) > limit:
            out.append(more)
            break
        out.append(entry)
        used += len(entry) + 1
    return _cut("\n".join(out), limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
