"""Apply the alembic migrations: at every start and by ``followup db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from pipeline.errors import StorageError, wrap_errors

MIGRATIONS = Path(__file__).with_name("migrations")
# One id for the advisory lock that serialises migrations of replicas starting together.
_PG_LOCK_ID = 0x466F6C6C


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; replicas on PostgreSQL take turns."""
    config = alembic_config(engine)
    with wrap_errors(StorageError, "while migrating the database"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with wrap_errors(StorageError, "while reading the schema version"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
