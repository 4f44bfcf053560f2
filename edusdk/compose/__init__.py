"""Clips → one lesson video: timeline, captions and the single ffmpeg run that joins them.

Example:
    >>> result = render(script, clips, output=Path("out/lesson.mp4"), width=1280, height=720, fps=30)
    >>> result.info.frames, result.captions.name
    (1665, 'lesson.vtt')
"""

from edusdk.compose.captions import cues_for, to_srt, to_webvtt
from edusdk.compose.graph import ComposeInput, Join, build_compose_command
from edusdk.compose.render import ComposeResult, render
from edusdk.compose.timeline import build_timeline

__all__ = [
    "ComposeInput",
    "ComposeResult",
    "Join",
    "build_compose_command",
    "build_timeline",
    "cues_for",
    "render",
    "to_srt",
    "to_webvtt",
]
