"""A poster image and a thumbnail sprite with its WebVTT track: what edtech players show before and while seeking.

* `<stem>.poster.jpg`: one frame at full size from the middle of the first shot that is not a title card
  (or at a third of the video), by one ffmpeg seek-and-decode.
* `<stem>.sprite.jpg`: thumbnails every `interval_s` seconds tiled into one JPEG by one ffmpeg run
  (`fps` → `scale` → `tile`), and `<stem>.thumbs.vtt`, a WebVTT track whose cues point into the sprite with
  media fragments (`sprite.jpg#xywh=x,y,w,h`), the format video.js, Plyr, JW Player and Shaka read.

Example:
    >>> sprite = write_sprite(Path("out/lesson.mp4"), duration_s=38.5, width=1280, height=720)
    >>> sprite.count, sprite.thumb_size, sprite.vtt.name
    (20, (160, 90), 'lesson.thumbs.vtt')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edusdk._errors import BadInputError
from edusdk._fs import atomic_output
from edusdk._media import run_ffmpeg
from edusdk.compose.captions import _timestamp
from edusdk.models.lesson import TimelineEntry
from edusdk.models.script import Script

SPRITE_COLUMNS = 10
THUMB_WIDTH = 160
MAX_THUMBS = 400  # a longer video gets a longer interval: the sprite stays a few MB at most


@dataclass(frozen=True)
class Sprite:
    """A written thumbnail sprite: the image, its WebVTT track, and the grid geometry."""

    image: Path
    vtt: Path
    count: int
    columns: int
    rows: int
    thumb_size: tuple[int, int]
    interval_s: float


def poster_time(script: Script, timeline: Sequence[TimelineEntry]) -> float:
    """The middle of the first shot that is not a title card (title only, no points or formulas), else 1/3 in.

    Example:
        >>> poster_time(script, timeline)  # shot 1 is the title card, shot 2 runs 4.0-10.0 s
        7.0
    """
    for shot, entry in zip(script.shots, timeline, strict=False):
        card = shot.on_screen
        if card.title and not card.points and not card.formulas:
            continue
        return (entry.visible_start_s + entry.visible_end_s) / 2
    return timeline[-1].end_s / 3 if timeline else 0.0


def write_poster(video: Path, output: Path, *, at_s: float) -> Path:
    """One full-size JPEG frame of `video` at `at_s` seconds, written atomically to `output`.

    Example:
        >>> write_poster(Path("out/lesson.mp4"), Path("out/lesson.poster.jpg"), at_s=7.0).name
        'lesson.poster.jpg'
    """
    with atomic_output(output, suffix=".jpg") as tmp:
        run_ffmpeg(["-y", "-ss", f"{max(0.0, at_s):.3f}", "-i", str(video), "-frames:v", "1", "-q:v", "3",
                    "-f", "image2", "-update", "1", str(tmp)], what=f"writing the poster {output.name}")  # fmt: skip
    return output


def thumbs_vtt(sprite_name: str, *, count: int, columns: int, thumb: tuple[int, int], interval_s: float,
               duration_s: float) -> str:  # fmt: skip
    """The WebVTT thumbnails track: cue i covers [i·interval, (i+1)·interval) and points at tile i.

    Example:
        >>> print(thumbs_vtt("s.jpg", count=1, columns=1, thumb=(160, 90), interval_s=2, duration_s=1.5))
        WEBVTT
        <BLANKLINE>
        00:00:00.000 --> 00:00:01.500
        s.jpg#xywh=0,0,160,90
    """
    w, h = thumb
    blocks = ["WEBVTT"]
    for i in range(count):
        start, end = i * interval_s, min((i + 1) * interval_s, duration_s)
        x, y = (i % columns) * w, (i // columns) * h
        blocks.append(f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{sprite_name}#xywh={x},{y},{w},{h}")
    return "\n\n".join(blocks) + "\n"


def write_sprite(
    video: Path,
    *,
    duration_s: float,
    width: int,
    height: int,
    image: Path | None = None,
    interval_s: float = 2.0,
    thumb_width: int = THUMB_WIDTH,
    columns: int = SPRITE_COLUMNS,
) -> Sprite:
    """Tile a thumbnail of `video` every `interval_s` seconds into `<stem>.sprite.jpg` + `<stem>.thumbs.vtt`.

    Thumbnails keep the frame's aspect ratio (`thumb_width` wide, or as tall for portrait video). Both files
    are written atomically, the track only after the sprite.

    Raises:
        BadInputError: a non-positive interval, duration or thumbnail width.
        MediaError: ffmpeg failed.
    """
    if interval_s <= 0 or duration_s <= 0 or thumb_width < 2:
        raise BadInputError(f"sprite: interval {interval_s}, duration {duration_s} and thumbnail width "
                            f"{thumb_width} must be positive")  # fmt: skip
    interval_s = max(interval_s, duration_s / MAX_THUMBS)
    count = max(1, math.ceil(duration_s / interval_s - 1e-9))
    scale = thumb_width / max(width, height)
    thumb = (max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2))
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    image = image or video.with_name(f"{video.stem}.sprite.jpg")
    vtt = image.with_name(image.name.removesuffix(".sprite.jpg") + ".thumbs.vtt")
    # the first frame of every interval: exactly ceil(duration / interval) thumbnails, no drift at the end
    every = f"{interval_s:.6f}"
    pick = f"isnan(prev_selected_t)+gt(floor(t/{every})\\,floor(prev_selected_t/{every}))"
    graph = f"select='{pick}',scale={thumb[0]}:{thumb[1]},tile=layout={columns}x{rows}"
    with atomic_output(vtt) as tmp_vtt, atomic_output(image, suffix=".jpg") as tmp_image:  # the image lands first
        args = ["-y", "-i", str(video), "-an", "-sn", "-vf", graph, "-frames:v", "1", "-q:v", "4", "-f", "image2"]
        run_ffmpeg([*args, "-update", "1", str(tmp_image)], what=f"writing the sprite {image.name}")
        tmp_vtt.write_text(thumbs_vtt(image.name, count=count, columns=columns, thumb=thumb, interval_s=interval_s,
                                      duration_s=duration_s), encoding="utf-8")  # fmt: skip
    return Sprite(image=image, vtt=vtt, count=count, columns=columns, rows=rows, thumb_size=thumb,
                  interval_s=interval_s)  # fmt: skip
