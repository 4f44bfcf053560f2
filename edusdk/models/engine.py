"""What an engine is asked for (ShotRequest), what it returns (Clip) and what it can do (capabilities)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from edusdk.models.script import OnScreen, ShotMode


class EngineCapabilities(BaseModel):
    """What an engine can do, known before any request is made."""

    model_config = ConfigDict(frozen=True)

    name: str
    modes: tuple[ShotMode, ...]
    min_size: int = 16
    max_size: int = 4096
    size_multiple: int = Field(default=2, description="width and height are snapped to multiples of this")
    max_frames: int = 3600
    fps: tuple[int, ...] = (24, 25, 30)


class ShotRequest(BaseModel):
    """One clip to generate. `on_screen` is for engines that draw text (storyboard); others ignore it."""

    model_config = ConfigDict(extra="forbid")

    shot_id: str
    mode: ShotMode = "text"
    prompt: str
    negative_prompt: str = ""
    width: int = Field(ge=16, le=8192)
    height: int = Field(ge=16, le=8192)
    fps: int = Field(ge=1, le=120)
    num_frames: int = Field(ge=1)
    seed: int = Field(ge=0, lt=2**32)
    on_screen: OnScreen = Field(default_factory=OnScreen)
    image: Path | None = Field(default=None, description="first-frame image (image mode, continuity)")
    end_image: Path | None = Field(default=None, description="last-frame image (connect mode)")
    video: Path | None = Field(default=None, description="input clip (video, extend modes)")
    strength: float = Field(default=0.6, ge=0, le=1, description="how far video mode departs from the input")
    extend_direction: str = Field(default="forward", pattern="^(forward|backward)$")
    keyframes: list[NonNegativeInt] = Field(
        default_factory=list,
        description="frame indices that must be keyframes (closed-GOP starts), in addition to the engine's 1 s "
        "grid: where the lesson's transitions start and end, so compose's smart render re-encodes only the "
        "transitions; indices at or past num_frames are ignored",
    )

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps


class Clip(BaseModel):
    """A generated clip on disk."""

    model_config = ConfigDict(extra="forbid")

    shot_id: str
    path: Path
    width: int
    height: int
    fps: int
    num_frames: int
    engine: str
    model: str = ""
    seed: int
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps
