"""Engagement metrics of one lesson: views, completion, the retention curve and drop-off per shot.

Definitions (what the field uses; each says whose):

- **view**: a session in which the lesson was played at least once (YouTube counts a view on play).
- **unique viewers**: distinct students (pseudonyms) with at least one view.
- **play rate**: views / sessions that loaded the lesson (any event) — Wistia/Vidyard's "plays / loads".
- **watch segments**: from a `play` (or a `seek` while playing) at time *a* to the next `pause`, `seek`
  (its `time-from`), `complete` or `terminate` of the same session at time *b*; a play with no closing event
  (the data ends mid-play) adds nothing.
- **average view duration**: total seconds watched (all segments, rewatches included) / views (YouTube).
- **average percentage viewed**: average view duration / lesson length (YouTube; above 100 % with rewatches).
- **completion rate** (edX): share of views that were still watching at max(length − 30 s, 95 % of length),
  i.e. a watch segment reaches that point, or the session sent `complete`.
- **retention curve**: for each second *k*, the share of unique viewers whose segments cover second *k*
  (a student counts once however often they watched it); `rewatches[k]` counts the extra passes separately.
- **drop-off per shot**: viewers whose furthest watched point lies inside a shot (and before the completion
  point), as a share of the viewers who reached the shot, with the shot's prompt and template variables.

Everything is computed from the lesson's events fetched by index and processed in numpy (FIELD-NOTES: SQL
bucketing is 100× slower).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel
from sqlalchemy import Engine

from edusdk.analytics.tables import ShotSegmentPublic

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_CODES = {"play": 1, "pause": 2, "seek": 3, "complete": 4, "terminate": 5}
_CLOSERS = (2, 3, 4, 5)


class LessonMetrics(BaseModel):
    """Per-lesson engagement (definitions in the module docstring)."""

    lesson_id: str
    length_s: float
    sessions: int
    views: int
    unique_viewers: int
    play_rate: float
    watch_time_s: float
    average_view_duration_s: float
    average_percentage_viewed: float
    completions: int
    completion_rate: float
    ratings: int
    average_rating: float | None
    quiz_answers: int
    quiz_correct_rate: float | None


class RetentionCurve(BaseModel):
    """Share of unique viewers at each second (`bucket_s` = 1) and the rewatch passes per viewer."""

    lesson_id: str
    length_s: float
    bucket_s: int = 1
    viewers: int
    retention: list[float]
    rewatches: list[float]

    def as_json(self) -> dict[str, Any]:
        """The CLI contract: `{"lesson_id", "length_s", "bucket_s", "viewers", "retention"}` (+ rewatches)."""
        return self.model_dump()


class ShotDropoff(BaseModel):
    """How many viewers one shot kept and lost."""

    index: int
    shot_id: str
    start_s: float
    end_s: float
    prompt: str
    variables: dict[str, Any]
    reached: int
    retention_start: float
    retention_end: float
    left: int
    dropoff_rate: float


def completion_point(length_s: float) -> float:
    """edX's completion point: max(length − 30 s, 95 % of length)."""
    return max(length_s - 30.0, 0.95 * length_s)


