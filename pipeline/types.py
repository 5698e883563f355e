"""Frozen values that cross stage boundaries. Stdlib only.

The flow:  FeedSpec → (fetching) Fetched → (parsing) ParsedFeed[Item] → (matching)
MatchResult → (storage) Match → (digest) Delivery → (notify).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

MatchKind = Literal["direct", "thread", "none"]
ReasonKind = Literal["entity", "topic", "rule"]
TextField = Literal["title", "summary", "content"]


@dataclass(frozen=True)
class FeedSpec:
    """A feed as the operator configured or added it."""

    url: str
    name: str | None = None


@dataclass(frozen=True)
class Item:
    """One news item, from a feed or from a line of ``classify`` input.

    ``id`` is the feed's guid (or a stable hash of link and title when the feed gives none).
    ``published`` is timezone-aware UTC or None. ``lang`` is ISO 639-1 when known.
    """

    id: str
    title: str
    summary: str = ""
    content: str = ""
    url: str | None = None
    published: datetime | None = None
    source: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class Reason:
    """One piece of evidence: what in the item matched which entity or topic of the profile."""

    name: str  # canonical entity or topic name in the profile, e.g. "Alibaba Cloud"
    matched: str  # the item's text that matched, e.g. "阿里云"
    kind: ReasonKind = "entity"
    alias: str = ""  # the profile form that matched
    field: TextField = "title"
    similarity: float = 100.0  # 0-100
    weight: float = 0.0  # contribution to the score

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "matched": self.matched,
            "kind": self.kind,
            "alias": self.alias,
            "field": self.field,
            "similarity": round(self.similarity, 1),
            "weight": round(self.weight, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reason:
        return cls(
            name=str(data.get("name", "")),
            matched=str(data.get("matched", "")),
            kind=data.get("kind", "entity"),
            alias=str(data.get("alias", "")),
            field=data.get("field", "title"),
            similarity=float(data.get("similarity", 100.0)),
            weight=float(data.get("weight", 0.0)),
        )

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.matched!r} ~ {self.alias!r} ({self.field}, {self.similarity:.0f})"
        )


@dataclass(frozen=True)
class MatchResult:
    """The matcher's verdict on one item for one seed."""

    score: float  # in [0, 1]
    match: bool
    kind: MatchKind  # "direct" follow-up, same "thread", or "none"
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Match:
    """A stored match, as listings, digests and webhooks show it."""

    id: int
    seed: str
    score: float
    kind: MatchKind
    title: str
    url: str | None
    feed: str  # the feed's URL
    feed_name: str | None
    published: datetime | None
    matched_at: datetime
    reasons: tuple[Reason, ...] = ()
    summary: str = ""
    lang: str | None = None
    source: str | None = None  # the outlet, when the feed names it
    label: str | None = None  # "relevant" | "irrelevant" | None
    story: str | None = None  # story key: near-duplicates across outlets share it

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seed": self.seed,
            "score": round(self.score, 4),
            "kind": self.kind,
            "title": self.title,
            "url": self.url,
            "feed": self.feed,
            "feed_name": self.feed_name,
            "source": self.source,
            "lang": self.lang,
            "published": self.published.isoformat() if self.published else None,
            "matched_at": self.matched_at.isoformat(),
            "label": self.label,
            "reasons": [reason.to_json() for reason in self.reasons],
        }


@dataclass(frozen=True)
class FeedHealth:
    """What the database knows of a feed's recent polls (for footers, lists and metrics)."""

    url: str
    name: str | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    failing_since: datetime | None
    next_poll_at: datetime | None
    items_per_day: float = 0.0
    retired: bool = False


@dataclass(frozen=True)
class DigestMessage:
    """A rendered digest: every form a channel may need. Built by ``digest``, pure."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Delivery:
    """A frozen batch for one channel. ``id`` is stable across retries (webhook-id, Message-ID).

    ``body`` is the exact bytes a webhook sends (already rendered); ``message`` is what an
    email sends.
    """

    id: str
    channel: str
    match_ids: tuple[int, ...]
    message: DigestMessage
    body: bytes = b""
    content_type: str = "application/json"
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedOutcome:
    """How one feed's poll went: a value, so one broken feed never stops the others."""

    url: str
    status: Literal["ok", "not_modified", "failed"]
    new_items: int = 0
    new_matches: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PollReport:
    outcomes: tuple[FeedOutcome, ...] = ()

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    def to_json(self) -> dict[str, Any]:
        return {
            "feeds": len(self.outcomes),
            "ok": self.count("ok"),
            "not_modified": self.count("not_modified"),
            "failed": self.count("failed"),
            "new_items": sum(o.new_items for o in self.outcomes),
            "new_matches": sum(o.new_matches for o in self.outcomes),
            "errors": [
                {"feed": o.url, "error": o.error} for o in self.outcomes if o.status == "failed"
            ],
        }


@dataclass(frozen=True)
class ChannelOutcome:
    """How one channel's delivery went."""

    channel: str
    batches_sent: int = 0
    matches_sent: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class MatchFilter:
    """Filters shared by `followup matches`, the review page and the exports."""

    seed: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    min_score: float | None = None
    kind: str | None = None
    label: str | None = None  # "relevant" | "irrelevant" | "unlabeled"
    feed: str | None = None
    lang: str | None = None
    entity: str | None = None
    query: str | None = None
    limit: int | None = None
    offset: int = 0


# -- what the parse workers are given and give back (pipeline.analysis does the work) -----


@dataclass(frozen=True)
class SeedSource:
    """What a worker needs to build one seed's matcher (plain strings: picklable)."""

    id: str
    article: str
    profile: str | None
    source: str
    threshold: float | None = None


@dataclass(frozen=True)
class AnalysedItem:
    item: Item
    content_hash: str
    dedupe_key: str
    story_key: str  # "" when no seed matched: only matches store it
    results: tuple[tuple[str, MatchResult], ...]  # (seed id, result) for the seeds it matched


@dataclass(frozen=True)
class Analysis:
    title: str | None
    items: tuple[AnalysedItem, ...]
