"""Alembic migrations of the analytics schema; the first (0001) creates every table in `ANALYTICS_TABLES`,
0002 moves the statement and student lookups onto 64-bit integer keys (backfilling existing rows), 0003 drops the
index on the student key (export and forget scan the table).

`AnalyticsStore` runs `ensure_current` when it first connects, so a database created at an earlier revision is
upgraded in place on open (under a lock: a lock file beside a SQLite file, an advisory lock on PostgreSQL).

Example:
    >>> from edusdk.analytics.migrations import upgrade
    >>> upgrade("postgresql+psycopg://app@db/edusdk")   # or `edusdk analytics migrate --db …`
    '0003'
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from edusdk._errors import BadInputError
from edusdk.analytics.connect import FileLock, create_store_engine, database_url

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent
FIRST = "0001"
HEAD = "0003"  # the newest revision in versions/ (a test keeps the two in step)
_PG_LOCK_KEY = 0x65647573646B  # pg_advisory_lock key for schema upgrades ("edusdk")
log = logging.getLogger("edusdk.analytics")


def _config(engine: Engine) -> Config:
    from alembic.config import Config  # alembic is imported only to migrate: opening a store stays fast

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["engine"] = engine
    return config


def current(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | None = None, *, engine: Engine | None = None, revision: str = "head") -> str | None:
    """Migrate the database at `url` (see `database_url`) or `engine` to `revision`; the revision it is at.

    A database whose tables the store created itself (before migrations were run) is stamped first: as 0001
    without the integer keys, 0002 with them and the student-key index, else 0003.
    """
    from alembic import command

    owned = engine is None
    engine = engine if engine is not None else create_store_engine(database_url(url))
    try:
        config = _config(engine)
        if current(engine) is None and inspect(engine).has_table("analytics_events"):
            columns = {column["name"] for column in inspect(engine).get_columns("analytics_events")}
            indexes = {index["name"] for index in inspect(engine).get_indexes("analytics_events")}
            keyed = "0002" if "ix_analytics_events_student_key" in indexes else "0003"
            command.stamp(config, keyed if "statement_key" in columns else FIRST)
        command.upgrade(config, revision)
        return current(engine)
    finally:
        if owned:
            engine.dispose()


def outdated(engine: Engine) -> str | None:
    """Why the analytics tables in `engine` need `upgrade` (None: absent, or already at `HEAD`)."""
    inspector = inspect(engine)
    if not inspector.has_table("analytics_events"):
        return None
    if "statement_key" not in {column["name"] for column in inspector.get_columns("analytics_events")}:
        return "analytics_events has no statement_key column (created before revision 0002)"
    if inspector.has_table("alembic_version"):
        with engine.connect() as conn:
            at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if at != HEAD:
            return f"the schema is at revision {at}, the code expects {HEAD}"
    return None


@contextlib.contextmanager
def _upgrade_lock(engine: Engine) -> Iterator[None]:
    """Serialise upgrades by several processes opening one old database at once."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock = FileLock(f"{database}.migrate.lock")
    try:
        with lock:
            yield
    finally:
        lock.close()


def ensure_current(engine: Engine) -> str | None:
    """Upgrade the analytics schema in `engine` to `HEAD` if it was created at an earlier revision; the reason
    it was upgraded, or None when nothing was needed. Safe when several processes open the database at once.

    Example:
        >>> ensure_current(create_engine("sqlite:///old.db"))   # what `AnalyticsStore` does on first use
        'analytics_events has no statement_key column (created before revision 0002)'
    """
    if outdated(engine) is None:
        return None
    with _upgrade_lock(engine):
        reason = outdated(engine)  # another process may have upgraded it while we waited
        if reason is not None:
            where = engine.url.render_as_string(hide_password=True)
            log.warning("analytics database %s: %s; upgrading to revision %s", where, reason, HEAD)
            try:
                upgrade(engine=engine)
            except Exception as exc:  # e.g. a database from a newer edusdk: a revision this code does not know
                raise BadInputError(
                    f"analytics database {where}: {reason}, and upgrading it failed: {exc}",
                    hint=f"run `edusdk analytics migrate --db {where}` to see the migration's own error",
                ) from exc
        return reason


__all__ = ["HEAD", "current", "ensure_current", "outdated", "upgrade"]
