"""Analytics tables: the lessons the store knows and the shot timeline of each, so engagement can be
attributed to shots, templates and variables.

Following the SQLModel multiple-models pattern: `XBase` holds the shared fields, `X(XBase, table=True)` is
storage, `XPublic(XBase)` is what the SDK returns. Nothing inherits from a table model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, BigInteger, Column, DateTime, Double, Index, Integer, Text
from sqlmodel import Field, SQLModel

Variables = dict[str, str | int | float]


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (SQLite hands back naive datetimes; they were stored as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LessonBase(SQLModel):
    """A rendered lesson, as registered from its manifest (`lesson.json`)."""

    lesson_id: str = Field(max_length=128)
    title: str
    subject: str = ""
    audience: str = ""
    template: str = Field(default="", max_length=200, index=True)
    outline_hash: str = Field(default="", max_length=128, index=True)
    duration_s: float = Field(ge=0)
    shots: int = Field(ge=0, description="number of shots in the timeline")
    video_path: str
    manifest_path: str
    moderation: str = Field(max_length=16, description="the moderation decision: allow, review or block")
    engine: str = Field(default="", max_length=64, description="the engine that rendered it")
    variables: Variables = Field(default_factory=dict, sa_type=JSON, description="the script's template variables")
    created_at: datetime = Field(sa_type=DateTime(timezone=True), index=True, description="when it was rendered")
    updated_at: datetime = Field(sa_type=DateTime(timezone=True), description="when it was last registered")


class LessonRecord(LessonBase, table=True):
    """Storage row for a lesson; re-registering the same `lesson_id` replaces it."""

    __tablename__ = "lessons"

    lesson_id: str = Field(primary_key=True, max_length=128)


class LessonPublic(LessonBase):
    """A lesson as the SDK returns it (timestamps always UTC-aware)."""

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)


class ShotSegmentBase(SQLModel):
    """Where one shot sits in a lesson's final video (`start_s`/`end_s` partition the video)."""

    lesson_id: str = Field(max_length=128)
    index: int = Field(ge=0, description="position of the shot in the timeline")
    shot_id: str = Field(max_length=128)
    start_s: float = Field(ge=0)
    end_s: float = Field(ge=0)
    prompt: str = Field(default="", sa_type=Text)
    variables: Variables = Field(default_factory=dict, sa_type=JSON)


class ShotSegment(ShotSegmentBase, table=True):
    """Storage row for one shot of a lesson's timeline; primary key (lesson_id, index)."""

    __tablename__ = "shot_segments"

    lesson_id: str = Field(foreign_key="lessons.lesson_id", ondelete="CASCADE", primary_key=True, max_length=128)
    index: int = Field(primary_key=True, ge=0)


class ShotSegmentPublic(ShotSegmentBase):
    """A shot segment as the SDK returns it."""


def _row_id() -> Any:
    # INTEGER on SQLite so the key is the rowid (autoincrementing); BIGINT elsewhere for billions of events.
    return Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )


class EventRecord(SQLModel, table=True):
    """One playback event (compact or xAPI, normalised). `student` is the keyed HMAC of the student id, never
    the id itself; `timestamp` is the event's wall time in Unix seconds; `statement_id` is the xAPI id (unique,
    through its integer `statement_key`); rows of a student are found by `student = s` (a scan: see below)."""

    __tablename__ = "analytics_events"
    # The per-lesson fetch (retention, drop-off) is the only lookup by lesson; all-lesson queries read
    # analytics_sessions instead. Every extra index costs ingest speed, a random one most: each batch rewrites
    # most of its leaf pages. The statement-id lookup goes through a 64-bit integer key (`statement_key`;
    # indexing the 36-character text made the index inserts the main ingest cost). Student lookups (export,
    # forget: rare) scan the table since 0003: at 5 M events the student-key index halved the ingest rate.
    # `student_key` is still stored (an index can be put back on it without rewriting rows).
    __table_args__ = (
        Index("ix_analytics_events_lesson", "lesson_id"),
        Index("ix_analytics_events_statement_key", "statement_key", unique=True),
    )

    id: int | None = _row_id()
    statement_id: str = Field(max_length=36, description="the xAPI id; its `statement_key` is unique")
    statement_key: int = Field(sa_type=BigInteger, description="first 8 bytes of sha256(statement_id), signed")
    body_hash: str = Field(max_length=64, description="sha256 of the normalised content: tells a resend from a clash")
    lesson_id: str = Field(max_length=128)
    student: str = Field(max_length=64)
    student_key: int = Field(sa_type=BigInteger, description="first 8 bytes of the `student` HMAC, signed")
    session_id: str = Field(max_length=128)
    verb: str = Field(max_length=16)
    video_time: float | None = Field(default=None, sa_type=Double)
    time_from: float | None = Field(default=None, sa_type=Double)
    time_to: float | None = Field(default=None, sa_type=Double)
    progress: float | None = Field(default=None, sa_type=Double)
    length_s: float | None = Field(default=None, sa_type=Double)
    score: float | None = Field(default=None, sa_type=Double)
    success: bool | None = None
    question: str | None = Field(default=None, max_length=128)
    timestamp: float = Field(sa_type=Double)
    extra: str | None = Field(default=None, sa_type=Text)


