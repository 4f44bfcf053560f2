"""The engine contract: every engine (storyboard, diffusers, remote) is a VideoEngine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from edusdk._errors import UnsupportedModeError
from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest

ProgressCallback = Callable[[float], None]
"""Called with the fraction done (0.0–1.0) of the current request."""


@runtime_checkable
class VideoEngine(Protocol):
    """A video engine.

    `generate` writes the clip to `output` (an .mp4 path chosen by the caller) and returns its
    description. A mode not in `capabilities.modes` raises UnsupportedModeError.
    """

    name: str

    @property
    def capabilities(self) -> EngineCapabilities: ...

    def generate(self, request: ShotRequest, *, output: Path, on_progress: ProgressCallback | None = None) -> Clip: ...


def require_mode(engine: VideoEngine, request: ShotRequest) -> None:
    """Raise UnsupportedModeError unless `engine` supports `request.mode`."""
    caps = engine.capabilities
    if request.mode not in caps.modes:
        raise UnsupportedModeError(engine.name, request.mode, caps.modes)
