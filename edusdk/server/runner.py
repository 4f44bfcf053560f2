"""The job queue: a bounded number of renders at once (one per GPU), each in a worker thread.

Jobs run in the server's own tasks, so a client that disconnects does not stop its render. The
engine's `on_progress` fraction becomes the job's `progress` (0–99 while rendering, 100 when done).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from edusdk._errors import BadInputError, EduSDKError, UnsupportedModeError
from edusdk._media import probe, run_ffmpeg
from edusdk.engine.base import VideoEngine
from edusdk.models.engine import ShotRequest
from edusdk.models.script import OnScreen
from edusdk.server.store import INPUTS_DIR, THUMBNAIL_FILE, VIDEO_FILE, JobStore, VideoError, VideoJob

log = logging.getLogger("edusdk.server")


def shot_request(job: VideoJob, directory: Path) -> ShotRequest:
    """The engine request for a job: its fields, and its uploads as paths inside the job's directory."""
    width, height = (int(v) for v in job.size.split("x"))
    files = {name: directory / INPUTS_DIR / file for name, file in job.inputs.items()}
    return ShotRequest(
        shot_id=job.id, mode=job.mode, prompt=job.prompt, negative_prompt=job.negative_prompt,  # type: ignore[arg-type]
        width=width, height=height, fps=job.fps, num_frames=job.num_frames, seed=job.seed,
        on_screen=OnScreen.model_validate({**job.on_screen, "image": files.get("image")}),
        image=files.get("image"), end_image=files.get("end_image"), video=files.get("video"),
        strength=job.strength, extend_direction=job.extend_direction,
    )  # fmt: skip


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, UnsupportedModeError):
        return "unsupported_mode"
    if isinstance(exc, BadInputError):
        return "invalid_request"
    if isinstance(exc, EduSDKError):
        return "render_failed"
    return "internal_error"


class JobRunner:
    """Owns the queue and the worker tasks; `start` in the app's lifespan, `stop` at shutdown."""

    def __init__(self, engine: VideoEngine, store: JobStore, *, concurrency: int = 1) -> None:
        self.engine = engine
        self.store = store
        self.concurrency = max(1, concurrency)
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.running = 0
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for video_id in self.store.requeue:
            self.queue.put_nowait(video_id)
        self._tasks = [asyncio.create_task(self._work(), name=f"edusdk-render-{i}") for i in range(self.concurrency)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def submit(self, job: VideoJob) -> None:
        self.queue.put_nowait(job.id)

    @property
    def pending(self) -> int:
        return self.queue.qsize() + self.running

    async def _work(self) -> None:
        while True:
            video_id = await self.queue.get()
            job = self.store.get(video_id)
            if job is None or job.status != "queued":
                continue  # deleted while queued
            self.running += 1
            try:
                await self._render(job)
            finally:
                self.running -= 1

    async def _render(self, job: VideoJob) -> None:
        job.status, job.progress = "in_progress", 0
        self.store.save(job)
        directory = self.store.directory(job.id)
        try:
            await asyncio.to_thread(self._render_sync, job, directory)
        except Exception as exc:  # every failure becomes the job's error; the server keeps serving
            if not isinstance(exc, EduSDKError):
                log.exception("render of %s failed", job.id)
            job.status, job.error = "failed", VideoError(code=_error_code(exc), message=str(exc)[:2000])
        else:
            job.status, job.progress = "completed", 100
        job.completed_at = int(time.time())
        if self.store.get(job.id) is None:
            self.store.delete(job.id)  # deleted while rendering: remove what the render left
        else:
            self.store.save(job)

    def _render_sync(self, job: VideoJob, directory: Path) -> None:
        request = shot_request(job, directory)
        clip = self.engine.generate(request, output=directory / VIDEO_FILE,
                                    on_progress=lambda f: self.store.set_progress(job.id, int(f * 100)))  # fmt: skip
        info = probe(clip.path)
        job.num_frames = info.frames
        run_ffmpeg(["-y", "-i", str(clip.path), "-frames:v", "1", "-q:v", "4", str(directory / THUMBNAIL_FILE)],
                   what=f"writing the thumbnail of {job.id}")  # fmt: skip
