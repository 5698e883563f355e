"""`followup run` as a subprocess on SQLite: polls on schedule, stops cleanly, catches up once."""

from __future__ import annotations

import configparser
import io
import json
import logging
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pipeline.cli.common import JsonFormatter, Redactor
from pipeline.config import load_settings
from pipeline.scheduler import SHUTDOWN_GRACE_SECONDS
from tests.fixtures_delivery import SmtpServer, WebhookReceiver
from tests.fixtures_feeds import FeedServer, rss
from tests.service_process import ROOT, ServiceProcess, wait_for

INTERVAL = 2
SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
RUN = ("run",)  # the command under test: `followup run`
SECRET_ENV = {"FOLLOWUP_TEST_HOOK_SECRET": SECRET}
JSON_LOGS = '\n[logging]\njson = true\nlevel = "INFO"\n'
STORY = {
    "guid": "karachi-1",
    "title": "Alibaba Cloud opens data centre in Karachi",
    "link": "https://news.example.org/alibaba-cloud-karachi",
    "summary": "Alibaba Cloud said its Pakistan region will serve fintech customers.",
}
OTHER = {"guid": "weather-1", "title": "Heavy rain expected in Lahore", "link": "https://x.org/w"}


class Db:
    """The service's SQLite file, read and written from outside the service."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def __call__(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(sql), params)


@pytest.fixture
def db(default_db_url: str) -> Iterator[Db]:
    database = Db(default_db_url)
    yield database
    database.engine.dispose()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Callable[[Path], ServiceProcess]]:
    """Start `followup run` with a config; any process still running at teardown is killed."""
    started: list[ServiceProcess] = []

    def start(config: Path) -> ServiceProcess:
        proc = ServiceProcess(RUN, config, tmp_path / f"run-{len(started)}.log", SECRET_ENV)
        started.append(proc)
        return proc.start().wait_started()

    yield start
    for proc in started:
        proc.kill()


def polls_of(db: Db, url: str) -> list[datetime]:
    rows = db(
        "SELECT p.started_at FROM polls p JOIN feeds f ON f.id = p.feed_id "
        "WHERE f.url = :url ORDER BY p.started_at",
        url=url,
    )
    return [datetime.fromisoformat(str(r[0])) for r in rows]


def leases_held(db: Db) -> int:
    feeds = db("SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL")[0][0]
    batches = db("SELECT count(*) FROM batches WHERE lease_owner IS NOT NULL")[0][0]
    return int(feeds + batches)


def test_run_polls_every_feed_once_per_interval_and_exits_0_on_sigterm(
    feed_server: FeedServer, write_config: Callable[..., Path], service: Any, db: Db
) -> None:
    urls = [feed_server.add(f"/{n}.xml", rss([STORY, OTHER])) for n in range(3)]
    config = write_config(
        feeds=urls, polling={"interval_seconds": INTERVAL, "workers": 1}, extra=JSON_LOGS
    )
    proc = service(config)
    wait_for(lambda: all(len(polls_of(db, url)) >= 4 for url in urls), 30, "four polls of each")

    assert proc.stop(signal.SIGTERM) == 0
    for url in urls:
        times = polls_of(db, url)
        gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= INTERVAL * 0.95, f"{url} polled early: {gaps}"
        # The first gap includes starting the parsing process; later ones are the interval
        # plus at most one poll tick (interval / 4) and the poll itself.
        assert max(gaps[1:]) < INTERVAL * 1.25 + 1, f"{url} polled late: {gaps}"
    assert leases_held(db) == 0
    if db.engine.dialect.name == "sqlite":
        assert db("PRAGMA integrity_check")[0][0] == "ok"
    messages = [r["message"] for r in proc.records()]
    assert "stopping on SIGTERM: letting running work finish" in messages
    assert messages[-1] == "service stopped"


def test_every_log_line_is_json_naming_its_replica_and_polls_name_their_feed(
    feed_server: FeedServer, write_config: Callable[..., Path], service: Any, db: Db
) -> None:
    url = feed_server.add("/a.xml", rss([STORY]))
    config = write_config(
        feeds=[url], polling={"interval_seconds": INTERVAL, "workers": 1}, extra=JSON_LOGS
    )
    proc = service(config)
    wait_for(lambda: polls_of(db, url), 30, "a poll")
    assert proc.stop() == 0

    lines = proc.text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert {r["replica"] for r in records} == {f"{socket.gethostname()}:{proc.pid}"}
    polled = [r for r in records if r["logger"] == "followup.poll"]
    assert polled and all(r["feed"] == url for r in polled)
    assert all(r["time"].endswith("Z") for r in records)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_poll_in_flight_when_the_signal_arrives_finishes_before_the_process_exits_0(
    sig: signal.Signals,
    feed_server: FeedServer,
    write_config: Callable[..., Path],
    service: Any,
    db: Db,
) -> None:
    slow = feed_server.add("/slow.xml", rss([STORY]), delay=1.5)
    config = write_config(
        feeds=[slow], polling={"interval_seconds": 60, "workers": 1}, extra=JSON_LOGS
    )
    proc = service(config)
    wait_for(lambda: feed_server.count("/slow.xml") >= 1, 30, "the slow feed's request")
    assert polls_of(db, slow) == []  # the server is still sleeping on the request

    assert proc.stop(sig) == 0
    assert len(polls_of(db, slow)) == 1, proc.text()
    stored = db("SELECT count(*) FROM items")[0][0]
    assert stored == 1
    assert db("SELECT count(*) FROM matches")[0][0] == 1
    assert leases_held(db) == 0


def test_a_second_signal_cancels_a_hanging_poll_and_still_exits_0(
    feed_server: FeedServer, write_config: Callable[..., Path], service: Any, db: Db
) -> None:
    hanging = feed_server.add("/hang.xml", handler=feed_server.hang())
    config = write_config(
        feeds=[hanging], polling={"interval_seconds": 60, "workers": 1}, extra=JSON_LOGS
    )
    proc = service(config)
    wait_for(lambda: feed_server.count("/hang.xml") >= 1, 30, "the hanging request")

    proc.send(signal.SIGTERM)
    wait_for(lambda: "letting running work finish" in proc.text(), 10, "the first signal")
    assert proc.stop(signal.SIGINT, timeout=15) == 0
    assert "second SIGINT: cancelling 1 running jobs" in proc.text()
    assert polls_of(db, hanging) == [] and leases_held(db) == 0


def test_a_signal_while_the_database_is_being_prepared_still_exits_0(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    sqlite = f"sqlite:///{tmp_path / 'followup.db'}"  # a file shows when migrations start
    config = write_config(feeds=[], extra=JSON_LOGS, db_url=sqlite)
    proc = ServiceProcess(RUN, config, tmp_path / "early.log", SECRET_ENV).start()
    try:
        # The file appears when the schema migrations start, before the scheduler runs.
        wait_for(lambda: (tmp_path / "followup.db").exists(), 30, "the database file")
        assert proc.stop(signal.SIGTERM) == 0
    finally:
        proc.kill()


def _backdate(db: Db, days: int) -> list[str]:
    """Pretend the service was down for ``days`` days: its schedules last fired then."""
    names = [r[0] for r in db("SELECT name FROM schedules")]
    then = (datetime.now(UTC) - timedelta(days=days)).replace(tzinfo=None)  # stored naive UTC
    db.execute("UPDATE schedules SET last_fired_at = :then", then=then)
    return names


def test_a_digest_missed_while_down_is_sent_once_after_restart(
    feed_server: FeedServer,
    smtp_server: SmtpServer,
    webhook_receiver: WebhookReceiver,
    write_config: Callable[..., Path],
    service: Any,
    db: Db,
) -> None:
    url = feed_server.add("/a.xml", rss([STORY, OTHER]))
    config = write_config(
        feeds=[url],
        polling={"interval_seconds": 60, "workers": 1},
        digest={"cron": "0 8 * * *", "timezone": "UTC"},
        email={
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "sender": "followup@example.org",
            "to": ["analyst@example.org"],
        },
        webhooks=[
            {
                "url": f"{webhook_receiver.url}?token=hook-token-123",
                "secret_env": "FOLLOWUP_TEST_HOOK_SECRET",
            }
        ],
        extra=JSON_LOGS,
    )
    first = service(config)
    wait_for(lambda: db("SELECT count(*) FROM matches")[0][0] == 1, 30, "the match")
    wait_for(lambda: len(db("SELECT name FROM schedules")) == 2, 30, "both schedules")
    assert first.stop() == 0
    assert webhook_receiver.posts == [] and smtp_server.messages == []  # no 08:00 yet

    assert len(_backdate(db, days=3)) == 2  # three 08:00 digests missed per channel
    second = service(config)
    wait_for(lambda: webhook_receiver.posts and smtp_server.messages, 30, "the digests")
    wait_for(lambda: leases_held(db) == 0, 10, "the deliveries to be recorded")
    assert second.stop() == 0

    [post] = webhook_receiver.posts
    body = json.loads(post.body)
    assert [m["url"] for m in body["matches"]] == [STORY["link"]]
    [message] = smtp_server.messages
    text = message.get_body(("plain",))
    assert text is not None and "Alibaba Cloud opens data centre in Karachi" in text.get_content()
    sent = db("SELECT channel, status FROM batches ORDER BY channel")
    assert [(c.split(":")[0], s) for c, s in sent] == [("email", "sent"), ("webhook", "sent")]
    log = first.text() + second.text()
    assert SECRET not in log and SECRET[6:] not in log and "hook-token-123" not in log
    delivered = [r for r in second.records() if r["message"].startswith("delivered")]
    channels = sorted(r["channel"] for r in delivered)
    assert channels[0] == "email" and channels[1].startswith("webhook:http://127.0.0.1:")


def test_log_lines_mask_configured_secrets_and_credentials_in_urls() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(Redactor(["s3cr3t-signing-key"]))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        logger.error(
            "failed with key %s on %s",
            "s3cr3t-signing-key",
            "postgresql+psycopg://followup:pg-pass@db/followup",
            extra={"channel": "webhook:https://hooks.slack.com/services/T0/B0/XyZ123"},
        )
    finally:
        logger.removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert (
        record["message"] == "failed with key *** on postgresql+psycopg://followup:***@db/followup"
    )
    assert record["channel"] == "webhook:https://hooks.slack.com/services/***"


def test_the_deploy_files_give_the_graceful_stop_room_and_their_config_loads(
    tmp_path: Path,
) -> None:
    deploy = ROOT / "deploy"
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read(deploy / "followup.service")
    service = unit["Service"]
    assert service["ExecStart"].split()[1:] == ["run", "--config", "/etc/followup/followup.toml"]
    assert service["KillSignal"] == "SIGTERM" and service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"].rstrip("s")) > SHUTDOWN_GRACE_SECONDS
    compose = (deploy / "compose.yaml").read_text(encoding="utf-8")
    graces = [int(g) for g in re.findall(r"stop_grace_period: (\d+)s", compose)]
    assert graces and max(graces) > SHUTDOWN_GRACE_SECONDS
    assert "STOPSIGNAL SIGTERM" in (deploy / "Dockerfile").read_text(encoding="utf-8")

    # The container's config, with the seeds where the image puts them.
    shutil.copy(deploy / "config" / "followup.toml", tmp_path / "followup.toml")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    settings = load_settings(str(tmp_path / "followup.toml"), {})
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.polling.lease_seconds > settings.polling.total_timeout
    env = dict(
        line.split("=", 1)
        for line in (deploy / "followup.env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    needed = [h.secret_env for h in settings.digest.webhooks] + [settings.serve.token_env]
    assert all(env.get(str(name)) for name in needed), needed


def test_a_signal_that_lands_inside_generated_code_still_exits_0() -> None:
    """CPython exits as killed by SIGINT once a KeyboardInterrupt has left code run by exec
    (dataclasses and SQLAlchemy build functions so), even if it was caught afterwards: the
    start-up's SIGTERM must not be a KeyboardInterrupt itself. Deterministic: the signal is
    sent from inside exec'd code."""
    script = (
        "import os, signal\n"
        "from pipeline.cli.poll import _stop_starting\n"
        "signal.signal(signal.SIGTERM, _stop_starting)\n"
        "try:\n"
        "    exec('import os, signal\\nos.kill(os.getpid(), signal.SIGTERM)\\n"
        "for _ in range(10 ** 7): pass')\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n"
    )
    done = _python(script)
    assert (done.returncode, done.stdout.strip()) == (0, b"stopped")


def test_a_start_up_signal_whose_exception_is_lost_still_stops_the_service() -> None:
    """Python only prints an exception raised in a weakref callback (SQLAlchemy's run at any
    time): the start-up's checkpoints see the signal all the same. Deterministic: the signal
    is sent, and handled, inside such a callback."""
    script = (
        "import os, signal, weakref\n"
        "from pipeline.cli.poll import _stop_if_requested, _stop_starting\n"
        "signal.signal(signal.SIGTERM, _stop_starting)\n"
        "class Thing: pass\n"
        "def collected():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    for _ in range(10 ** 6): pass\n"
        "thing = Thing()\n"
        "weakref.finalize(thing, collected)\n"
        "del thing\n"
        "try:\n"
        "    _stop_if_requested()\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n"
    )
    done = _python(script)
    assert b"Exception ignored" in done.stderr  # the exception itself was lost
    assert (done.returncode, done.stdout.strip()) == (0, b"stopped")


def _python(script: str) -> subprocess.CompletedProcess[bytes]:
    """``script`` run by this Python in a process of its own, from the project's root."""
    command = [sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, timeout=60, check=False, cwd=ROOT)
