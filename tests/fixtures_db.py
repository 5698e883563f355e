"""Database fixtures: every test that takes ``db_url`` runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``FOLLOWUP_TEST_PG_URL`` (default: the local server). Each test gets a
schema of its own (``search_path`` in the URL), dropped afterwards. Where PostgreSQL is not
running, its half is skipped, except under CI (``CI=true``), where that is a failure.

``write_config`` writes a followup.toml for a test: feeds, the shipped seed, channels.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLE = ROOT / "seeds" / "pakistan-alibaba-2026.txt"
SEED_PROFILE = ROOT / "seeds" / "pakistan-alibaba-2026.toml"
PG_URL = os.environ.get("FOLLOWUP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> str | None:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means: not available here
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def pg_problem() -> str | None:
    return _pg_available()


def _require_pg(problem: str | None) -> None:
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI: {problem}")
    pytest.skip(f"PostgreSQL not available: {problem}")  # ok: local only; CI fails above


@pytest.fixture
def pg_url(pg_problem: str | None) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    _require_pg(pg_problem)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'followup.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store_for() -> Iterator[Callable[[str], Any]]:
    """Open a migrated ``Store`` on a URL; at teardown, assert no connection leaked."""
    from pipeline.storage.engine import make_engine
    from pipeline.storage.migrate import upgrade
    from pipeline.storage.store import Store

    engines: list[sa.Engine] = []

    def open_store(url: str, owner: str = "test") -> Store:
        engine = make_engine(url)
        upgrade(engine)
        engines.append(engine)
        return Store(engine, owner)

    yield open_store
    for engine in engines:
        checked_out = engine.pool.checkedout() if hasattr(engine.pool, "checkedout") else 0
        engine.dispose()
        assert checked_out == 0, f"{checked_out} database connections leaked"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _table(name: str, values: dict[str, Any], array: bool = False) -> str:
    header = f"[[{name}]]" if array else f"[{name}]"
    body = "\n".join(f"{key} = {_toml_value(value)}" for key, value in values.items())
    return f"{header}\n{body}\n"


BACKEND = os.environ.get("FOLLOWUP_TEST_BACKEND", "sqlite")


@pytest.fixture
def default_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database of configs that name none: SQLite, or PostgreSQL for the whole suite's
    second pass (``FOLLOWUP_TEST_BACKEND=postgresql``, as ``make test`` runs it)."""
    if BACKEND == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'followup.db'}"


@pytest.fixture
def write_config(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """Write a config file; returns its path. Keyword arguments name what to include."""

    def write(
        *,
        db_url: str | None = None,
        feeds: Sequence[str | dict[str, Any]] = (),
        seeds: Sequence[dict[str, Any]] | None = None,
        polling: dict[str, Any] | None = None,
        digest: dict[str, Any] | None = None,
        email: dict[str, Any] | None = None,
        webhooks: Sequence[dict[str, Any]] = (),
        extra: str = "",
        name: str = "followup.toml",
    ) -> Path:
        url = db_url or str(request.getfixturevalue("default_db_url"))
        parts = [_table("database", {"url": url})]
        parts.append(_table("polling", {"interval_seconds": 900, **(polling or {})}))
        for feed in feeds:
            parts.append(
                _table("feeds", {"url": feed} if isinstance(feed, str) else feed, array=True)
            )
        if seeds is None:
            seeds = [
                {
                    "id": "pk-alibaba-2026",
                    "article": str(SEED_ARTICLE),
                    "profile": str(SEED_PROFILE),
                }
            ]
        for seed in seeds:
            parts.append(_table("seeds", seed, array=True))
        parts.append(
            _table("digest", {"cron": "0 8 * * *", "timezone": "Asia/Karachi", **(digest or {})})
        )
        if email:
            parts.append(_table("digest.email", email))
        for hook in webhooks:
            parts.append(_table("digest.webhooks", hook, array=True))
        path = tmp_path / name
        path.write_text("\n".join(parts) + extra, encoding="utf-8")
        return path

    return write


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass leaves out the tests that take ``db_url``: the first pass ran them
    on both databases already, and the database they use does not depend on the pass."""
    if BACKEND != "postgresql":
        return
    keep: list[pytest.Item] = []
    both: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        (both if callspec is not None and "db_url" in callspec.params else keep).append(item)
    if both:
        config.hook.pytest_deselected(items=both)
        items[:] = keep
