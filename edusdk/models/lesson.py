"""A rendered lesson: the video, its manifest (`lesson.json`) and its shot timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edusdk.models.moderation import ModerationReport
from edusdk.models.script import Script


class TimelineEntry(BaseModel):
    """Where a shot sits in the final video.

    `start_s`/`end_s` partition the video (a transition is split at its middle), so every second of
    the video belongs to exactly one shot — this is what analytics attributes engagement to.
    `visible_start_s`/`visible_end_s` include the transition overlaps where the shot is partly on screen.
    """

    model_config = ConfigDict(extra="forbid")

    index: int
    shot_id: str
    start_s: float
    end_s: float
    visible_start_s: float
    visible_end_s: float
    transition_out: str = "cut"
    prompt: str = ""
    narration: str = ""
    variables: dict[str, str | int | float] = Field(default_factory=dict)


class CaptionCue(BaseModel):
    """One subtitle cue on the final timeline."""

    start_s: float
    end_s: float
    text: str


class VideoInfo(BaseModel):
    """What the rendered file really is (probed, not assumed)."""

    path: Path
    duration_s: float
    width: int
    height: int
    fps: float
    frames: int
    codec: str
    size_bytes: int
    subtitle_tracks: int = 0
    audio_tracks: int = 0


class Manifest(BaseModel):
    """The `lesson.json` written beside `lesson.mp4`."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    lesson_id: str
    title: str
    outline_hash: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    video: VideoInfo
    captions: Path
    timeline: list[TimelineEntry]
    engine: dict[str, Any]
    moderation: ModerationReport
    provenance: dict[str, Any] = Field(default_factory=lambda: {"status": "unsigned", "ai_generated": True})
    tools: dict[str, str] = Field(default_factory=dict)
    compose: dict[str, Any] = Field(default_factory=dict, description="how the video was joined: smart or full")
    script: Script


class Lesson(BaseModel):
    """What `client.lessons.render` returns."""

    model_config = ConfigDict(extra="forbid")

    lesson_id: str
    video: Path
    manifest: Path
    captions: Path
    duration_s: float
    timeline: list[TimelineEntry]
    moderation: ModerationReport
    script: Script

    @property
    def publishable(self) -> bool:
        return self.moderation.decision == "allow"
