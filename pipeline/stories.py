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
from dataclasses import dataclass, replace
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

    @property
    def languages(self) -> tuple[str, ...]:
        """Distinct languages of its matches, the lead's first ("" when unknown)."""
        return tuple(dict.fromkeys(language(match) for match in self.matches))


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
    return fold_languages([_story(group) for group in groups])


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


# -- one event in several languages --------------------------------------------------------
#
# Titles in Urdu, Chinese and English share no words, so the passes above never join them.
# What they do share is language-independent: the canonical entity names the matcher
# found (阿里云 and علی بابا کلاؤڈ are both "Alibaba Cloud"), the topic names, the figures
# (200 engineers, ۲۰۰ انجینئرز, 200名工程师) and the Latin-script names a non-English outlet
# keeps as they are (CPEC, 5G, Qwen). Entities alone are not enough: a seed's follow-ups all
# name the same few entities, and distinct news about them comes every week. So two matches
# of the same seed are one event only when they are in different languages (within one
# language the title passes decide), published at most FOLD_APART apart, name exactly the
# same entities, and share a distinctive signal besides: a figure, a Latin-script name
# beyond the matched ones, or the same topics. With a single entity, two signals.

FOLD_APART = timedelta(hours=48)  # language editions of one event appear within two days
MIN_FIGURE = 10  # 1-9 count anything ("2 firms", "3 years"): not distinctive
YEARS = range(1900, 2100)  # the year is on every item of a year: not distinctive either
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_LATIN_NAME = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z][a-z]{2,}|[A-Z][A-Z0-9]+|[0-9]+[A-Z][A-Za-z]*)(?![A-Za-z0-9])"
)
_SENTENCE_WORDS = frozenset("The This That These And But For With From After Over Into".split())


@dataclass(frozen=True)
class Signature:
    """What a match says about its event, in any language."""

    entities: frozenset[str]
    topics: frozenset[str]
    figures: frozenset[str]
    names: frozenset[str]  # Latin-script names besides the matched entity spans, case-folded


def signature(match: Match) -> Signature:
    text = unicodedata.normalize("NFKC", f"{match.title}\n{match.summary}")
    spans = " ".join(r.matched for r in match.reasons).casefold()
    names = {
        word.casefold()
        for word in _LATIN_NAME.findall(text)
        if word not in _SENTENCE_WORDS and word.casefold() not in spans
    }
    return Signature(
        entities=frozenset(r.name for r in match.reasons if r.kind == "entity"),
        topics=frozenset(r.name for r in match.reasons if r.kind == "topic"),
        figures=frozenset(f for f in map(_figure, _FIGURE.findall(text)) if f),
        names=frozenset(names),
    )


def _figure(found: str) -> str:
    """A figure in ASCII digits ("۲۰۰" → "200", "1,000" → "1000"), "" when not distinctive."""
    digits = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in found)
    plain = digits.replace(",", "")
    try:
        value = float(plain)
    except ValueError:
        return ""
    if value < MIN_FIGURE or (value.is_integer() and int(value) in YEARS):
        return ""
    return plain


def same_event(
    a: Match, b: Match, sa: Signature | None = None, sb: Signature | None = None
) -> bool:
    """Whether ``a`` and ``b`` report one event in two languages (see above)."""
    if a.seed != b.seed or language(a) == language(b) or not (language(a) and language(b)):
        return False
    if abs(when(a) - when(b)) > FOLD_APART:
        return False
    sa, sb = sa or signature(a), sb or signature(b)
    if not sa.entities or sa.entities != sb.entities:
        return False
    shared = (
        bool(sa.figures & sb.figures),
        bool(sa.names & sb.names),
        bool(sa.topics) and sa.topics == sb.topics,
    )
    return sum(shared) >= (1 if len(sa.entities) > 1 else 2)


def language(match: Match) -> str:
    return (match.lang or "").split("-")[0].lower()


def fold_languages(stories: Sequence[Story]) -> list[Story]:
    """Stories (newest first) with the language versions of one event joined.

    Each story is compared with the stories at most FOLD_APART older than it (at most
    WINDOW of them), so the work stays O(n·k)."""
    signatures = {m.id: signature(m) for story in stories for m in story.matches}
    parent = list(range(len(stories)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, story in enumerate(stories):
        for j in range(i + 1, min(len(stories), i + 1 + WINDOW)):
            # A story's matches span up to MAX_APART: past this, none can be FOLD_APART near.
            if story.newest - stories[j].newest > FOLD_APART + MAX_APART:
                break
            if root(i) != root(j) and _versions(story, stories[j], signatures):
                parent[max(root(i), root(j))] = min(root(i), root(j))
    joined: dict[int, list[Story]] = {}
    for i, story in enumerate(stories):
        joined.setdefault(root(i), []).append(story)
    return [_joined(group) for group in joined.values()]


def _versions(a: Story, b: Story, signatures: dict[int, Signature]) -> bool:
    return any(
        same_event(x, y, signatures[x.id], signatures[y.id]) for x in a.matches for y in b.matches
    )


def _joined(group: list[Story]) -> Story:
    """One story of several: the newest story's lead leads, its key stays the key."""
    if len(group) == 1:
        return group[0]
    matches = sorted((m for story in group for m in story.matches), key=_order)
    lead = group[0].lead
    return replace(_story([lead, *(m for m in matches if m.id != lead.id)]), key=group[0].key)