class SessionSummary(SQLModel, table=True):
    """One viewing session, aggregated at ingest in the same transaction as its events (so all-lesson queries
    never scan the events): `done` = sent complete; `reach` = the furthest segment-closing time (pause, complete,
    terminate, seek's time-from); `watch` = Σ closing times − Σ play times (the estimated seconds watched)."""

    __tablename__ = "analytics_sessions"

    lesson_id: str = Field(primary_key=True, max_length=128)
    session_id: str = Field(primary_key=True, max_length=128)
    student: str = Field(max_length=64, index=True)
    done: int = 0
    reach: float | None = Field(default=None, sa_type=Double)
    plays: int = 0
    watch: float = Field(default=0.0, sa_type=Double)
    first_ts: float = Field(sa_type=Double)


SESSION_COLUMNS = "lesson_id, session_id, student, done, reach, plays, watch, first_ts"


def session_totals_sql(source: str) -> str:
    """A SELECT of `SessionSummary` rows (columns in `SESSION_COLUMNS` order), one per (lesson, session), summed
    over the events in table `source`: at ingest over the batch just stored (then merged into the stored rows), and
    over all events to rebuild the table after a deletion."""
    closing = "verb IN ('pause', 'complete', 'terminate')"
    return (
        "SELECT lesson_id, session_id, MIN(student), MAX(CASE WHEN verb = 'complete' THEN 1 ELSE 0 END), "
        f"MAX(CASE WHEN {closing} THEN video_time WHEN verb = 'seek' THEN time_from END), "
        "SUM(CASE WHEN verb = 'play' THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN {closing} THEN COALESCE(video_time, 0) WHEN verb = 'seek' THEN COALESCE(time_from, 0) "
        "WHEN verb = 'play' THEN -COALESCE(video_time, 0) ELSE 0 END), "
        f"MIN(timestamp) FROM {source} WHERE true GROUP BY lesson_id, session_id"
    )


class RejectedEvent(SQLModel, table=True):
    """An event that could not be stored, with the reason; student ids in `payload` are pseudonymised."""

    __tablename__ = "analytics_rejected"

    id: int | None = _row_id()
    received_at: float = Field(sa_type=Double)
    source: str = Field(default="", max_length=300, description="file:line, http, or sdk")
    reason: str = Field(sa_type=Text)
    statement_id: str | None = Field(default=None, max_length=64)
    student: str | None = Field(default=None, max_length=64, index=True)
    payload: str = Field(sa_type=Text)


class DeletionLog(SQLModel, table=True):
    """A record of every deletion of student data (a `forget` request or the retention setting)."""

    __tablename__ = "analytics_deletions"

    id: int | None = _row_id()
    at: float = Field(sa_type=Double)
    reason: str = Field(max_length=32, description="forget or retention")
    student: str | None = Field(default=None, max_length=64, description="the pseudonym, for forget")
    events: int = 0
    rejected: int = 0


# The tables this store creates (explicitly: other parts of edusdk keep their own SQLModel tables elsewhere).
ANALYTICS_TABLES: list[Any] = [
    LessonRecord.__table__,  # type: ignore[attr-defined]
    ShotSegment.__table__,  # type: ignore[attr-defined]
    EventRecord.__table__,  # type: ignore[attr-defined]
    SessionSummary.__table__,  # type: ignore[attr-defined]
    RejectedEvent.__table__,  # type: ignore[attr-defined]
    DeletionLog.__table__,  # type: ignore[attr-defined]
]
