"""Run a batch: matrix → job store → executor, with retries, resumption and a summary.

Layout of the output directory::

    DIR/batch.db                       the job store (every lesson's state, attempts, error, timings, paths)
    DIR/lessons/<lesson id>/lesson.mp4 (+ lesson.json, lesson.vtt) one folder per lesson, named by its stable id
    DIR/summary.json                   the last run's summary

Starting a batch in a directory that already holds one is refused unless `resume=True`; resuming re-runs
the lessons that were `pending`, `running` (interrupted) or `failed`, never those `done` or `blocked`.
A failed attempt that a retry may fix (engine, ffmpeg or worker crash) is retried up to `retries` times,
waiting `backoff_s * 2**(n-1)` seconds (at most 60) before retry n; bad input and policy refusals are not.

Example:
    >>> summary = run_batch("examples/batch/fractions-matrix.yaml", "out/fractions", workers=2, size="128x72")
    >>> summary.counts, summary.ok
    ({'pending': 0, 'running': 0, 'done': 108, 'blocked': 0, 'failed': 0}, True)
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import make_url

from edusdk._errors import BadInputError
from edusdk._fs import write_text_atomic
from edusdk.analytics.connect import database_url
from edusdk.batch.executors import check_executor, make_executor
from edusdk.batch.matrix import BatchMatrix, load_matrix
from edusdk.batch.store import FINAL_STATES, STORE_FILE, BatchLessonPublic, JobStore
from edusdk.batch.worker import RenderTask, TaskOutcome
from edusdk.moderation.policy import Policy

DEFAULT_RETRIES = 2
DEFAULT_BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0
_POLL_S = 0.5


@dataclass(frozen=True)
class BatchResult:
    """One lesson's final (or, in events, current) state."""

    item_id: str
    title: str
    state: str
    variables: dict[str, Any]
    attempts: int
    lesson_id: str | None = None
    video: str | None = None
    manifest: str | None = None
    duration_s: float | None = None
    error: str | None = None
    worker: str | None = None

    @classmethod
    def from_row(cls, row: BatchLessonPublic) -> BatchResult:
        return cls(
            row.item_id,
            row.title,
            row.state,
            dict(row.variables),
            row.attempts,
            row.lesson_id,
            row.video,
            row.manifest,
            row.duration_s,
            row.error,
            row.worker,
        )


