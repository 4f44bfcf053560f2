"""edusdk: lesson outlines in, moderated lesson videos out, and analytics on how students watch them.

Example:
    >>> from edusdk import EduClient, Outline
    >>> client = EduClient()
    >>> lesson = client.lessons.render(Outline.from_file("examples/outlines/photosynthesis.yaml"), output="lesson.mp4")
"""

from typing import TYPE_CHECKING

from edusdk._errors import (
    BadInputError,
    EduSDKError,
    EngineError,
    MediaError,
    OutlineError,
    OutputPathError,
    PolicyRefusedError,
    ScriptTemplateError,
    UnsupportedModeError,
)
from edusdk._lazy import lazy_attributes
from edusdk._version import __version__
from edusdk.models import (
    Camera,
    CaptionCue,
    CastMember,
    Clip,
    EngineCapabilities,
    Finding,
    Lesson,
    Manifest,
    ModerationReport,
    OnScreen,
    Outline,
    Script,
    Section,
    Shot,
    ShotRequest,
    TimelineEntry,
    Transition,
)

if TYPE_CHECKING:
    from edusdk._client import AsyncEduClient, EduClient
    from edusdk._lessons import RenderProgress

# The client (and through it the engines, composer and moderation) is imported on first use, so that a process
# needing one part of edusdk (an analytics ingest worker, `edusdk --help`) does not pay for all of it.
_LAZY = {"AsyncEduClient": "edusdk._client", "EduClient": "edusdk._client", "RenderProgress": "edusdk._lessons"}

__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "AsyncEduClient",
    "BadInputError",
    "Camera",
    "CaptionCue",
    "CastMember",
    "Clip",
    "EduClient",
    "EduSDKError",
    "EngineCapabilities",
    "EngineError",
    "Finding",
    "Lesson",
    "Manifest",
    "MediaError",
    "ModerationReport",
    "OnScreen",
    "Outline",
    "OutlineError",
    "OutputPathError",
    "PolicyRefusedError",
    "RenderProgress",
    "Script",
    "ScriptTemplateError",
    "Section",
    "Shot",
    "ShotRequest",
    "TimelineEntry",
    "Transition",
    "UnsupportedModeError",
    "__version__",
]
