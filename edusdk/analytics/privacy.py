"""A student's rights over their data: export everything held (as xAPI), forget them, and the retention limit.

Student ids are stored only as a keyed HMAC (`AnalyticsConfig.pseudonym`); the caller gives the raw id, we
look rows up by its pseudonym. Events have no index by student (since revision 0003: a random-key index made
every ingest batch rewrite most of its pages), so export and forget read the whole events table: rare requests,
about 0.2 s per million events here, and nothing they must find can be missed.
Every deletion (forget or retention) is logged in `analytics_deletions` and to the `edusdk.analytics` logger.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.events import Event, to_xapi
from edusdk.analytics.tables import SESSION_COLUMNS, session_totals_sql

log = logging.getLogger("edusdk.analytics")
_COLUMNS = (
    "statement_id",
    "lesson_id",
    "session_id",
    "verb",
    "video_time",
    "time_from",
    "time_to",
    "progress",
    "length_s",
    "score",
    "success",
    "question",
    "timestamp",
    "extra",
)


def row_event(row: Any, student_id: str) -> Event:
    """The compact event of a stored row, with the student's raw id put back (the caller knows it)."""
    data = dict(zip(_COLUMNS, row, strict=True))
    extra = json.loads(data["extra"]) if data["extra"] else {}
    return Event.model_validate(
        {
            "id": data["statement_id"],
            "type": data["verb"],
            "lesson_id": data["lesson_id"],
            "student_id": student_id,
            "session_id": data["session_id"],
            "wall_time": datetime.fromtimestamp(data["timestamp"], UTC),
            "video_time": None if data["verb"] == "seek" else data["video_time"],
            "from": data["time_from"],
            "to": data["time_to"],
            "progress": data["progress"],
            "length": data["length_s"],
            "rating": data["score"],
            "question_id": data["question"],
            "correct": None if data["success"] is None else bool(data["success"]),
            **extra,
        }
    )


def export_student(engine: Engine, config: AnalyticsConfig, student_id: str) -> dict[str, Any]:
    """Everything held about `student_id`: their statements (xAPI JSON, oldest first) and rejected events.

    Example:
        >>> export_student(engine, config, "s-42")["statements"][0]["actor"]["account"]["name"]
        's-42'
    """
    pseudonym = config.pseudonym(student_id)
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT {', '.join(_COLUMNS)} FROM analytics_events WHERE student = :s ORDER BY timestamp, id"),
            {"s": pseudonym},
        ).all()
        rejected = conn.execute(
            text("SELECT received_at, reason, payload FROM analytics_rejected WHERE student = :s ORDER BY id"),
            {"s": pseudonym},
        ).all()
    return {
        "student_id": student_id,
        "statements": [to_xapi(row_event(row, student_id), config) for row in rows],
        "rejected": [{"received_at": r[0], "reason": r[1], "payload": json.loads(r[2])} for r in rejected],
    }


def forget_student(engine: Engine, config: AnalyticsConfig, student_id: str) -> int:
    """Delete every row held about `student_id` (events and rejected events); log it; the number deleted."""
    pseudonym = config.pseudonym(student_id)
    with engine.begin() as conn:
        events = conn.execute(text("DELETE FROM analytics_events WHERE student = :s"), {"s": pseudonym}).rowcount
        rejected = conn.execute(text("DELETE FROM analytics_rejected WHERE student = :s"), {"s": pseudonym}).rowcount
        conn.execute(text("DELETE FROM analytics_sessions WHERE student = :s"), {"s": pseudonym})
        conn.execute(
            text(
                "INSERT INTO analytics_deletions (at, reason, student, events, rejected) "
                "VALUES (:at, 'forget', :s, :e, :r)"
            ),
            {"at": time.time(), "s": pseudonym, "e": events, "r": rejected},
        )
    log.info("forgot student %s…: %d events, %d rejected events deleted", pseudonym[:12], events, rejected)
    return int(events + rejected)


def purge_older_than(engine: Engine, days: float) -> int:
    """Delete events (and rejected events) older than `days` days by their wall time; log it; the number deleted."""
    cutoff = time.time() - days * 86_400
    with engine.begin() as conn:
        events = conn.execute(text("DELETE FROM analytics_events WHERE timestamp < :c"), {"c": cutoff}).rowcount
        rejected = conn.execute(text("DELETE FROM analytics_rejected WHERE received_at < :c"), {"c": cutoff}).rowcount
        if events:
            rebuild_sessions(conn)
        conn.execute(
            text("INSERT INTO analytics_deletions (at, reason, events, rejected) VALUES (:at, 'retention', :e, :r)"),
            {"at": time.time(), "e": events, "r": rejected},
        )
    log.info("retention (%g days): %d events, %d rejected events deleted", days, events, rejected)
    return int(events + rejected)


def rebuild_sessions(conn: Connection) -> None:
    """Recompute `analytics_sessions` from the events (after deleting events by age)."""
    conn.execute(text("DELETE FROM analytics_sessions"))
    conn.execute(text(f"INSERT INTO analytics_sessions ({SESSION_COLUMNS}) {session_totals_sql('analytics_events')}"))


def deletion_log(engine: Engine) -> list[dict[str, Any]]:
    """Every logged deletion, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT at, reason, student, events, rejected FROM analytics_deletions ORDER BY id"))
        return [dict(zip(("at", "reason", "student", "events", "rejected"), row, strict=True)) for row in rows]
