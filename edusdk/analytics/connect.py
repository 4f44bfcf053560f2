"""Where the analytics database is and how to connect to it (SQLite tuned for concurrent writers, or PostgreSQL).

Shared by the store and its migrations, so neither imports the other to connect.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no flock; SQLite's own locking still serialises writers
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

ENV_VAR = "EDUSDK_DB"
DEFAULT_URL = "sqlite:///./edusdk.db"
# Several processes (web workers, a batch pool) write the same SQLite file: wait for the lock, don't fail.
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CACHE_KIB = 65_536  # per connection, allocated only as pages are used


def database_url(url: str | None = None) -> str:
    """The SQLAlchemy URL for `url`, else `$EDUSDK_DB`, else `sqlite:///./edusdk.db`.

    A value without `://` is a file path and becomes `sqlite:///<path>` (`:memory:` → in-memory SQLite).
    A plain `postgresql://` or `postgres://` URL gets the psycopg (v3) driver the `postgres` extra installs.
    """
    value = url if url is not None else (os.environ.get(ENV_VAR) or DEFAULT_URL)
    if "://" not in value:
        return "sqlite://" if value == ":memory:" else f"sqlite:///{Path(value).expanduser()}"
    scheme, rest = value.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return value


class FileLock:
    """An exclusive `flock` on the file `path` (created if missing), taken by `with` and released at its end; the file
    stays open until `close()`, so one process can take it many times. Used beside a SQLite file by processes that
    must take turns (schema upgrades, ingest workers). A no-op where `fcntl` does not exist.

    Example:
        >>> lock = FileLock("store.db.migrate.lock")
        >>> with lock:
        ...     ...  # no other process holds it here
        >>> lock.close()
    """

    def __init__(self, path: str) -> None:
        self._handle = open(path, "a+b")  # noqa: SIM115 (held until close())

    def __enter__(self) -> None:
        if fcntl is not None:
            fcntl.flock(self._handle, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        if fcntl is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)

    def close(self) -> None:
        self._handle.close()


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; in-memory databases ignore it
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough under WAL, far fewer fsyncs
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores ON DELETE CASCADE without it
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")  # event indexes stay in memory while ingesting
        cursor.execute("PRAGMA temp_store=MEMORY")  # the ingest stage and sorts: no temporary files
    finally:
        cursor.close()


def create_store_engine(url: str) -> Engine:
    """A SQLAlchemy engine for `url` (already resolved by `database_url`), tuned for the store's use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    if not in_memory and parsed.database is not None:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        # Sessions are opened from worker threads (async client, batch pool); each is used by one thread at a time.
        connect_args={"check_same_thread": False},
        # One shared connection, or an in-memory database would be a new empty one per connection.
        poolclass=StaticPool if in_memory else None,
    )
    event.listen(engine, "connect", _set_sqlite_pragmas)
    return engine
