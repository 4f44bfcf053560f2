"""Alembic: the migrations create exactly the schema the models describe, on SQLite and PostgreSQL; 0002 moves
lookups onto integer keys and backfills rows stored under 0001; 0003 drops the student-key index; a store opened on an
older database upgrades it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import test_analytics_support as support
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, inspect, text
from test_analytics_support import CONFIG, watch

from edusdk._errors import BadInputError
from edusdk.analytics import Analytics, migrations
from edusdk.analytics.events import normalize
from edusdk.analytics.ingest import COLUMNS
from edusdk.analytics.migrations import HEAD, current, outdated, upgrade
from edusdk.analytics.tables import ANALYTICS_TABLES
from edusdk.cli import main

pg_schema_engine = support.pg_schema_engine


@pytest.fixture(params=support.BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        return create_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    return request.getfixturevalue("pg_schema_engine")


def test_first_migration_creates_everything(engine: Any) -> None:
    assert current(engine) is None
    assert upgrade(engine=engine) == HEAD
    names = set(inspect(engine).get_table_names())
    assert {t.name for t in ANALYTICS_TABLES} <= names
    ours = MetaData()  # only the analytics tables (other parts of edusdk share SQLModel's metadata)
    for table in ANALYTICS_TABLES:
        table.to_metadata(ours)
    with engine.connect() as conn:
        # The models and the migrations agree: a model change needs a new revision.
        assert compare_metadata(MigrationContext.configure(conn), ours) == []
    with Analytics(engine=engine, config=CONFIG) as store:
        assert store.record(watch("a", "s", 0, 3)).stored == 2
    assert upgrade(engine=engine) == HEAD  # idempotent


def test_a_store_created_database_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Analytics(str(path), config=CONFIG) as store:
        store.record(watch("a", "s", 0, 3))
    result = CliRunner().invoke(main, ["analytics", "migrate", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert f'"revision": "{HEAD}"' in result.stdout


def test_0002_backfills_keys_of_rows_stored_under_0001(engine: Any) -> None:
    assert upgrade(engine=engine, revision="0001") == "0001"
    rows = [normalize(e, CONFIG) for e in watch("old", "s", 0, 3) + watch("other", "t", 1, 2)]
    old_columns = [c for c in COLUMNS if c not in ("statement_key", "student_key")]
    with engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO analytics_events ({', '.join(old_columns)}) VALUES (:{', :'.join(old_columns)})"),
            [{c: getattr(row, c) for c in old_columns} for row in rows],
        )
    assert upgrade(engine=engine) == HEAD
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT statement_key, student_key FROM analytics_events ORDER BY id")).all()
    assert keys == [(row.statement_key, row.student_key) for row in rows]
    with Analytics(engine=engine, config=CONFIG) as store:
        again = store.record([{**watch("old", "s", 0, 3)[0], "id": rows[0].statement_id}, watch("old", "s", 0, 3)[1]])
        assert (again.stored, again.duplicates) == (0, 2)  # the same ids as before the migration
        assert len(store.export("old")["statements"]) == 2
        assert store.forget("old") == 2


def test_head_is_the_newest_revision(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert ScriptDirectory.from_config(migrations._config(engine)).get_current_head() == HEAD


def _old_database(engine: Any, *, versioned: bool) -> list[Any]:
    """A database at revision 0001 holding two events; unversioned: one the store created itself back then."""
    assert upgrade(engine=engine, revision="0001") == "0001"
    rows = [normalize(e, CONFIG) for e in watch("old", "s", 0, 3)]
    old_columns = [c for c in COLUMNS if c not in ("statement_key", "student_key")]
    with engine.begin() as conn:
        conn.execute(
            text(f"INSERT INTO analytics_events ({', '.join(old_columns)}) VALUES (:{', :'.join(old_columns)})"),
            [{c: getattr(row, c) for c in old_columns} for row in rows],
        )
        if not versioned:
            conn.execute(text("DROP TABLE alembic_version"))
    return rows


@pytest.mark.parametrize("versioned", [True, False], ids=["at-0001", "store-created-before-0002"])
def test_opening_a_database_from_before_0002_upgrades_it(engine: Any, versioned: bool) -> None:
    rows = _old_database(engine, versioned=versioned)
    assert outdated(engine) is not None
    stores = [Analytics(engine=engine, config=CONFIG) for _ in range(3)]
    errors: list[BaseException] = []

    def open_store(store: Analytics) -> None:
        try:
            store.engine  # noqa: B018 (first use: the upgrade, once, whichever thread gets the lock)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert current(engine) == HEAD and outdated(engine) is None
    store = stores[0]
    again = store.record([{**watch("old", "s", 0, 3)[0], "id": rows[0].statement_id}, watch("old", "s", 0, 3)[1]])
    assert (again.stored, again.duplicates) == (0, 2)  # the rows stored before the upgrade are found by key
    assert store.record(watch("new", "t", 1, 2)).stored == 2
    assert len(store.export("old")["statements"]) == 2


def test_a_database_from_a_newer_edusdk_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with Analytics(str(path), config=CONFIG) as store:
        store.record(watch("a", "s", 0, 3))
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine=engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(BadInputError, match="revision 9999") as caught, Analytics(str(path), config=CONFIG) as store:
        store.engine  # noqa: B018
    assert "edusdk analytics migrate --db" in (caught.value.hint or "")


@pytest.mark.parametrize("versioned", [True, False], ids=["at-0002", "store-created-at-0002"])
def test_0003_drops_the_student_key_index_and_students_are_still_found(engine: Any, versioned: bool) -> None:
    assert upgrade(engine=engine, revision="0002") == "0002"
    assert "ix_analytics_events_student_key" in {i["name"] for i in inspect(engine).get_indexes("analytics_events")}
    if not versioned:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
    assert upgrade(engine=engine) == HEAD
    assert "ix_analytics_events_student_key" not in {i["name"] for i in inspect(engine).get_indexes("analytics_events")}
    with Analytics(engine=engine, config=CONFIG) as store:
        assert store.record(watch("kid", "s1", 0, 3) + watch("other", "s2", 0, 3)).stored == 4
        assert len(store.export("kid")["statements"]) == 2
        assert store.forget("kid") == 2 and store.export("kid")["statements"] == []
        assert len(store.export("other")["statements"]) == 2
