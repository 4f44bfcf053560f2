"""The analytics store on real SQLite (in memory and on disk), and on PostgreSQL when one is given."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from edusdk.analytics import AnalyticsStore, LessonPublic, database_url
from edusdk.analytics.connect import SQLITE_BUSY_TIMEOUT_MS
from edusdk.models.lesson import Manifest, TimelineEntry, VideoInfo
from edusdk.models.moderation import ModerationReport
from edusdk.models.script import Script, Shot


def make_manifest(
    lesson_id: str = "photosynthesis-abc123",
    *,
    shots: int = 3,
    created_at: datetime | None = None,
    prompt_prefix: str = "shot",
) -> Manifest:
    script = Script(
        title="Photosynthesis",
        subject="biology",
        audience="grade 7",
        style="storyboard",
        template="lesson",
        outline_hash="f00d",
        variables={"character": "fox", "grade": 7},
        shots=[
            Shot(id=f"s{i}", section=i, prompt=f"{prompt_prefix} {i}", duration_s=4, seed=i, variables={"i": i})
            for i in range(shots)
        ],
    )
    timeline = [
        TimelineEntry(
            index=i,
            shot_id=f"s{i}",
            start_s=4.0 * i,
            end_s=4.0 * (i + 1),
            visible_start_s=4.0 * i,
            visible_end_s=4.0 * (i + 1),
            prompt=f"{prompt_prefix} {i}",
            variables={"i": i},
        )
        for i in range(shots)
    ]
    return Manifest(
        lesson_id=lesson_id,
        title="Photosynthesis",
        outline_hash="f00d",
        created_at=created_at or datetime.now(UTC),
        video=VideoInfo(
            path=Path(f"out/{lesson_id}.mp4"),
            duration_s=4.0 * shots,
            width=640,
            height=360,
            fps=24,
            frames=96 * shots,
            codec="h264",
            size_bytes=12345,
        ),
        captions=Path(f"out/{lesson_id}.vtt"),
        timeline=timeline,
        engine={"name": "storyboard", "model": "cards", "seeds": {}},
        moderation=ModerationReport(policy="k12", policy_version="1"),
        script=script,
    )


@pytest.fixture
def memory_store() -> Iterator[AnalyticsStore]:
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    with AnalyticsStore(engine=engine) as store:
        yield store
    engine.dispose()


def round_trip(store: AnalyticsStore) -> None:
    older = make_manifest("older", shots=2, created_at=datetime(2024, 1, 1, tzinfo=UTC))
    newer = make_manifest("newer", shots=3, created_at=datetime(2024, 6, 1, tzinfo=UTC))
    record = store.register_lesson(older, manifest_path=Path("out/older.json"))
    assert record.lesson_id == "older" and record.shots == 2
    store.register_lesson(newer, manifest_path=Path("out/newer.json"))

    assert [lesson.lesson_id for lesson in store.list_lessons()] == ["newer", "older"]
    assert [lesson.lesson_id for lesson in store.list_lessons(limit=1)] == ["newer"]
    lesson = store.get_lesson("newer")
    assert isinstance(lesson, LessonPublic)
    assert (lesson.title, lesson.subject, lesson.audience, lesson.template) == (
        "Photosynthesis",
        "biology",
        "grade 7",
        "lesson",
    )
    assert (lesson.shots, lesson.duration_s, lesson.moderation, lesson.engine) == (3, 12.0, "allow", "storyboard")
    assert lesson.video_path == str(Path("out/newer.mp4")) and lesson.manifest_path == str(Path("out/newer.json"))
    assert lesson.variables == {"character": "fox", "grade": 7}
    assert lesson.created_at == datetime(2024, 6, 1, tzinfo=UTC)
    assert lesson.updated_at.tzinfo is not None and lesson.updated_at > lesson.created_at
    assert store.get_lesson("missing") is None

    segments = store.shot_segments("newer")
    assert [(s.index, s.shot_id, s.start_s, s.end_s) for s in segments] == [
        (0, "s0", 0, 4),
        (1, "s1", 4, 8),
        (2, "s2", 8, 12),
    ]
    assert segments[1].prompt == "shot 1" and segments[1].variables == {"i": 1}
    assert store.shot_segments("missing") == []

    # A re-render of the same lesson replaces the record and its segments: no duplicates, no leftovers.
    rerender = make_manifest("newer", shots=2, created_at=datetime(2024, 7, 1, tzinfo=UTC), prompt_prefix="take two")
    store.register_lesson(rerender, manifest_path=Path("out/newer-2.json"))
    assert [lesson.lesson_id for lesson in store.list_lessons()] == ["newer", "older"]
    again = store.get_lesson("newer")
    assert again is not None and again.shots == 2 and again.manifest_path == str(Path("out/newer-2.json"))
    assert [(s.index, s.prompt) for s in store.shot_segments("newer")] == [(0, "take two 0"), (1, "take two 1")]
    assert len(store.shot_segments("older")) == 2


def test_round_trip_in_memory(memory_store: AnalyticsStore) -> None:
    round_trip(memory_store)


def test_round_trip_on_a_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "edusdk.db"
    with AnalyticsStore(str(path)) as store:
        round_trip(store)
        assert store.url == f"sqlite:///{path}"
    # WAL is a property of the file: another connection sees it, and the data survived close().
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM shot_segments").fetchone()[0] == 4
    with AnalyticsStore(f"sqlite:///{path}") as reopened:
        assert [lesson.lesson_id for lesson in reopened.list_lessons()] == ["newer", "older"]


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    with AnalyticsStore(str(tmp_path / "a.db")) as store, store.engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert pragma("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
        assert pragma("PRAGMA foreign_keys").scalar() == 1


def test_memory_url_shares_one_database() -> None:
    with AnalyticsStore(":memory:") as store:
        store.register_lesson(make_manifest(), manifest_path=Path("lesson.json"))
        assert len(store.list_lessons()) == 1  # a new connection would have been a new, empty database


def test_a_store_two_connections_see_each_other(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with AnalyticsStore(url) as writer, AnalyticsStore(url) as reader:
        writer.register_lesson(make_manifest("a"), manifest_path=Path("a.json"))
        assert [lesson.lesson_id for lesson in reader.list_lessons()] == ["a"]
        writer.register_lesson(make_manifest("a", shots=1), manifest_path=Path("a.json"))
        assert len(reader.shot_segments("a")) == 1


def test_database_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDUSDK_DB", raising=False)
    assert database_url() == "sqlite:///./edusdk.db"
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url("relative/x.db") == "sqlite:///relative/x.db"
    assert database_url(":memory:") == "sqlite://"
    assert database_url("sqlite:///already.db") == "sqlite:///already.db"
    assert database_url("postgresql://u:p@host/db") == "postgresql+psycopg://u:p@host/db"
    assert database_url("postgres://u:p@host/db") == "postgresql+psycopg://u:p@host/db"
    assert database_url("postgresql+psycopg2://u@host/db") == "postgresql+psycopg2://u@host/db"
    monkeypatch.setenv("EDUSDK_DB", str(tmp_path / "env.db"))
    assert database_url() == f"sqlite:///{tmp_path / 'env.db'}"
    assert database_url("sqlite://") == "sqlite://"  # an explicit url wins over the environment


def test_edusdk_db_env_var_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "from-env.db"
    monkeypatch.setenv("EDUSDK_DB", str(path))
    with AnalyticsStore() as store:
        store.register_lesson(make_manifest(), manifest_path=Path("lesson.json"))
    assert path.is_file()
    monkeypatch.setenv("EDUSDK_DB", f"sqlite:///{path}")
    with AnalyticsStore() as store:
        assert [lesson.lesson_id for lesson in store.list_lessons()] == ["photosynthesis-abc123"]


def test_default_is_edusdk_db_in_the_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EDUSDK_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    with AnalyticsStore() as store:
        store.register_lesson(make_manifest(), manifest_path=Path("lesson.json"))
    assert (tmp_path / "edusdk.db").is_file()


def test_nothing_is_created_before_first_use(tmp_path: Path) -> None:
    path = tmp_path / "lazy.db"
    AnalyticsStore(str(path)).close()
    assert not path.exists()


def test_naive_created_at_is_taken_as_utc(memory_store: AnalyticsStore) -> None:
    naive = datetime(2024, 3, 1, 12, 0)
    memory_store.register_lesson(make_manifest(created_at=naive), manifest_path=Path("l.json"))
    lesson = memory_store.get_lesson("photosynthesis-abc123")
    assert lesson is not None and lesson.created_at == naive.replace(tzinfo=UTC)
    aware = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)
    memory_store.register_lesson(make_manifest(created_at=aware.astimezone()), manifest_path=Path("l.json"))
    lesson = memory_store.get_lesson("photosynthesis-abc123")
    assert lesson is not None and lesson.created_at == aware


def test_round_trip_on_postgres() -> None:
    url = os.environ.get("EDUSDK_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(
            "set EDUSDK_TEST_POSTGRES_URL (e.g. postgresql://user:pass@localhost/edusdk_test) to run on PostgreSQL"
        )
    pytest.importorskip("psycopg", reason="the postgres extra (psycopg) is not installed")
    # A throwaway schema, so the test never touches tables that already exist in that database.
    schema = f"edusdk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(url))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    scoped = make_url(database_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        with AnalyticsStore(scoped.render_as_string(hide_password=False)) as store:
            assert store.url.startswith("postgresql+psycopg://")
            round_trip(store)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
