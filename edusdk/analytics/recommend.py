"""Per student: progress over lessons, struggling topics, and what to watch next (with the reason).

A lesson is **struggling** for a student when any holds: they watched it but never completed it and reached
less than half of it; they re-watched it (more plays than a straight watch: ≥ 3 plays, or seeked backwards ≥ 2
times); or they answered under 60 % of its quiz questions correctly.

`recommend_next`: (1) for the most recent struggling lesson, an unwatched variant of the same subject at an
easier level (a lower `grade` / `difficulty` variable, else the variant with the best completion rate); if there
is none, a request to generate a personalised, easier variant; (2) otherwise the next unwatched lesson of the
subject the student is on (oldest first, the best-completing variant among equals); (3) otherwise a request to
generate a harder variant.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text

from edusdk.analytics.abtest import lesson_totals
from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.events import student_key
from edusdk.analytics.metrics import completion_point
from edusdk.analytics.store import AnalyticsStore
from edusdk.analytics.tables import LessonPublic

LEVEL_VARIABLES = ("difficulty", "grade", "level")


class LessonProgress(BaseModel):
    """One lesson as one student met it."""

    lesson_id: str
    title: str
    subject: str
    sessions: int
    plays: int
    furthest_s: float
    length_s: float
    completed: bool
    rewatches: int
    quiz_answers: int
    quiz_correct: int
    last_seen: float
    struggling: list[str]


class Recommendation(BaseModel):
    """What to show next, and why; `generate` is a request for a new variant when none fits."""

    lesson_id: str | None
    reason: str
    generate: dict[str, Any] | None = None


def student_progress(store: AnalyticsStore, config: AnalyticsConfig, student_id: str) -> list[LessonProgress]:
    """The student's lessons, most recently seen first (struggling reasons filled in)."""
    pseudonym = config.pseudonym(student_id)
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT lesson_id, session_id, verb, video_time, time_from, time_to, success, timestamp "
                "FROM analytics_events WHERE student_key = :k AND student = :s ORDER BY timestamp, id"
            ),
            {"k": student_key(pseudonym), "s": pseudonym},
        ).all()
    fresh = {"plays": 0, "far": 0.0, "done": False, "back": 0, "answers": 0, "correct": 0, "last": 0.0}
    acc: dict[str, dict[str, Any]] = defaultdict(lambda: {"sessions": set(), **fresh})
    for lesson_id, session, verb, video_time, time_from, time_to, success, stamp in rows:
        a = acc[lesson_id]
        a["sessions"].add(session)
        a["last"] = max(a["last"], stamp)
        if verb == "play":
            a["plays"] += 1
        elif verb == "complete":
            a["done"] = True
        elif verb == "seek" and time_from is not None and time_to is not None and time_to < time_from:
            a["back"] += 1
        elif verb == "quiz_answer":
            a["answers"] += 1
            a["correct"] += bool(success)
        if verb in ("pause", "complete", "terminate") and video_time is not None:
            a["far"] = max(a["far"], video_time)
        if verb == "seek" and time_from is not None:
            a["far"] = max(a["far"], time_from)
    out = []
    for lesson_id, a in acc.items():
        lesson = store.get_lesson(lesson_id)
        length = lesson.duration_s if lesson else a["far"]
        done = a["done"] or (length > 0 and a["far"] >= completion_point(length))
        reasons = []
        if a["plays"] and not done and a["far"] < 0.5 * length:
            reasons.append("stopped before half way")
        if a["plays"] >= 3 or a["back"] >= 2:
            reasons.append("re-watched parts")
        if a["answers"] and a["correct"] / a["answers"] < 0.6:
            reasons.append(f"{a['answers'] - a['correct']} of {a['answers']} quiz answers wrong")
        out.append(
            LessonProgress(
                lesson_id=lesson_id,
                title=lesson.title if lesson else lesson_id,
                subject=lesson.subject if lesson else "",
                sessions=len(a["sessions"]),
                plays=a["plays"],
                furthest_s=a["far"],
                length_s=length,
                completed=done,
                rewatches=max(a["plays"] - len(a["sessions"]), 0) + a["back"],
                quiz_answers=a["answers"],
                quiz_correct=a["correct"],
                last_seen=a["last"],
                struggling=reasons,
            )
        )
    return sorted(out, key=lambda p: -p.last_seen)


def _level(lesson: LessonPublic) -> float | None:
    for name in LEVEL_VARIABLES:
        value = lesson.variables.get(name)
        if isinstance(value, int | float):
            return float(value)
    return None


def recommend_next(store: AnalyticsStore, config: AnalyticsConfig, student_id: str) -> Recommendation:
    """The next lesson (or variant) for `student_id`, with the reason (rules: the module docstring).

    Example:
        >>> recommend_next(store, config, "s-42").reason
        'struggled with Fractions (stopped before half way): an easier variant (grade 3 instead of 4)'
    """
    progress = student_progress(store, config, student_id)
    seen = {p.lesson_id for p in progress}
    lessons = store.list_lessons()
    totals = lesson_totals(store.engine)

    def rate(lesson: LessonPublic) -> float:
        views, completions, _ = totals.get(lesson.lesson_id, (0, 0, 0.0))
        return completions / views if views else 0.0

    struggling = [p for p in progress if p.struggling]
    if struggling:
        hard = struggling[0]
        current = next((lesson for lesson in lessons if lesson.lesson_id == hard.lesson_id), None)
        why = f"struggled with {hard.title} ({'; '.join(hard.struggling)})"
        if current is not None:
            level = _level(current)
            peers = [
                x
                for x in lessons
                if x.subject == current.subject and x.title == current.title and x.lesson_id not in seen
            ]
            easier = [x for x in peers if level is not None and (_level(x) or level) < level]
            if easier:
                pick = max(easier, key=lambda x: (_level(x) or 0.0, rate(x)))
                return Recommendation(lesson_id=pick.lesson_id, reason=f"{why}: an easier variant ({pick.variables})")
            if peers and level is None:
                pick = max(peers, key=rate)
                return Recommendation(
                    lesson_id=pick.lesson_id,
                    reason=f"{why}: the variant other students complete most ({rate(pick):.0%})",
                )
            request = {
                "template": current.template,
                "subject": current.subject,
                "title": current.title,
                "variables": {**current.variables, "difficulty": "easier"},
                "for_student": True,
            }
            return Recommendation(lesson_id=None, reason=f"{why}: no easier variant exists yet", generate=request)
        return Recommendation(lesson_id=None, reason=f"{why}: the lesson is not registered")
    subject = next((p.subject for p in progress if p.subject), None)
    candidates = [x for x in lessons if x.lesson_id not in seen and (subject is None or x.subject == subject)]
    if candidates:
        # Oldest first (course order); among variants of one title, the best-completing.
        first = min(candidates, key=lambda x: x.created_at)
        pick = max((x for x in candidates if x.title == first.title), key=rate)
        where = f"the next {subject} lesson" if subject else "a lesson to start with"
        return Recommendation(lesson_id=pick.lesson_id, reason=f"no struggling topics; {where}: {pick.title}")
    if progress:
        last = next((lesson for lesson in lessons if lesson.lesson_id == progress[0].lesson_id), None)
        request = {
            "template": last.template if last else "",
            "subject": subject or "",
            "variables": {**(last.variables if last else {}), "difficulty": "harder"},
            "for_student": True,
        }
        return Recommendation(
            lesson_id=None, reason="every lesson of the subject is done: a harder variant", generate=request
        )
    return Recommendation(lesson_id=None, reason="no lessons registered yet")
