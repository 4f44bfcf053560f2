"""Alembic: the first migration creates exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import test_analytics_support as support
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import MetaData, create_engine, inspect
from test_analytics_support import CONFIG, watch

from edusdk.analytics import Analytics
from edusdk.analytics.migrations import current, upgrade
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
    assert upgrade(engine=engine) == "0001"
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
    assert upgrade(engine=engine) == "0001"  # idempotent


def test_a_store_created_database_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Analytics(str(path), config=CONFIG) as store:
        store.record(watch("a", "s", 0, 3))
    result = CliRunner().invoke(main, ["analytics", "migrate", "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert '"revision": "0001"' in result.stdout
