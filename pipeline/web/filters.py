"""The filter form: query parameters in, a ``MatchFilter`` out, and links that keep it.

A value the page cannot use (a bad date, a score out of range) is dropped with a note shown
above the list, never a 500: the query string is user input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from pipeline.types import MatchFilter

FIELDS = ("seed", "since", "until", "min_score", "kind", "label", "feed", "lang", "entity", "q")
KINDS = ("direct", "thread")
LABELS = ("relevant", "irrelevant", "unlabeled")
PER_PAGE = 50
MAX_PAGE = 100_000
MAX_TEXT = 200


@dataclass(frozen=True)
class FilterState:
    """The form as submitted (for redisplay) and what it means."""

    values: dict[str, str]
    filter: MatchFilter
    page: int = 1
    notes: tuple[str, ...] = field(default_factory=tuple)

    def query(self, **changes: str | int | None) -> str:
        """The query string of this filter with ``changes`` (None removes a key)."""
        params: dict[str, str | int] = {k: v for k, v in self.values.items() if v}
        for key, value in changes.items():
            if value is None or value == "":
                params.pop(key, None)
            else:
                params[key] = value
        return urlencode(params)

    def paged(self, per_page: int = PER_PAGE) -> MatchFilter:
        return replace(self.filter, limit=per_page, offset=(self.page - 1) * per_page)

    @property
    def active(self) -> bool:
        return any(self.values.get(name) for name in FIELDS)


def parse_filters(params: Mapping[str, str]) -> FilterState:
    values = {name: params.get(name, "").strip()[:MAX_TEXT] for name in FIELDS}
    notes: list[str] = []
    since = _day(values, "since", notes)
    until = _day(values, "until", notes)
    chosen = MatchFilter(
        seed=values["seed"] or None,
        since=since,
        until=until + timedelta(days=1) if until else None,  # "until" includes that day
        min_score=_score(values, notes),
        kind=_choice(values, "kind", KINDS, notes),
        label=_choice(values, "label", LABELS, notes),
        feed=values["feed"] or None,
        lang=values["lang"] or None,
        entity=values["entity"] or None,
        query=values["q"] or None,
    )
    return FilterState(values, chosen, _page(params.get("page")), tuple(notes))


def _day(values: dict[str, str], name: str, notes: list[str]) -> datetime | None:
    raw = values[name]
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw[:10])
    except ValueError:
        notes.append(f"ignored {name}: not a date (YYYY-MM-DD)")
        values[name] = ""
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _score(values: dict[str, str], notes: list[str]) -> float | None:
    raw = values["min_score"]
    if not raw:
        return None
    try:
        score = float(raw)
    except ValueError:
        score = -1.0
    if not 0.0 <= score <= 1.0:
        notes.append("ignored min_score: expected a number from 0 to 1")
        values["min_score"] = ""
        return None
    return score


def _choice(
    values: dict[str, str], name: str, allowed: tuple[str, ...], notes: list[str]
) -> str | None:
    raw = values[name]
    if raw and raw not in allowed:
        notes.append(f"ignored {name}: expected one of {', '.join(allowed)}")
        values[name] = ""
        return None
    return raw or None


def _page(raw: str | None) -> int:
    try:
        return min(max(1, int(raw or "1")), MAX_PAGE)
    except ValueError:
        return 1
