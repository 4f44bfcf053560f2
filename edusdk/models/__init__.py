"""Pydantic v2 models shared by every layer."""

from edusdk.models.engine import Clip, EngineCapabilities, ShotRequest
from edusdk.models.lesson import CaptionCue, Lesson, Manifest, TimelineEntry, VideoInfo
from edusdk.models.moderation import Decision, Finding, ModerationReport
from edusdk.models.outline import CastMember, Outline, Section, VariantMatrix
from edusdk.models.script import (
    SHOT_MODES,
    TRANSITION_NAMES,
    XFADE_TRANSITIONS,
    Camera,
    OnScreen,
    Script,
    Shot,
    ShotMode,
    Transition,
)

__all__ = [
    "SHOT_MODES",
    "TRANSITION_NAMES",
    "XFADE_TRANSITIONS",
    "Camera",
    "CaptionCue",
    "CastMember",
    "Clip",
    "Decision",
    "EngineCapabilities",
    "Finding",
    "Lesson",
    "Manifest",
    "ModerationReport",
    "OnScreen",
    "Outline",
    "Script",
    "Section",
    "Shot",
    "ShotMode",
    "ShotRequest",
    "TimelineEntry",
    "Transition",
    "VariantMatrix",
    "VideoInfo",
]
