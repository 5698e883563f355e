"""What one row of the match list shows: highlighted title and summary, reasons, safe links.

Feed text is never trusted: the template escapes every piece (Jinja2 autoescape), the
highlight marks are our own elements around escaped text, and a link is rendered only for an
http(s) URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.types import Match
from pipeline.web.security import safe_url

Segment = tuple[str, bool]  # (text, highlighted)
SUMMARY_CHARS = 400


@dataclass(frozen=True)
class Row:
    match: Match
    url: str | None  # None unless http(s)
    title: tuple[Segment, ...]
    summary: tuple[Segment, ...]
    outlet: str
    others: tuple[Row, ...] = ()


def make_row(match: Match, others: Sequence[Match] = ()) -> Row:
    needles = [r.matched for r in match.reasons if r.matched.strip()]
    summary = match.summary[:SUMMARY_CHARS] + ("…" if len(match.summary) > SUMMARY_CHARS else "")
    return Row(
        match=match,
        url=safe_url(match.url),
        title=highlight(match.title, needles),
        summary=highlight(summary, needles),
        outlet=match.source or match.feed_name or match.feed,
        others=tuple(make_row(other) for other in others),
    )


def highlight(text: str, needles: Sequence[str]) -> tuple[Segment, ...]:
    """``text`` cut into plain and highlighted pieces where any needle occurs (no case)."""
    spans = sorted(_spans(text, needles))
    segments: list[Segment] = []
    position = 0
    for start, end in spans:
        if start < position:  # overlaps the previous highlight: extend it
            if end > position:
                segments[-1] = (segments[-1][0] + text[position:end], True)
                position = end
            continue
        if start > position:
            segments.append((text[position:start], False))
        segments.append((text[start:end], True))
        position = end
    if position < len(text):
        segments.append((text[position:], False))
    return tuple(segments)


def _spans(text: str, needles: Sequence[str]) -> list[tuple[int, int]]:
    # lower() keeps offsets only when it keeps the length ("İ" does not): else exact case.
    folded = text.lower()
    haystack = folded if len(folded) == len(text) else text
    spans: list[tuple[int, int]] = []
    for needle in set(needles):
        probe = needle.lower() if haystack is folded else needle
        if len(probe) != len(needle) or not probe:
            continue
        start = haystack.find(probe)
        while start != -1 and len(spans) < 50:
            spans.append((start, start + len(probe)))
            start = haystack.find(probe, start + len(probe))
    return spans
