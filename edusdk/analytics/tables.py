"""Analytics tables: the lessons the store knows and the shot timeline of each, so engagement can be
attributed to shots, templates and variables.

Following the SQLModel multiple-models pattern: `XBase` holds the shared fields, `X(XBase, table=True)` is
storage, `XPublic(XBase)` is what the SDK returns. Nothing inherits from a table model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, DateTime, Text
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


# The tables this store creates (explicitly: other parts of edusdk keep their own SQLModel tables elsewhere).
ANALYTICS_TABLES: list[Any] = [LessonRecord.__table__, ShotSegment.__table__]  # type: ignore[attr-defined]
