"""Apply the alembic migrations: at every start and by ``followup db upgrade``.

Alembic costs a command ~0.15 s to import; a database already at the head revision is
recognised with one query and alembic is never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.errors import StorageError, wrap_errors

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# One id for the advisory lock that serialises migrations of replicas starting together.
_PG_LOCK_ID = 0x466F6C6C


def head_revision() -> str:
    """The newest revision: each migration file is named after its revision, ``NNNN_what.py``."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("*_*.py"))


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; replicas on PostgreSQL take turns."""
    if revision == "head" and stored_revision(engine) == head_revision():
        return
    from alembic import command

    config = alembic_config(engine)
    with wrap_errors(StorageError, "while migrating the database"), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def stored_revision(engine: Engine) -> str | None:
    """The revision the database says it is at; None when it has none (or no table for it)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # a new database: alembic creates the table
        return None
    return str(rows[0][0]) if len(rows) == 1 else None


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with wrap_errors(StorageError, "while reading the schema version"), engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