@dataclass(frozen=True)
class BatchEvent:
    """Progress: `started` (handed to a worker), `retry` (failed, will run again), `finished` (a final state),
    `skipped` (final before this run began). `counts` is the store's state after the event."""

    kind: Literal["started", "retry", "finished", "skipped"]
    result: BatchResult
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class BatchSummary:
    """What a run did: counts by state, video seconds rendered, wall time, failures with their reasons."""

    output_dir: str
    executor: str
    workers: int
    total: int
    counts: dict[str, int]
    rendered: int
    video_s: float
    wall_s: float
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every lesson done (none failed or blocked)."""
        return self.counts.get("done", 0) == self.total

    @property
    def lessons_per_min(self) -> float:
        return self.rendered / self.wall_s * 60 if self.wall_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "ok": self.ok,
            "lessons_per_min": round(self.lessons_per_min, 2),
            "video_s": round(self.video_s, 3),
            "wall_s": round(self.wall_s, 3),
        }


def run_batch(
    matrix: BatchMatrix | str | Path,
    output_dir: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    resume: bool = False,
    size: str | None = None,
    fps: int | None = None,
    engine: str | None = None,
    engine_options: dict[str, Any] | None = None,
    policy: str | Policy | None = None,
    db: str | None = None,
    retries: int = DEFAULT_RETRIES,
    backoff_s: float = DEFAULT_BACKOFF_S,
    on_event: Callable[[BatchEvent], None] | None = None,
) -> BatchSummary:
    """Render every lesson of `matrix` into `output_dir` (see the module docstring); returns the summary.

    Settings come from the arguments, else the matrix's `render:` section, else the defaults (the outline's
    aspect at 720p, 30 fps, storyboard, k12). A resumed batch keeps the settings it started with.

    Example:
        >>> run_batch(load_matrix("m.yaml"), "out/m", resume=True, on_event=print).ok
        True
    """
    started = time.perf_counter()
    loaded = matrix if isinstance(matrix, BatchMatrix) else load_matrix(matrix)
    if retries < 0:
        raise BadInputError(f"retries must be 0 or more (got {retries})")
    check_executor(executor, workers=workers, address=address)
    out = Path(output_dir).expanduser().absolute()
    wanted: dict[str, Any] = {
        "executor": executor,
        "size": size or loaded.render.size,
        "fps": fps or loaded.render.fps or 30,
        "engine": engine or loaded.render.engine or "storyboard",
    }
    policy = policy or loaded.render.policy or "k12"
    wanted["policy"] = policy if isinstance(policy, str) else policy.name
    store = _open_store(out, loaded, wanted, resume=resume, explicit={"size": size, "fps": fps, "engine": engine})
    db = _absolute_database(db)  # workers (Ray's especially) may run in another working directory
    _prepare_database(db, policy)
    try:
        info = store.info()
        settings = dict(info.settings) if info is not None else wanted
        emit = on_event or (lambda _e: None)
        total = len(loaded.items)
        by_id = {item.item_id: item for item in loaded.items}
        for row in store.lessons():
            if row.state in ("done", "blocked"):
                emit(BatchEvent("skipped", BatchResult.from_row(row), store.counts(), total))

        def task(item_id: str) -> RenderTask:
            return RenderTask(
                item_id=item_id,
                outline=by_id[item_id].outline.model_dump(mode="json"),
                output=str(out / "lessons" / item_id / "lesson.mp4"),
                size=settings["size"],
                fps=settings["fps"],
                engine=settings["engine"],
                engine_options=engine_options or {},
                policy=policy,
                db=db,
            )

        rendered = 0
        with make_executor(executor, workers=workers, engine=settings["engine"], address=address) as pool:
            slots = pool.slots
            queue = deque(store.pending())
            waiting: list[tuple[float, str]] = []  # (ready at, item id): retries backing off
            tries: dict[str, int] = {}
            while queue or waiting or pool.in_flight():
                now = time.monotonic()
                while waiting and waiting[0][0] <= now:
                    queue.append(heapq.heappop(waiting)[1])
                while queue and pool.in_flight() < pool.slots:
                    item_id = queue.popleft()
                    tries[item_id] = tries.get(item_id, 0) + 1
                    store.mark_running(item_id)
                    pool.submit(task(item_id))
                    emit(_event("started", store, item_id, total))
                timeout = _POLL_S if not waiting else max(0.01, min(_POLL_S, waiting[0][0] - now))
                if not pool.in_flight():
                    time.sleep(timeout)
                    continue
                for outcome in pool.wait(timeout):
                    kind = _record(store, outcome, retry=outcome.retryable and tries[outcome.item_id] <= retries)
                    rendered += outcome.status == "done"
                    if kind == "retry":
                        delay = min(MAX_BACKOFF_S, backoff_s * 2 ** (tries[outcome.item_id] - 1))
                        heapq.heappush(waiting, (time.monotonic() + delay, outcome.item_id))
                    emit(_event(kind, store, outcome.item_id, total))
        summary = _summary(
            store, out, executor=executor, workers=slots, rendered=rendered, wall_s=time.perf_counter() - started
        )
        write_text_atomic(out / "summary.json", _dumps(summary.as_json()))
        return summary
    finally:
        store.close()


def batch_status(output_dir: str | Path) -> BatchSummary:
    """The state of the batch in `output_dir`, from its job store (nothing runs).

    Example:
        >>> batch_status("out/fractions").counts
        {'pending': 40, 'running': 2, 'done': 66, 'blocked': 0, 'failed': 0}
    """
    out = Path(output_dir).expanduser().absolute()
    if not JobStore.exists(out):
        raise BadInputError(f"{out} holds no batch ({STORE_FILE} not found)")
    store = JobStore(out / STORE_FILE)
    try:
        info = store.info()
        settings = info.settings if info is not None else {}
        return _summary(store, out, executor=str(settings.get("executor", "")), workers=0, rendered=0, wall_s=0.0)
    finally:
        store.close()


def batch_results(output_dir: str | Path) -> list[BatchResult]:
    """Every lesson of the batch in `output_dir` with its state and output paths, in matrix order."""
    out = Path(output_dir).expanduser().absolute()
    if not JobStore.exists(out):
        raise BadInputError(f"{out} holds no batch ({STORE_FILE} not found)")
    store = JobStore(out / STORE_FILE)
    try:
        return [BatchResult.from_row(row) for row in store.lessons()]
    finally:
        store.close()


def _open_store(
    out: Path, matrix: BatchMatrix, wanted: dict[str, Any], *, resume: bool, explicit: dict[str, Any]
) -> JobStore:
    if out.exists() and not out.is_dir():
        raise BadInputError(f"output {out} is a file; give a directory")
    out.mkdir(parents=True, exist_ok=True)
    store = JobStore(out / STORE_FILE)
    info = store.info()  # None also when a kill came before the batch's first commit: start it afresh
    if info is not None and not resume:
        store.close()
        raise BadInputError(f"{out} already holds a batch", hint="pass --resume to finish it, or pick a new directory")
    if info is None:
        store.create(source=matrix.source, fingerprint=matrix.fingerprint, settings=wanted, items=matrix.items)
        return store
    problems = []
    if info.fingerprint != matrix.fingerprint:
        problems.append(f"the matrix {matrix.source} is not the one this batch started with ({info.source})")
    problems += [
        f"{name} {value!r} differs from the batch's {info.settings.get(name)!r}"
        for name, value in explicit.items()
        if value is not None and value != info.settings.get(name)
    ]
    if problems:
        store.close()
        raise BadInputError(f"cannot resume {out}: " + "; ".join(problems), hint="start a new output directory")
    store.reset_interrupted()
    missing = [r.item_id for r in store.lessons(state="done") if not (r.video and Path(r.video).is_file())]
    if missing:  # done once, but the files are gone: render them again
        store.requeue(missing)
    return store


def _prepare_database(db: str, policy: str | Policy) -> None:
    """Create the analytics and moderation-audit tables once, here: workers that all create them at their first
    lesson race on CREATE TABLE (SQLite answers 'table already exists' to the loser)."""
    from edusdk._client import EduClient

    with EduClient(db=db, policy=policy) as client:
        client.moderation.audit.engine  # noqa: B018 - creates the audit tables (and, through it, the analytics ones)
        client.analytics.store.engine  # noqa: B018


def _absolute_database(db: str | None) -> str:
    url = make_url(database_url(db))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return str(url.set(database=str(Path(url.database or "").expanduser().absolute())))
    return url.render_as_string(hide_password=False)


def _record(store: JobStore, outcome: TaskOutcome, *, retry: bool) -> Literal["finished", "retry"]:
    if outcome.status == "done":
        assert outcome.lesson_id and outcome.video and outcome.manifest and outcome.duration_s is not None
        store.mark_done(
            outcome.item_id,
            lesson_id=outcome.lesson_id,
            video=outcome.video,
            manifest=outcome.manifest,
            duration_s=outcome.duration_s,
            render_s=outcome.render_s,
            worker=outcome.worker,
        )
        return "finished"
    if outcome.status == "blocked":
        store.mark_blocked(
            outcome.item_id, error=outcome.error or "blocked", render_s=outcome.render_s, worker=outcome.worker
        )
        return "finished"
    store.mark_failed(
        outcome.item_id,
        error=outcome.error or "failed",
        render_s=outcome.render_s,
        final=not retry,
        worker=outcome.worker,
    )
    return "retry" if retry else "finished"


def _event(kind: Literal["started", "retry", "finished"], store: JobStore, item_id: str, total: int) -> BatchEvent:
    row = store.get(item_id)
    assert row is not None
    return BatchEvent(kind, BatchResult.from_row(row), store.counts(), total)


def _summary(store: JobStore, out: Path, *, executor: str, workers: int, rendered: int, wall_s: float) -> BatchSummary:
    rows = store.lessons()
    failures = [
        {
            "item_id": r.item_id,
            "title": r.title,
            "state": r.state,
            "attempts": r.attempts,
            "error": r.error,
            "variables": r.variables,
        }
        for r in rows
        if r.state in ("failed", "blocked")
    ]
    return BatchSummary(
        output_dir=str(out),
        executor=executor,
        workers=workers,
        total=len(rows),
        counts=store.counts(),
        rendered=rendered,
        video_s=sum(r.duration_s or 0.0 for r in rows if r.state == "done"),
        wall_s=wall_s,
        failures=failures,
    )


def _dumps(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n"


__all__ = ["FINAL_STATES", "BatchEvent", "BatchResult", "BatchSummary", "batch_results", "batch_status", "run_batch"]
