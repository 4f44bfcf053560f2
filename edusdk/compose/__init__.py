"""Clips → one lesson video: timeline, captions and the single ffmpeg run that joins them.

Example:
    >>> result = render(script, clips, output=Path("out/lesson.mp4"), width=1280, height=720, fps=30)
    >>> result.info.frames, result.captions.name
    (1665, 'lesson.vtt')
"""

from edusdk.compose.burn import caption_style, to_ass
from edusdk.compose.captions import cues_for, to_srt, to_webvtt
from edusdk.compose.extras import Sprite, write_poster, write_sprite
from edusdk.compose.graph import ComposeInput, Join, build_compose_command
from edusdk.compose.quality import QualityFinding, QualityReport, QualityThresholds, check_quality
from edusdk.compose.render import ComposeResult, render
from edusdk.compose.renditions import Rendition, parse_rendition, render_renditions
from edusdk.compose.timeline import build_timeline

__all__ = [
    "ComposeInput",
    "ComposeResult",
    "Join",
    "QualityFinding",
    "QualityReport",
    "QualityThresholds",
    "Rendition",
    "Sprite",
    "build_compose_command",
    "build_timeline",
    "caption_style",
    "check_quality",
    "cues_for",
    "parse_rendition",
    "render",
    "render_renditions",
    "to_ass",
    "to_srt",
    "to_webvtt",
    "write_poster",
    "write_sprite",
]
