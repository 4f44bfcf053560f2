"""The batch job store: one SQLite file (`<output dir>/batch.db`) with every lesson's state.

States: `pending` → `running` → `done` | `blocked` (refused by the moderation policy) | `failed` (after every
retry). Each transition is one committed transaction, so a batch killed at any point (SIGKILL included)
knows exactly what finished; a `running` row found on resume was interrupted and runs again.

Only the coordinating process writes here; workers (processes, Ray tasks) send their outcomes back to it.

Example:
    >>> store = JobStore("out/fractions/batch.db")
    >>> store.counts()
    {'pending': 0, 'running': 0, 'done': 108, 'blocked': 0, 'failed': 0}
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import JSON, Engine, Text, func, insert, update
from sqlmodel import Field, Session, SQLModel, col, select

from edusdk._db import create_tables
from edusdk.analytics.connect import create_store_engine
from edusdk.batch.matrix import BatchItem

LessonState = Literal["pending", "running", "done", "blocked", "failed"]
STATES: tuple[LessonState, ...] = ("pending", "running", "done", "blocked", "failed")
FINAL_STATES: tuple[LessonState, ...] = ("done", "blocked", "failed")
STORE_FILE = "batch.db"


def _now() -> datetime:
    return datetime.now(UTC)


class BatchLessonBase(SQLModel):
    """What the store knows about one lesson of the batch."""

    item_id: str = Field(primary_key=True, max_length=64)
    position: int = Field(index=True, description="order in the matrix")
    title: str
    variables: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    state: str = Field(default="pending", index=True)
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    worker: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    render_s: float | None = Field(default=None, description="seconds the last attempt took")
    lesson_id: str | None = None
    video: str | None = None
    manifest: str | None = None
    duration_s: float | None = None


class BatchLessonRecord(BatchLessonBase, table=True):
    __tablename__ = "batch_lessons"


class BatchLessonPublic(BatchLessonBase):
    """A lesson's row as returned to callers."""


class BatchInfoRecord(SQLModel, table=True):
    """One row: which matrix this batch is, and the settings it renders with."""

    __tablename__ = "batch_info"

    id: int = Field(default=1, primary_key=True)
    source: str
    fingerprint: str
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=_now)


BATCH_TABLES = [SQLModel.metadata.tables["batch_lessons"], SQLModel.metadata.tables["batch_info"]]


