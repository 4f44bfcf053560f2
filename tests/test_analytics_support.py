"""Shared fixtures for the analytics tests: one `analytics` fixture parametrized over SQLite (a real file) and
PostgreSQL (a throw-away schema per test, when EDUSDK_TEST_POSTGRES_URL is set; skipped visibly otherwise)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))

from test_analytics_store import make_manifest

from edusdk.analytics import Analytics, AnalyticsConfig

PG_ENV = "EDUSDK_TEST_POSTGRES_URL"
CONFIG = AnalyticsConfig(key="test-key", home_page="https://school.example")
BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


@pytest.fixture
def pg_schema_engine() -> Iterator[Any]:
    """An engine whose search_path is a fresh schema (CI and parallel workers share the database)."""
    url = postgres_url()
    schema = f"edusdk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def analytics(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Analytics]:
    """An empty analytics store on each backend."""
    if request.param == "sqlite":
        with Analytics(str(tmp_path / "analytics.db"), config=CONFIG) as store:
            yield store
        return
    engine = request.getfixturevalue("pg_schema_engine")
    with Analytics(engine=engine, config=CONFIG) as store:
        yield store


def event(
    kind: str, student: str, session: str, t: float | None, at: int, lesson: str = "L1", **more: Any
) -> dict[str, Any]:
    """A compact event; `at` is seconds after 2025-03-01T10:00:00Z."""
    data = {"type": kind, "lesson_id": lesson, "student_id": student, "session_id": session,
            "wall_time": 1_740_823_200 + at, **more}  # fmt: skip
    if t is not None:
        data["video_time"] = t
    return data


def watch(
    student: str, session: str, start: float, stop: float, at: int = 0, lesson: str = "L1"
) -> list[dict[str, Any]]:
    """A play at `start` and a pause at `stop`."""
    return [event("play", student, session, start, at, lesson), event("pause", student, session, stop, at + 1, lesson)]


def register(store: Analytics, lesson_id: str = "L1", *, shots: int = 3, **variables: Any) -> None:
    """Register a lesson of `shots` × 4 s; `variables` replace the script's template variables."""
    manifest = make_manifest(lesson_id, shots=shots)
    if variables:
        manifest.script.variables = dict(variables)
    store.register_lesson(manifest, manifest_path=Path(f"{lesson_id}.json"))


def test_the_fixture_gives_an_empty_store(analytics: Analytics) -> None:
    assert analytics.list_lessons() == []
    assert analytics.record([]).as_json() == {"stored": 0, "duplicates": 0, "rejected": 0, "errors": []}
