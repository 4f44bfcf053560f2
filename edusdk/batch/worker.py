"""What runs on a worker (a pool process or a Ray task): render one lesson, report how it went.

`render_task` never raises for a lesson's own failure: it returns a `TaskOutcome` (done, blocked by the
policy, or failed with the error and whether a retry can help), so executors only carry data back.
Each worker process keeps one `EduClient` per setting, so engines and moderation models load once.

Example:
    >>> outcome = render_task(RenderTask(item_id="v-1", outline=outline.model_dump(mode="json"),
    ...                                  output="out/b/lessons/v-1/lesson.mp4", size="96x54", fps=5))
    >>> outcome.status, outcome.duration_s
    ('done', 12.8)
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from edusdk._errors import BadInputError, PolicyRefusedError, UnsupportedModeError
from edusdk._fs import remove_temporaries
from edusdk.moderation.policy import Policy

OutcomeStatus = Literal["done", "blocked", "failed"]
_CLIENTS: dict[tuple[Any, ...], Any] = {}  # per worker process: one client per settings


@dataclass(frozen=True)
class RenderTask:
    """Everything a worker needs to render one lesson; plain data, so it pickles to processes and Ray."""

    item_id: str
    outline: dict[str, Any]
    output: str
    size: str | None = None
    fps: int = 30
    engine: str = "storyboard"
    engine_options: dict[str, Any] = field(default_factory=dict)
    policy: str | Policy = "k12"
    db: str | None = None


@dataclass(frozen=True)
class TaskOutcome:
    """How one attempt went. `retryable` is False for errors a retry cannot fix (bad input, policy)."""

    item_id: str
    status: OutcomeStatus
    worker: str
    render_s: float
    lesson_id: str | None = None
    video: str | None = None
    manifest: str | None = None
    duration_s: float | None = None
    error: str | None = None
    retryable: bool = False


def worker_name() -> str:
    """`host:pid`, recorded with each attempt."""
    return f"{socket.gethostname()}:{os.getpid()}"


def render_task(task: RenderTask) -> TaskOutcome:
    """Render `task`'s lesson (moderated, written atomically, registered in analytics); never raises for it."""
    from edusdk.models.outline import Outline

    start = time.perf_counter()
    name = worker_name()
    folder = Path(task.output).parent
    try:
        client = _client(task)
        outline = Outline.model_validate(task.outline, context={"base_dir": None})
        remove_temporaries(task.output)  # a killed earlier attempt's; this worker alone writes this lesson
        lesson = client.lessons.render(outline, output=task.output, size=task.size, fps=task.fps)
    except Exception as exc:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: no lesson folder without a lesson in it
        return _failure(task, exc, name, time.perf_counter() - start)
    return TaskOutcome(
        task.item_id,
        "done",
        name,
        time.perf_counter() - start,
        lesson_id=lesson.lesson_id,
        video=str(lesson.video),
        manifest=str(lesson.manifest),
        duration_s=lesson.duration_s,
    )


def _failure(task: RenderTask, exc: Exception, worker: str, seconds: float) -> TaskOutcome:
    if isinstance(exc, PolicyRefusedError):
        return TaskOutcome(task.item_id, "blocked", worker, seconds, error=exc.message)
    if isinstance(exc, BadInputError | UnsupportedModeError):
        return TaskOutcome(task.item_id, "failed", worker, seconds, error=_describe(exc))
    # an engine or ffmpeg error, or a bug: worth another try
    detail = _describe(exc) if os.environ.get("EDUSDK_DEBUG") is None else traceback.format_exc()
    return TaskOutcome(task.item_id, "failed", worker, seconds, error=detail, retryable=True)


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}"


def _client(task: RenderTask) -> Any:
    from edusdk._client import EduClient

    policy_key = task.policy if isinstance(task.policy, str) else task.policy.model_dump_json()
    key = (task.engine, tuple(sorted(task.engine_options.items())), policy_key, task.db)
    if key not in _CLIENTS:
        _CLIENTS[key] = EduClient(
            engine=task.engine, engine_options=task.engine_options, policy=task.policy, db=task.db
        )
    return _CLIENTS[key]
