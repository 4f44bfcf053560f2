"""Video engines: picked by name (`storyboard`, `diffusers`, `remote`) or passed as objects."""

from __future__ import annotations

from typing import Any

from edusdk._errors import BadInputError
from edusdk.engine.base import ProgressCallback, VideoEngine, require_mode

ENGINE_NAMES = ("storyboard", "diffusers", "remote")


def get_engine(name: str, **options: Any) -> VideoEngine:
    """Build an engine by name.

    Example:
        >>> engine = get_engine("storyboard")
        >>> engine.capabilities.modes
        ('text', 'image', 'still', 'connect')
    """
    if name == "storyboard":
        from edusdk.engine.storyboard import StoryboardEngine

        return StoryboardEngine(**options)
    if name == "remote":
        from edusdk.engine.remote import RemoteEngine

        return RemoteEngine(**options)
    if name == "diffusers":
        from edusdk.engine.diffusers_engine import DiffusersEngine

        model = options.pop("model", None)
        if not model:
            raise BadInputError("engine 'diffusers' needs a model directory", hint="pass model=DIR (CLI: --model DIR)")
        return DiffusersEngine.from_pretrained(model, **options)
    raise BadInputError(f"unknown engine {name!r}; available: {', '.join(ENGINE_NAMES)}")


def __getattr__(name: str) -> Any:
    # DiffusersEngine imports torch lazily; importing it here would make `import edusdk.engine` heavy.
    if name == "DiffusersEngine":
        from edusdk.engine.diffusers_engine import DiffusersEngine

        return DiffusersEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ENGINE_NAMES", "ProgressCallback", "VideoEngine", "get_engine", "require_mode"]
