"""Burned-in captions: the cues as an ASS script styled in the frame's own pixels, drawn by libass.

The style is computed from the frame size, so it reads the same at 160x90 and at 3840x2160 and in every
aspect ratio: the font is 5.5 % of the frame height, narrowed so a full 42-character line still fits
90 % of the width (9:16 portrait), on a half-opaque black box (`BorderStyle=3`) with safe margins of
5 % at the sides and 6 % at the bottom (14 % in portrait, above the controls that phone players lay
over the lower part of a vertical video). The font is DejaVu Sans from matplotlib's bundled fonts, passed
to libass as `fontsdir`, so burning works on machines with no system fonts at all.

Example:
    >>> style = caption_style(1080, 1920)
    >>> style.font_px, style.margin_v
    (42, 269)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from edusdk.compose.captions import MAX_LINE_CHARS
from edusdk.models.lesson import CaptionCue

FONT_NAME = "DejaVu Sans"
_FONT_HEIGHT = 0.055  # of the frame height
_AVERAGE_GLYPH_WIDTH = 0.55  # em; DejaVu Sans is wide, this keeps 42 characters inside the width
_BOX_ALPHA = 0x60  # ASS alpha (00 opaque .. FF transparent): a box at about 62 % opacity


@cache
def fonts_dir() -> Path | None:
    """matplotlib's bundled TrueType fonts (DejaVu Sans among them), or None when matplotlib is absent."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - matplotlib is a core dependency
        return None
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return path if (path / "DejaVuSans.ttf").is_file() else None


@dataclass(frozen=True)
class CaptionStyle:
    """Caption geometry in pixels of a `width` x `height` frame."""

    width: int
    height: int
    font_px: int
    margin_h: int
    margin_v: int
    box_pad: int


def caption_style(width: int, height: int) -> CaptionStyle:
    """Readable caption geometry for a frame: font size from the height, capped so a full line fits the width."""
    by_height = height * _FONT_HEIGHT
    by_width = 0.9 * width / (MAX_LINE_CHARS * _AVERAGE_GLYPH_WIDTH)
    font_px = max(8, round(min(by_height, by_width)))
    portrait = height > width
    return CaptionStyle(
        width=width,
        height=height,
        font_px=font_px,
        margin_h=round(0.05 * width),
        margin_v=round((0.14 if portrait else 0.06) * height),
        box_pad=max(1, round(font_px * 0.25)),
    )


def _ass_time(seconds: float) -> str:
    cs = round(seconds * 100)
    hours, cs = divmod(cs, 360_000)
    minutes, cs = divmod(cs, 6000)
    secs, cs = divmod(cs, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def _ass_text(text: str) -> str:
    # Braces open override blocks and a backslash starts an escape in ASS: neutralise both, keep line breaks.
    clean = text.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")
    return "\\N".join(line.strip() for line in clean.split("\n"))


def to_ass(cues: Sequence[CaptionCue], width: int, height: int) -> str:
    """The cues as an ASS script whose coordinates are the frame's pixels (PlayRes = frame size).

    Example:
        >>> "Style: Caption,DejaVu Sans," in to_ass([CaptionCue(start_s=0, end_s=1, text="Hi")], 1280, 720)
        True
    """
    s = caption_style(width, height)
    box = f"&H{_BOX_ALPHA:02X}000000"
    header = [
        "[Script Info]",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, "
        "MarginR, MarginV, Encoding",
        f"Style: Caption,{FONT_NAME},{s.font_px},&H00FFFFFF,&H00FFFFFF,{box},{box},0,0,0,0,100,100,0,0,3,"
        f"{s.box_pad},0,2,{s.margin_h},{s.margin_h},{s.margin_v},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    events = [
        f"Dialogue: 0,{_ass_time(c.start_s)},{_ass_time(c.end_s)},Caption,,0,0,0,,{_ass_text(c.text)}"
        for c in cues
        if c.end_s > c.start_s and c.text.strip()
    ]
    return "\n".join(header + events) + "\n"
