"""Audio models shared by narration (text → speech) and compose (the lesson's sound track)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class NarrationClip(BaseModel):
    """One shot's spoken narration: an audio file and how long it really lasts (read from the file)."""

    model_config = ConfigDict(frozen=True)

    shot_id: str
    path: Path
    duration_s: float = Field(gt=0)
    source: str = Field(description="who made it: 'piper:<voice>', 'file', a test double's name…")


class AudioReport(BaseModel):
    """What compose did with the sound: the manifest's `compose.audio` entry."""

    model_config = ConfigDict(frozen=True)

    narrator: str = Field(default="", description="the narrator (voice) of the shots, '' when none spoke")
    narrated_shots: list[str] = Field(default_factory=list)
    speech: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="shot id → (start_s, end_s) of its narration in the final video"
    )
    music: str = Field(default="", description="the background music file, ducked under the narration")
    target_lufs: float = -16.0
    loudness_lufs: float | None = Field(default=None, description="integrated loudness after normalisation")
    true_peak_dbtp: float | None = None
    sample_rate: int = 48000
    codec: str = "aac"
    clip_audio: bool = Field(default=False, description="the clips' own sound (footage), crossfaded like the video")
