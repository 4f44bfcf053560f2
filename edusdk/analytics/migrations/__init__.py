"""Alembic migrations of the analytics schema; the first (0001) creates every table in `ANALYTICS_TABLES`,
0002 moves the statement and student lookups onto 64-bit integer keys (backfilling existing rows).

Example:
    >>> from edusdk.analytics.migrations import upgrade
    >>> upgrade("postgresql+psycopg://app@db/edusdk")   # or `edusdk analytics migrate --db …`
    '0002'
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from edusdk.analytics.store import create_store_engine, database_url

HERE = Path(__file__).parent
FIRST = "0001"


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | None = None, *, engine: Engine | None = None, revision: str = "head") -> str | None:
    """Migrate the database at `url` (see `database_url`) or `engine` to `revision`; the revision it is at.

    A database whose tables the store created itself (before migrations were run) is stamped first: as 0002 when
    it already has the integer keys, else as 0001.
    """
    owned = engine is None
    engine = engine if engine is not None else create_store_engine(database_url(url))
    try:
        config = _config(engine)
        if current(engine) is None and inspect(engine).has_table("analytics_events"):
            columns = {column["name"] for column in inspect(engine).get_columns("analytics_events")}
            command.stamp(config, "0002" if "statement_key" in columns else FIRST)
        command.upgrade(config, revision)
        return current(engine)
    finally:
        if owned:
            engine.dispose()


__all__ = ["current", "upgrade"]
