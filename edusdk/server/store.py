"""Video jobs persisted as one JSON file per job under the data directory, written atomically.

    DATA_DIR/videos/<video id>/job.json        the job (status, progress, request, owner)
                              /video.mp4       the finished video
                              /thumbnail.jpg   its first frame
                              /inputs/…        uploads, re-encoded under server-chosen names

Ids are server-generated (`video_` + 32 hex digits) and checked against that pattern before any path
is built from them, so nothing a client sends reaches the filesystem. On start-up, a job that was
`in_progress` (the server stopped mid-render) is marked failed; `queued` jobs are queued again.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from edusdk._fs import write_text_atomic

VideoStatus = Literal["queued", "in_progress", "completed", "failed"]
VIDEO_ID = re.compile(r"^video_[0-9a-f]{32}$")
JOB_FILE, VIDEO_FILE, THUMBNAIL_FILE, INPUTS_DIR = "job.json", "video.mp4", "thumbnail.jpg", "inputs"


def new_video_id() -> str:
    return "video_" + secrets.token_hex(16)


class VideoError(BaseModel):
    code: str
    message: str


class VideoJob(BaseModel):
    """A job as stored. `public()` is what clients see (the OpenAI `Video` object plus edusdk's fields)."""

    id: str = Field(pattern=VIDEO_ID.pattern)
    seq: int = 0  # creation order: ties in created_at (seconds) still sort and paginate exactly
    owner: str
    model: str
    prompt: str
    status: VideoStatus = "queued"
    progress: int = 0
    created_at: int = Field(default_factory=lambda: int(time.time()))
    completed_at: int | None = None
    size: str
    seconds: str
    error: VideoError | None = None
    remixed_from_video_id: str | None = None
    mode: str = "text"
    fps: int
    num_frames: int
    seed: int = 0
    negative_prompt: str = ""
    on_screen: dict[str, Any] = Field(default_factory=dict)
    strength: float = 0.6
    extend_direction: str = "forward"
    inputs: dict[str, str] = Field(default_factory=dict, description="ShotRequest field → file name in inputs/")
    idempotency_key: str | None = None
    request_hash: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id, "object": "video", "model": self.model, "status": self.status, "progress": self.progress,
            "created_at": self.created_at, "completed_at": self.completed_at, "expires_at": None,
            "size": self.size, "seconds": self.seconds, "prompt": self.prompt,
            "error": self.error.model_dump() if self.error else None,
            "remixed_from_video_id": self.remixed_from_video_id,
            "mode": self.mode, "fps": self.fps, "num_frames": self.num_frames, "seed": self.seed,
        }  # fmt: skip


def request_hash(fields: dict[str, Any]) -> str:
    """A digest of a create request's fields: a reused Idempotency-Key with another body is refused."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


class JobStore:
    """All jobs, in memory and on disk. Thread-safe: engine threads report progress through it."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir).absolute() / "videos"
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._jobs: dict[str, VideoJob] = {}
        self._idempotency: dict[tuple[str, str], str] = {}
        self.requeue: list[str] = []
        self._seq = 0
        self._load()

    def _load(self) -> None:
        for job_file in sorted(self.root.glob(f"video_*/{JOB_FILE}")):
            try:
                job = VideoJob.model_validate_json(job_file.read_text(encoding="utf-8"))
            except (OSError, ValidationError):
                continue  # a half-deleted or foreign directory: not a job
            if job.status == "in_progress":
                job.status, job.completed_at = "failed", int(time.time())
                job.error = VideoError(code="server_restarted", message="the server stopped while rendering this video")
                self._write(job)
            self._add(job)
        queued = sorted((j for j in self._jobs.values() if j.status == "queued"), key=lambda j: j.seq)
        self.requeue = [j.id for j in queued]

    def _add(self, job: VideoJob) -> None:
        self._jobs[job.id] = job
        self._seq = max(self._seq, job.seq)
        if job.idempotency_key:
            self._idempotency[(job.owner, job.idempotency_key)] = job.id

    def directory(self, video_id: str) -> Path:
        """The job's directory; `video_id` must match VIDEO_ID (callers check ownership first)."""
        if not VIDEO_ID.match(video_id):
            raise ValueError(f"not a video id: {video_id!r}")
        return self.root / video_id

    def _write(self, job: VideoJob) -> None:
        write_text_atomic(self.directory(job.id) / JOB_FILE, job.model_dump_json(indent=1))

    def insert(self, job: VideoJob) -> VideoJob:
        with self._lock:
            self._seq += 1
            job.seq = self._seq
            self._write(job)
            self._add(job)
        return job

    def save(self, job: VideoJob) -> None:
        with self._lock:
            if job.id in self._jobs:  # a job deleted while it rendered stays deleted
                self._write(job)

    def set_progress(self, video_id: str, progress: int) -> None:
        """In memory only: clients poll the live value; the file is written at each status change."""
        job = self._jobs.get(video_id)
        if job is not None and job.status == "in_progress":
            job.progress = max(job.progress, min(99, progress))

    def get(self, video_id: str, owner: str | None = None) -> VideoJob | None:
        """The job, or None if it does not exist or belongs to another owner (the caller answers 404)."""
        job = self._jobs.get(video_id) if VIDEO_ID.match(video_id) else None
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job

    def by_idempotency_key(self, owner: str, key: str) -> VideoJob | None:
        found = self._idempotency.get((owner, key))
        return self._jobs.get(found) if found else None

    def list(self, owner: str, *, after: str | None, limit: int, order: str) -> tuple[list[VideoJob], bool]:
        """One page of `owner`'s jobs after the cursor `after`, and whether more follow."""
        jobs = sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.seq,
                      reverse=order == "desc")  # fmt: skip
        if after is not None:
            cursor = self.get(after, owner)
            if cursor is None:
                return [], False
            jobs = [j for j in jobs if (j.seq < cursor.seq if order == "desc" else j.seq > cursor.seq)]
        return jobs[:limit], len(jobs) > limit

    def delete(self, video_id: str) -> None:
        with self._lock:
            job = self._jobs.pop(video_id, None)
            if job is not None and job.idempotency_key:
                self._idempotency.pop((job.owner, job.idempotency_key), None)
            shutil.rmtree(self.directory(video_id), ignore_errors=True)

    def counts(self) -> dict[str, int]:
        out = {"queued": 0, "in_progress": 0, "completed": 0, "failed": 0}
        for job in list(self._jobs.values()):
            out[job.status] += 1
        return out
