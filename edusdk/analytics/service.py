"""`client.analytics`: the lesson store plus events, metrics, A/B comparisons, recommendations and privacy.

Example:
    >>> analytics = Analytics(":memory:")
    >>> analytics.record([{"type": "play", "lesson_id": "l1", "student_id": "s1", "session_id": "a",
    ...                    "video_time": 0, "wall_time": "2025-03-01T10:00:00Z"}]).stored
    1
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from edusdk._errors import BadInputError
from edusdk.analytics import abtest, privacy, recommend
from edusdk.analytics.config import AnalyticsConfig
from edusdk.analytics.ingest import BATCH_SIZE, Ingestor, IngestResult
from edusdk.analytics.metrics import LessonEvents, LessonMetrics, RetentionCurve, ShotDropoff
from edusdk.analytics.store import AnalyticsStore
from edusdk.analytics.tables import LessonPublic, LessonRecord, ShotSegmentPublic
from edusdk.models.lesson import Manifest


class Analytics:
    """Everything analytics, on one store (SQLite or PostgreSQL) and one `AnalyticsConfig`."""

    def __init__(
        self,
        url: str | None = None,
        *,
        engine: Engine | None = None,
        config: AnalyticsConfig | None = None,
        store: AnalyticsStore | None = None,
    ) -> None:
        self.store = store if store is not None else AnalyticsStore(url, engine=engine)
        self._config = config

    @property
    def config(self) -> AnalyticsConfig:
        """The settings (from the environment unless given); read on first use."""
        if self._config is None:
            self._config = AnalyticsConfig.from_env()
        return self._config

    @property
    def engine(self) -> Engine:
        return self.store.engine

    @property
    def url(self) -> str:
        return self.store.url

    # ---- the lesson store (lessons.render and the CLI rely on these) -------------------------------------------
    def register_lesson(self, manifest: Manifest, *, manifest_path: Path) -> LessonRecord:
        """See `AnalyticsStore.register_lesson`."""
        return self.store.register_lesson(manifest, manifest_path=manifest_path)

    def list_lessons(self, *, limit: int | None = None) -> list[LessonPublic]:
        """See `AnalyticsStore.list_lessons`."""
        return self.store.list_lessons(limit=limit)

    def get_lesson(self, lesson_id: str) -> LessonPublic | None:
        """See `AnalyticsStore.get_lesson`."""
        return self.store.get_lesson(lesson_id)

    def shot_segments(self, lesson_id: str) -> list[ShotSegmentPublic]:
        """See `AnalyticsStore.shot_segments`."""
        return self.store.shot_segments(lesson_id)

    # ---- events ------------------------------------------------------------------------------------------------
    def record(self, events: Iterable[Any], *, batch_size: int = BATCH_SIZE) -> IngestResult:
        """Store events (Event objects, compact dicts, xAPI statements) in batches; bad ones are kept as rejected.

        Example:
            >>> client.analytics.record([Event(type="play", ...), {"actor": ..., "verb": ...}]).as_json()
            {'stored': 2, 'duplicates': 0, 'rejected': 0, 'errors': []}
        """
        return Ingestor(self.engine, self.config).record(events, batch_size=batch_size)

    def ingest_file(
        self, path: str | Path, *, batch_size: int = BATCH_SIZE, workers: int | None = None
    ) -> IngestResult:
        """Stream a JSON-lines file of events or statements into the store (constant memory); a large file is
        split between `workers` processes (see `Ingestor.ingest_file`)."""
        return Ingestor(self.engine, self.config).ingest_file(path, batch_size=batch_size, workers=workers)

    # ---- metrics -----------------------------------------------------------------------------------------------
    def _events(self, lesson_id: str) -> LessonEvents:
        lesson = self.store.get_lesson(lesson_id)
        events = LessonEvents(self.engine, lesson_id, lesson.duration_s if lesson else None)
        if lesson is None and events.sessions == 0:
            raise BadInputError(
                f"unknown lesson {lesson_id!r}: not registered and no events",
                hint="`edusdk analytics lessons` lists the registered lessons",
            )
        return events

    def lesson_metrics(self, lesson_id: str) -> LessonMetrics:
        """Views, unique viewers, play rate, view duration, % viewed, completion (edX), ratings of a lesson."""
        return self._events(lesson_id).metrics()

    def retention(self, lesson_id: str) -> RetentionCurve:
        """The lesson's retention curve, one bucket per second (see `edusdk.analytics.metrics`)."""
        return self._events(lesson_id).retention()

    def dropoff(self, lesson_id: str) -> list[ShotDropoff]:
        """Drop-off per shot of the lesson's registered timeline, with each shot's prompt and variables."""
        return self._events(lesson_id).dropoff(self.store.shot_segments(lesson_id))

    def groups(self, by: str = "template") -> list[abtest.GroupMetrics]:
        """Completion and watch time per template, per lesson, or per value of a template variable."""
        return abtest.group_metrics(self.engine, by)

    def compare(self, by: str = "template", values: list[str] | None = None) -> abtest.Comparison:
        """A/B(/n) test of completion between the groups of `by` (optionally only `values`, first = baseline)."""
        groups = abtest.group_metrics(self.engine, by)
        if values:
            order = {v: i for i, v in enumerate(values)}
            groups = sorted((g for g in groups if g.value in order), key=lambda g: order[g.value])
        return abtest.compare(groups, by=by)

    # ---- students ----------------------------------------------------------------------------------------------
    def student_progress(self, student_id: str) -> list[recommend.LessonProgress]:
        """The student's lessons, most recent first, with struggling reasons."""
        return recommend.student_progress(self.store, self.config, student_id)

    def struggling_topics(self, student_id: str) -> list[recommend.LessonProgress]:
        """The lessons the student struggles with (low completion, re-watches, wrong quiz answers)."""
        return [p for p in self.student_progress(student_id) if p.struggling]

    def recommend_next(self, student_id: str) -> recommend.Recommendation:
        """The next lesson or variant for the student, with the reason (or a request to generate one)."""
        return recommend.recommend_next(self.store, self.config, student_id)

    # ---- privacy -----------------------------------------------------------------------------------------------
    def forget(self, student_id: str) -> int:
        """Delete every row held about the student and log the deletion; the number of rows deleted."""
        return privacy.forget_student(self.engine, self.config, student_id)

    def export(self, student_id: str) -> dict[str, Any]:
        """Everything held about the student, as xAPI statements (plus any rejected events)."""
        return privacy.export_student(self.engine, self.config, student_id)

    def apply_retention(self, days: float | None = None) -> int:
        """Delete events older than `days` (default: the configured retention; none configured → nothing)."""
        days = days if days is not None else self.config.retention_days
        return 0 if days is None else privacy.purge_older_than(self.engine, days)

    def deletions(self) -> list[dict[str, Any]]:
        """The deletion log."""
        return privacy.deletion_log(self.engine)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    def __enter__(self) -> Analytics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
