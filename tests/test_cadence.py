"""When feeds are polled and digests fire: backoff, Retry-After, adaptive intervals, crontab."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.cadence import (
    Cadence,
    crontab_day_of_week,
    crontab_trigger,
    latest_fire_time,
    next_poll,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # a Saturday


def delay(cadence: Cadence, **kw) -> float:
    args = dict(
        failed=False, failures=0, retry_after=None, current_interval=None, changed=False, jitter=0.5
    )
    args.update(kw)
    at, _ = next_poll(cadence, NOW, **args)
    return (at - NOW).total_seconds()


def test_a_healthy_feed_is_polled_every_interval():
    assert delay(Cadence(interval=900)) == 900


def test_errors_back_off_exponentially_up_to_a_ceiling_and_never_stop():
    cadence = Cadence(interval=600, max_backoff=3600)
    delays = [delay(cadence, failed=True, failures=n) for n in range(1, 8)]
    assert delays[:3] == [600, 1200, 2400]
    assert delays[3:] == [3600] * 4  # capped, still scheduled


def test_jitter_spreads_retries_by_at_most_ten_percent():
    cadence = Cadence(interval=600)
    low, high = (
        delay(cadence, failed=True, failures=2, jitter=0.0),
        delay(cadence, failed=True, failures=2, jitter=0.999),
    )
    assert low == pytest.approx(1080) and high == pytest.approx(1319.76, rel=1e-3)


def test_retry_after_is_honoured_when_it_asks_for_longer():
    cadence = Cadence(interval=60)
    assert delay(cadence, failed=True, failures=1, retry_after=3000) == 3000
    assert delay(cadence, failed=True, failures=1, retry_after=1, jitter=0.5) == 60


def test_adaptive_interval_shrinks_on_change_and_grows_when_quiet_within_bounds():
    cadence = Cadence(interval=900, adaptive=True, min_interval=300, max_interval=3600)
    _, faster = next_poll(
        cadence,
        NOW,
        failed=False,
        failures=0,
        retry_after=None,
        current_interval=900,
        changed=True,
        jitter=0,
    )
    _, slower = next_poll(
        cadence,
        NOW,
        failed=False,
        failures=0,
        retry_after=None,
        current_interval=3000,
        changed=False,
        jitter=0,
    )
    assert (faster, slower) == (450, 3600)


def test_without_adaptive_polling_every_feed_keeps_the_configured_interval():
    at, interval = next_poll(
        Cadence(interval=900),
        NOW,
        failed=False,
        failures=0,
        retry_after=None,
        current_interval=None,
        changed=True,
        jitter=0,
    )
    assert interval is None and at == NOW + timedelta(seconds=900)


@pytest.mark.parametrize(
    ("crontab", "apscheduler"),
    [
        ("*", "*"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("5-7", "sun,fri,sat"),
        ("sat,sun", "sun,sat"),
    ],
)
def test_crontab_day_of_week_keeps_crontab_meaning(crontab, apscheduler):
    assert crontab_day_of_week(crontab) == apscheduler


def test_a_sunday_cron_fires_on_sunday_in_its_timezone():
    trigger = crontab_trigger("0 8 * * 0", "Asia/Karachi")
    fire = trigger.get_next_fire_time(None, NOW)
    assert fire.strftime("%A %H:%M") == "Sunday 08:00" and fire.utcoffset() == timedelta(hours=5)


def test_missed_digest_ticks_fire_once_at_the_latest():
    trigger = crontab_trigger("0 8 * * *", "UTC")
    latest = latest_fire_time(trigger, NOW - timedelta(days=5), NOW)
    assert latest == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    assert latest_fire_time(trigger, latest, NOW) is None


def test_a_dense_cron_after_a_long_outage_is_found_in_bounded_steps():
    trigger = crontab_trigger("* * * * *", "UTC")
    assert latest_fire_time(trigger, NOW - timedelta(days=60), NOW) == NOW
