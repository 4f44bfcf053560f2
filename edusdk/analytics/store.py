"""The analytics store: one SQLModel database (SQLite by default, PostgreSQL at scale) that registers every
rendered lesson with its shot timeline, for later engagement queries.

The database is `EDUSDK_DB` (a SQLAlchemy URL, or a plain file path meaning SQLite), else `./edusdk.db`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from edusdk._db import create_tables
from edusdk.analytics.connect import create_store_engine, database_url
from edusdk.analytics.tables import ANALYTICS_TABLES, LessonPublic, LessonRecord, ShotSegment, ShotSegmentPublic, as_utc
from edusdk.models.lesson import Manifest


def _upsert(session: Session, record: LessonRecord) -> None:
    """Insert `record`, or update the row with its primary key, in one statement where the database can."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):
        session.merge(record)
        session.flush()
        return
    values = record.model_dump()
    insert = sqlite_insert(LessonRecord) if dialect == "sqlite" else postgresql_insert(LessonRecord)
    statement = insert.values(**values)
    updates = {name: statement.excluded[name] for name in values if name != "lesson_id"}
    session.exec(statement.on_conflict_do_update(index_elements=["lesson_id"], set_=updates))


class AnalyticsStore:
    """Lessons and their shot timelines, in SQLite or PostgreSQL.

    Example:
        >>> with AnalyticsStore("out/edusdk.db") as store:
        ...     store.register_lesson(manifest, manifest_path=Path("out/lesson.json"))
        ...     [lesson.lesson_id for lesson in store.list_lessons()]
        ['photosynthesis-3f2a…']
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None) -> None:
        """Open the store at `url` (see `database_url`), or on an existing SQLAlchemy `engine` (tests, pools).

        Nothing connects until first use; the tables are created then if missing, and a database created at an
        earlier schema revision is migrated to the current one (see `edusdk.analytics.migrations.ensure_current`).
        """
        self._owns_engine = engine is None
        self._engine = engine if engine is not None else create_store_engine(database_url(url))
        self._ready = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, with the tables created, or upgraded (`alembic upgrade head`) when they were
        created at an earlier schema revision."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    from edusdk.analytics.migrations import ensure_current  # imports this module

                    ensure_current(self._engine)
                    create_tables(self._engine, ANALYTICS_TABLES)
                    self._ready = True
        return self._engine

    def register_lesson(self, manifest: Manifest, *, manifest_path: Path) -> LessonRecord:
        """Record a rendered lesson and its shot timeline.

        Re-registering a `lesson_id` (a re-render) replaces its record and all its segments in one transaction.
        """
        try:
            return self._replace_lesson(manifest, manifest_path)
        except IntegrityError:
            # Only where there is no single-statement upsert: another process inserted the lesson first.
            return self._replace_lesson(manifest, manifest_path)

    def _replace_lesson(self, manifest: Manifest, manifest_path: Path) -> LessonRecord:
        script = manifest.script
        record = LessonRecord(
            lesson_id=manifest.lesson_id,
            title=manifest.title,
            subject=script.subject,
            audience=script.audience,
            template=script.template,
            outline_hash=manifest.outline_hash,
            duration_s=manifest.video.duration_s,
            shots=len(manifest.timeline),
            video_path=str(manifest.video.path),
            manifest_path=str(manifest_path),
            moderation=manifest.moderation.decision,
            engine=str(manifest.engine.get("name", "")),
            variables=dict(script.variables),
            created_at=as_utc(manifest.created_at),
            updated_at=datetime.now(UTC),
        )
        segments = [
            ShotSegment(
                lesson_id=manifest.lesson_id,
                index=entry.index,
                shot_id=entry.shot_id,
                start_s=entry.start_s,
                end_s=entry.end_s,
                prompt=entry.prompt,
                variables=dict(entry.variables),
            )
            for entry in manifest.timeline
        ]
        with Session(self.engine, expire_on_commit=False) as session:
            # The lesson row first: it locks the lesson, so concurrent re-registrations queue instead of deadlocking.
            _upsert(session, record)
            session.exec(delete(ShotSegment).where(col(ShotSegment.lesson_id) == record.lesson_id))
            session.add_all(segments)
            session.commit()
        return record

    def list_lessons(self, *, limit: int | None = None) -> list[LessonPublic]:
        """The registered lessons, newest first."""
        statement = select(LessonRecord).order_by(col(LessonRecord.created_at).desc(), col(LessonRecord.lesson_id))
        if limit is not None:
            statement = statement.limit(limit)
        with Session(self.engine) as session:
            return [LessonPublic.model_validate(row) for row in session.exec(statement)]

    def get_lesson(self, lesson_id: str) -> LessonPublic | None:
        """The lesson registered as `lesson_id`, or None."""
        with Session(self.engine) as session:
            row = session.get(LessonRecord, lesson_id)
            return LessonPublic.model_validate(row) if row is not None else None

    def shot_segments(self, lesson_id: str) -> list[ShotSegmentPublic]:
        """The shot timeline of `lesson_id`, in order (empty when the lesson is unknown)."""
        statement = select(ShotSegment).where(col(ShotSegment.lesson_id) == lesson_id).order_by(col(ShotSegment.index))
        with Session(self.engine) as session:
            return [ShotSegmentPublic.model_validate(row) for row in session.exec(statement)]

    def close(self) -> None:
        """Release the database connections (an engine passed in by the caller is left to the caller)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> AnalyticsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
