"""Near-duplicate matches from several outlets become one story. Pure: no I/O, no clock.

Two matches belong to one story when they share a canonical URL, share a ``story_key``
(same words, whatever the case, punctuation, word order or an outlet suffix), or their
normalised titles are close under rapidfuzz's ``token_set_ratio`` and were published within
a few days of each other. Work is bounded: each match is compared by fuzzy title with at
most ``WINDOW`` stories, the ones nearest in time, so clustering n matches costs O(n·k).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from rapidfuzz import fuzz, process

from pipeline.types import Match, MatchKind

# Each match is compared by title with at most this many stories, the latest created
# (input is walked newest first, so these are the nearest in time).
WINDOW = 64
# token_set_ratio on normalised titles. Rewrites of one wire story score 89-96 ("Alibaba
# Cloud to open data centre in Karachi" / "Alibaba Cloud opens Karachi data center": 89);
# different news about the same entities scores lower ("Pakistan signs MoU with Alibaba on
# e-commerce" / "... with China on solar": 81).
TITLE_SIMILARITY = 88.0
# token_set_ratio scores a title 100 against any title containing all its words
# ("Alibaba" vs a whole headline), so very short titles and very unequal lengths never
# merge on fuzzy similarity alone.
MIN_TITLE_CHARS = 12
MIN_LENGTH_RATIO = 0.5
# Rewrites of one story appear within a few days; the same words a week later are news.
MAX_APART = timedelta(days=3)
# "Daraz lays off 200" and "Daraz lays off 300" are different news.
_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"\w+")
# " - Dawn", " | Business Recorder", " — Xinhua": outlet suffixes that aggregators add.
_OUTLET_SUFFIX = re.compile(r"\s+[-|–—]\s+([^-|–—]{1,40})$")
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid|ocid)$", re.IGNORECASE)


@dataclass(frozen=True)
class Story:
    """One piece of news and everyone who covered it. ``lead`` is the newest match."""

    key: str
    lead: Match
    others: tuple[Match, ...]
    outlets: tuple[str, ...]  # distinct, in the order the matches come (lead's first)

    @property
    def matches(self) -> tuple[Match, ...]:
        return (self.lead, *self.others)

    @property
    def kind(self) -> MatchKind:
        """Direct when any of its matches is a direct follow-up."""
        kinds = {match.kind for match in self.matches}
        return "direct" if "direct" in kinds else "thread" if "thread" in kinds else "none"

    @property
    def newest(self) -> datetime:
        return when(self.lead)


def cluster_stories(matches: Sequence[Match]) -> list[Story]:
    """Group ``matches`` into stories, newest story first. Same input, same output.

    Call it once per seed: it does not look at ``Match.seed``.
    """
    groups: list[list[Match]] = []
    titles: list[str] = []  # normalised title of each group's lead
    by_url: dict[str, int] = {}
    by_key: dict[str, int] = {}
    for match in sorted(matches, key=_order):
        title = normalize_title(match.title)
        # A title without words ("", "…", emoji) says nothing: only its URL can group it.
        key = (match.story or story_key(match.title)) if title else ""
        url = canonical_url(match.url)
        index = _find(match, title, key, url, groups, titles, by_url, by_key)
        if index is None:
            index = len(groups)
            groups.append([])
            titles.append(title)
        groups[index].append(match)
        if key:
            by_key.setdefault(key, index)
        if url:
            by_url.setdefault(url, index)
    return [_story(group) for group in groups]


def story_key(title: str) -> str:
    """A short stable key: equal for titles with the same words in any case, order or
    punctuation, with or without an outlet suffix. 16 hex characters.

    A title without words gets the key of its raw text, so "" and "…" do not share one
    with every other wordless title (identical raw titles still do: group those by URL).
    """
    words = sorted(set(normalize_title(title).split()))
    text = " ".join(words) if words else f"raw:{title}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def normalize_title(title: str) -> str:
    """NFKC, case-folded words joined by single spaces, outlet suffix removed."""
    text = unicodedata.normalize("NFKC", title).strip()
    if (suffix := _OUTLET_SUFFIX.search(text)) and len(text) - len(suffix[0]) >= MIN_TITLE_CHARS:
        text = text[: suffix.start()]
    return " ".join(_WORD.findall(text.casefold()))


def canonical_url(url: str | None) -> str | None:
    """Scheme, ``www.``, fragment, tracking parameters and trailing slash do not matter."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError when out of range
    except ValueError:
        return None
    host = (parts.hostname or "").removeprefix("www.")
    if not host:
        return None
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    return urlunsplit(("", host, parts.path.rstrip("/"), urlencode(sorted(query)), ""))


def outlet(match: Match) -> str:
    """The outlet's display name: the item's source, else the feed's name, else its host."""
    for name in (match.source, match.feed_name):
        if name and name.strip():
            return " ".join(name.split())
    try:
        return urlsplit(match.feed).hostname or match.feed
    except ValueError:
        return match.feed


def when(match: Match) -> datetime:
    """The time a match is sorted by: published, else matched; naive means UTC."""
    moment = match.published or match.matched_at
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _order(match: Match) -> tuple[float, float, int]:
    return (-when(match).timestamp(), -match.score, match.id)


def _find(
    match: Match,
    title: str,
    key: str,
    url: str | None,
    groups: list[list[Match]],
    titles: list[str],
    by_url: dict[str, int],
    by_key: dict[str, int],
) -> int | None:
    if url and url in by_url:
        return by_url[url]
    if key and key in by_key:
        return by_key[key]
    if not title:
        return None
    first = max(len(groups) - WINDOW, 0)
    moment = when(match)
    # Groups are created newest first, so the window's newest leads are the furthest away.
    while first < len(groups) and when(groups[first][0]) - moment > MAX_APART:
        first += 1
    found = process.extract(
        title,
        titles[first:],
        scorer=fuzz.token_set_ratio,
        score_cutoff=TITLE_SIMILARITY,
        limit=None,
    )
    # Best score first; on a tie, the story nearest in time (created last).
    for _, _, offset in sorted(found, key=lambda hit: (-hit[1], -hit[2])):
        if _comparable(title, titles[first + offset]):
            return first + offset
    return None


def _comparable(a: str, b: str) -> bool:
    """Guards that token_set_ratio lacks: length and numbers."""
    short, long = sorted((len(a), len(b)))
    if short < MIN_TITLE_CHARS or short < MIN_LENGTH_RATIO * long:
        return False
    return set(_NUMBER.findall(a)) == set(_NUMBER.findall(b))


def _story(group: list[Match]) -> Story:
    names: dict[str, str] = {}
    for match in group:
        name = outlet(match)
        names.setdefault(name.casefold(), name)
    lead = group[0]
    return Story(
        key=lead.story or story_key(lead.title),
        lead=lead,
        others=tuple(group[1:]),
        outlets=tuple(names.values()),
    )
