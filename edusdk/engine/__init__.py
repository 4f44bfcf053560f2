"""Video engines: picked by name (`storyboard`, `diffusers`, `remote`) or passed as objects."""

from __future__ import annotations

from typing import Any

from edusdk._errors import BadInputError
from edusdk.engine.base import ProgressCallback, VideoEngine, require_mode

ENGINE_NAMES = ("storyboard",)


def get_engine(name: str, **options: Any) -> VideoEngine:
    """Build an engine by name.

    Example:
        >>> engine = get_engine("storyboard")
        >>> engine.capabilities.modes
        ('text', 'image', 'still')
    """
    if name == "storyboard":
        from edusdk.engine.storyboard import StoryboardEngine

        return StoryboardEngine(**options)
    raise BadInputError(f"unknown engine {name!r}; available: {', '.join(ENGINE_NAMES)}")


__all__ = ["ENGINE_NAMES", "ProgressCallback", "VideoEngine", "get_engine", "require_mode"]
