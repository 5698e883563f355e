"""When to poll a feed next and when a digest is due. Pure: the clock and the dice come in.

Polling: the configured interval, or (opt-in) an adaptive one within bounds; errors back
off exponentially with jitter up to a ceiling, so a failing feed is retried less often but
never abandoned; a server's Retry-After is honoured when it asks for longer.

Digests: 5-field crontab expressions with crontab's meaning. APScheduler numbers days of
the week from Monday = 0 while crontab's 0 (and 7) is Sunday, so the day-of-week field is
translated to day names before APScheduler sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # APScheduler is imported when a trigger is made, not by every command
    from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DAY_ALIASES = {name: index for index, name in enumerate(_DAY_NAMES)}
# A cron expression that fires more often than this many times between two runs of the
# service is not walked tick by tick: only the latest missed tick matters.
MAX_CRON_STEPS = 11_000


@dataclass(frozen=True)
class Cadence:
    interval: int  # seconds: [polling] interval_seconds
    adaptive: bool = False
    min_interval: int = 300
    max_interval: int = 21600
    max_backoff: int = 86400


def next_poll(
    cadence: Cadence,
    now: datetime,
    *,
    failed: bool,
    failures: int,
    retry_after: float | None,
    current_interval: int | None,
    changed: bool,
    jitter: float,
) -> tuple[datetime, int | None]:
    """(next poll time, adaptive interval to remember). ``jitter`` is uniform in [0, 1)."""
    interval = current_interval or cadence.interval
    if cadence.adaptive and not failed:
        interval = _adapt(cadence, interval, changed)
    base = float(interval)
    if failed:
        # 1, 2, 4, 8 … intervals after the 1st, 2nd, 3rd … consecutive failure, capped.
        base = min(cadence.interval * 2 ** max(failures - 1, 0), float(cadence.max_backoff))
        base = max(base, min(cadence.interval, cadence.max_backoff))
        base *= 0.9 + 0.2 * jitter  # spread retries of feeds that failed together
    if retry_after is not None:
        base = max(base, min(retry_after, float(cadence.max_backoff)))
    return now + timedelta(seconds=base), interval if cadence.adaptive else None


def _adapt(cadence: Cadence, interval: int, changed: bool) -> int:
    """Halve the interval when the feed changed, grow it by half when it did not."""
    proposed = interval // 2 if changed else interval + interval // 2
    return max(cadence.min_interval, min(cadence.max_interval, proposed))


def crontab_trigger(expression: str, timezone: str) -> CronTrigger:
    """An APScheduler trigger with crontab's own meaning (day of week 0 and 7 = Sunday)."""
    from apscheduler.triggers.cron import CronTrigger

    minute, hour, day, month, day_of_week = expression.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_day_of_week(day_of_week),
        timezone=ZoneInfo(timezone),
    )


def crontab_day_of_week(field: str) -> str:
    """Translate crontab's day-of-week field to APScheduler's names: "0,5-6" → "sun,fri,sat"."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        days |= _expand_part(part)
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _expand_part(part: str) -> set[int]:
    span, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if step <= 0:
        raise ValueError(f"bad step in day of week: {part!r}")
    if span == "*":
        first, last = 0, 6
    elif "-" in span:
        start, end = span.split("-", 1)
        first, last = _day_number(start), _day_number(end)
        if last == 0 and first > 0:  # "5-7" and "5-0" both run to Sunday
            last = 7
    else:
        first = last = _day_number(span)
    if first > last:
        raise ValueError(f"bad range in day of week: {part!r}")
    return {day % 7 for day in range(first, last + 1, step)}


def _day_number(text: str) -> int:
    if text in _DAY_ALIASES:
        return _DAY_ALIASES[text]
    number = int(text)
    if not 0 <= number <= 7:
        raise ValueError(f"day of week out of range: {text!r}")
    return number


def latest_fire_time(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    """The last time ``trigger`` fired in (after, now], or None: missed ticks fire once.

    Dense expressions are walked over the last week only; sparse ones from ``after``, so
    the walk stays bounded either way.
    """
    first = _first_after(trigger, after)
    if first is None or first > now:
        return None
    return _walk(trigger, max(after, now - timedelta(days=7)), now) or _walk(trigger, after, now)


def _first_after(trigger: CronTrigger, moment: datetime) -> datetime | None:
    fire: datetime | None = trigger.get_next_fire_time(None, moment + timedelta(seconds=1))
    return fire


def _walk(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    latest, current = None, _first_after(trigger, after)
    for _ in range(MAX_CRON_STEPS):
        if current is None or current > now:
            return latest
        latest, current = current, _first_after(trigger, current)
    return latest