class JobStore:
    """The batch's lessons and their states in `<dir>/batch.db` (see the module docstring)."""

    def __init__(self, path: str | Path, *, engine: Engine | None = None) -> None:
        self.path = Path(path)
        self._engine = engine or create_store_engine(f"sqlite:///{self.path}")
        self._lock = threading.Lock()  # one writer at a time from the coordinator's threads
        create_tables(self._engine, BATCH_TABLES)

    @classmethod
    def exists(cls, output_dir: str | Path) -> bool:
        """Whether `output_dir` already holds a batch store."""
        return (Path(output_dir) / STORE_FILE).is_file()

    def close(self) -> None:
        self._engine.dispose()

    # ---- the batch -------------------------------------------------------------------------------------------
    def info(self) -> BatchInfoRecord | None:
        with Session(self._engine) as session:
            return session.get(BatchInfoRecord, 1)

    def create(self, *, source: str, fingerprint: str, settings: dict[str, Any], items: Sequence[BatchItem]) -> None:
        """Record a new batch and all its lessons as pending, in one transaction."""
        rows = [
            {
                "item_id": it.item_id,
                "position": i,
                "title": it.title,
                "variables": it.variables,
                "state": "pending",
                "attempts": 0,
            }
            for i, it in enumerate(items)
        ]
        with self._lock, Session(self._engine) as session:
            session.add(BatchInfoRecord(source=source, fingerprint=fingerprint, settings=settings))
            session.exec(insert(BatchLessonRecord), params=rows)
            session.commit()

    def reset_interrupted(self, *, include_failed: bool = True) -> int:
        """On resume: `running` rows (the process died under them), and `failed` ones, become pending again."""
        states = ["running", "failed"] if include_failed else ["running"]
        with self._lock, Session(self._engine) as session:
            result = session.exec(
                update(BatchLessonRecord).where(col(BatchLessonRecord.state).in_(states)).values(state="pending")
            )
            session.commit()
            return int(result.rowcount or 0)

    def requeue(self, item_ids: Sequence[str]) -> None:
        """Put these lessons back to pending (e.g. done, but their video has since disappeared)."""
        with self._lock, Session(self._engine) as session:
            session.exec(
                update(BatchLessonRecord)
                .where(col(BatchLessonRecord.item_id).in_(list(item_ids)))
                .values(state="pending", finished_at=None)
            )
            session.commit()

    # ---- transitions -----------------------------------------------------------------------------------------
    def pending(self) -> list[str]:
        """Ids of the pending lessons, in matrix order."""
        with Session(self._engine) as session:
            query = select(BatchLessonRecord.item_id).where(BatchLessonRecord.state == "pending")
            return list(session.exec(query.order_by(col(BatchLessonRecord.position))))

    def mark_running(self, item_id: str, *, worker: str | None = None) -> int:
        """A lesson was handed to a worker: one more attempt. Returns the attempt number."""
        return self._set(item_id, state="running", worker=worker, started_at=_now(), finished_at=None, bump=True)

    def mark_done(
        self,
        item_id: str,
        *,
        lesson_id: str,
        video: str,
        manifest: str,
        duration_s: float,
        render_s: float,
        worker: str | None = None,
    ) -> None:
        self._set(
            item_id,
            state="done",
            error=None,
            lesson_id=lesson_id,
            video=video,
            manifest=manifest,
            duration_s=duration_s,
            render_s=render_s,
            worker=worker,
            finished_at=_now(),
        )

    def mark_blocked(self, item_id: str, *, error: str, render_s: float, worker: str | None = None) -> None:
        self._set(item_id, state="blocked", error=error, render_s=render_s, worker=worker, finished_at=_now())

    def mark_failed(
        self, item_id: str, *, error: str, render_s: float | None, final: bool, worker: str | None = None
    ) -> None:
        """A failed attempt: `final` records the lesson as failed, else it goes back to pending for a retry."""
        self._set(
            item_id,
            state="failed" if final else "pending",
            error=error,
            render_s=render_s,
            worker=worker,
            finished_at=_now() if final else None,
        )

    def _set(self, item_id: str, *, bump: bool = False, **values: Any) -> int:
        with self._lock, Session(self._engine) as session:
            row = session.get(BatchLessonRecord, item_id)
            if row is None:
                raise KeyError(f"no lesson {item_id!r} in the batch store {self.path}")
            for key, value in values.items():
                setattr(row, key, value)
            if bump:
                row.attempts += 1
            attempts = row.attempts
            session.add(row)
            session.commit()
            return attempts

    # ---- queries ---------------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """How many lessons are in each state (every state listed, zeros included)."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(BatchLessonRecord.state, func.count()).group_by(col(BatchLessonRecord.state))
            ).all()
        found = {state: int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in STATES}

    def lessons(self, *, state: str | None = None) -> list[BatchLessonPublic]:
        """Every lesson (or those in `state`), in matrix order."""
        with Session(self._engine) as session:
            query = select(BatchLessonRecord).order_by(col(BatchLessonRecord.position))
            if state is not None:
                query = query.where(BatchLessonRecord.state == state)
            return [BatchLessonPublic.model_validate(row, from_attributes=True) for row in session.exec(query)]

    def get(self, item_id: str) -> BatchLessonPublic | None:
        with Session(self._engine) as session:
            row = session.get(BatchLessonRecord, item_id)
            return None if row is None else BatchLessonPublic.model_validate(row, from_attributes=True)