class LessonEvents:
    """One lesson's events as numpy arrays, sorted by session and time, with its watch segments."""

    def __init__(self, engine: Engine, lesson_id: str, length_s: float | None) -> None:
        proxy = engine.raw_connection()
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        try:
            dbapi: Any = proxy.driver_connection
            cursor = dbapi.cursor()
            cursor.execute(
                "SELECT student, session_id, timestamp, id, verb, video_time, time_from, time_to, length_s, score, "
                f"success FROM analytics_events WHERE lesson_id = {mark}",
                (lesson_id,),
            )
            rows = cursor.fetchall()
            cursor.close()
        finally:
            proxy.close()
        self.lesson_id = lesson_id
        n = len(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 11
        students: dict[str, int] = {}
        sessions: dict[str, int] = {}
        self.student = np.fromiter((students.setdefault(s, len(students)) for s in columns[0]), np.int64, n)
        self.session = np.fromiter((sessions.setdefault(s, len(sessions)) for s in columns[1]), np.int64, n)
        self.students, self.sessions = len(students), len(sessions)
        stamp = np.fromiter(columns[2], np.float64, n)
        ids = np.fromiter(columns[3], np.int64, n)
        self.verbs = list(columns[4])
        code = np.fromiter((_CODES.get(v, 0) for v in columns[4]), np.int64, n)
        video = np.array([math.nan if v is None else v for v in columns[5]], dtype=np.float64)
        start_from = np.array([math.nan if v is None else v for v in columns[6]], dtype=np.float64)
        order = np.lexsort((ids, stamp, self.session))
        self.student, self.session, code = self.student[order], self.session[order], code[order]
        video, start_from = video[order], start_from[order]
        self.code = code
        self.scores = [s for s in columns[9] if s is not None]
        self.answers = [bool(s) for s, v in zip(columns[10], columns[4], strict=True) if v == "quiz_answer"]
        lengths = [v for v in columns[8] if v is not None]
        ends = video[~np.isnan(video)]
        self.length_s = float(length_s or (max(lengths) if lengths else (ends.max() if ends.size else 0.0)))
        self._segments(code, video, start_from)

    def _segments(self, code: IntArray, video: FloatArray, time_from: FloatArray) -> None:
        if code.size < 2:
            self.seg_student = self.seg_session = np.zeros(0, np.int64)
            self.seg_start = self.seg_end = np.zeros(0, np.float64)
            return
        same = self.session[:-1] == self.session[1:]
        nxt = code[1:]
        closes_next = same & np.isin(nxt, _CLOSERS)
        # A play opens a segment; so does a seek while playing (the next event closes one without a new play).
        opens = (code[:-1] == 1) | ((code[:-1] == 3) & closes_next)
        pair = opens & closes_next
        idx = np.nonzero(pair)[0]
        start = video[idx]
        end = np.where(nxt[idx] == 3, time_from[idx + 1], video[idx + 1])
        keep = ~np.isnan(start) & ~np.isnan(end) & (end > start)
        idx = idx[keep]
        self.seg_student, self.seg_session = self.student[idx], self.session[idx]
        self.seg_start, self.seg_end = start[keep], np.minimum(end[keep], max(self.length_s, 1e-9))

    # ---- metrics -------------------------------------------------------------------------------------------

    def metrics(self) -> LessonMetrics:
        """Views, viewers, play rate, durations, completion, ratings (definitions: the module docstring)."""
        played = self.code == 1
        view_sessions = np.unique(self.session[played])
        views = int(view_sessions.size)
        viewers = int(np.unique(self.student[played]).size)
        watch = float((self.seg_end - self.seg_start).sum())
        point = completion_point(self.length_s)
        completed = set(self.seg_session[self.seg_end >= point - 1e-6].tolist())
        completed |= set(self.session[self.code == 4].tolist())
        completions = len(completed & set(view_sessions.tolist()))
        avg = watch / views if views else 0.0
        return LessonMetrics(
            lesson_id=self.lesson_id,
            length_s=self.length_s,
            sessions=self.sessions,
            views=views,
            unique_viewers=viewers,
            play_rate=views / self.sessions if self.sessions else 0.0,
            watch_time_s=watch,
            average_view_duration_s=avg,
            average_percentage_viewed=avg / self.length_s if self.length_s else 0.0,
            completions=completions,
            completion_rate=completions / views if views else 0.0,
            ratings=len(self.scores),
            average_rating=float(np.mean(self.scores)) if self.scores else None,
            quiz_answers=len(self.answers),
            quiz_correct_rate=sum(self.answers) / len(self.answers) if self.answers else None,
        )

    def coverage(self) -> tuple[int, IntArray, IntArray, FloatArray]:
        """(viewers, distinct viewers per second, passes per second, furthest second per viewer)."""
        buckets = max(math.ceil(self.length_s - 1e-9), 1)
        viewers = int(np.unique(self.student[self.code == 1]).size)
        first = np.clip(np.floor(self.seg_start).astype(np.int64), 0, buckets)
        last = np.clip(np.ceil(self.seg_end).astype(np.int64), 0, buckets)
        passes = np.bincount(first, minlength=buckets + 1) - np.bincount(last, minlength=buckets + 1)
        passes = np.cumsum(passes)[:buckets]
        # Merge each student's overlapping buckets so a student counts once per second.
        offset = buckets + 2
        s = first + self.seg_student * offset
        e = last + self.seg_student * offset
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
        distinct = np.zeros(buckets + 1, np.int64)
        furthest = np.zeros(0, np.float64)
        if s.size:
            reach = np.maximum.accumulate(e)
            new = np.ones(s.size, bool)
            new[1:] = s[1:] > reach[:-1]
            starts = np.nonzero(new)[0]
            m_start = s[starts]
            m_end = np.maximum.reduceat(e, starts)
            base = (m_start // offset) * offset
            distinct = np.bincount(m_start - base, minlength=buckets + 1) - np.bincount(
                m_end - base, minlength=buckets + 1
            )
            by_student = np.full(self.students, -1.0)
            np.maximum.at(by_student, self.seg_student, self.seg_end)
            furthest = by_student[by_student >= 0]
        return viewers, np.cumsum(distinct)[:buckets], passes, furthest

    def retention(self) -> RetentionCurve:
        """The retention curve, one bucket per second (definition: the module docstring)."""
        viewers, distinct, passes, _ = self.coverage()
        share = distinct / viewers if viewers else np.zeros(distinct.size)
        extra = (passes - distinct) / viewers if viewers else np.zeros(distinct.size)
        return RetentionCurve(
            lesson_id=self.lesson_id,
            length_s=self.length_s,
            viewers=viewers,
            retention=[round(float(v), 6) for v in share],
            rewatches=[round(float(v), 6) for v in extra],
        )

    def dropoff(self, shots: list[ShotSegmentPublic]) -> list[ShotDropoff]:
        """Drop-off per shot of the registered timeline (definition: the module docstring)."""
        viewers, distinct, _, furthest = self.coverage()
        point = completion_point(self.length_s)
        out = []
        for shot in shots:
            first = min(int(shot.start_s), max(distinct.size - 1, 0))
            last = min(max(math.ceil(shot.end_s) - 1, first), max(distinct.size - 1, 0))
            reached = int(distinct[first]) if distinct.size else 0
            left = int(((furthest >= shot.start_s) & (furthest < shot.end_s) & (furthest < point)).sum())
            out.append(
                ShotDropoff(
                    index=shot.index,
                    shot_id=shot.shot_id,
                    start_s=shot.start_s,
                    end_s=shot.end_s,
                    prompt=shot.prompt,
                    variables=dict(shot.variables),
                    reached=reached,
                    retention_start=reached / viewers if viewers else 0.0,
                    retention_end=int(distinct[last]) / viewers if viewers and distinct.size else 0.0,
                    left=left,
                    dropoff_rate=left / reached if reached else 0.0,
                )
            )
        return out
