"""Renditions: one composed video → extra MP4s in other sizes and aspect ratios, in one ffmpeg run.

A rendition is named `1080p`, `720p`, `480p`, `360p` (16:9 by height), `9:16`, `1:1`, `16:9` (sized from
the master's short side, so a 1920x1080 master gives 1080x1920 and 1080x1080), or `WxH`. When the aspect
ratio matches the master it is a plain scale; otherwise the picture is reframed either by a centre crop
(`crop`: scale to fill, cut the overflow) or a blurred-background pad (`blur`, the default: the whole
picture scaled to fit over a blurred copy scaled to fill, so nothing is lost, not even burned captions).
The master is decoded once (`split` feeds every rendition); each output carries the master's soft
subtitle track (stream-copied) and is checked (frames, size, subtitles) before it is renamed into place.

Example:
    >>> made = render_renditions(Path("out/lesson.mp4"), ["720p", "9:16"], width=1920, height=1080,
    ...                          frames=1155)
    >>> [(r.name, r.width, r.height, r.path.name) for r in made]
    [('720p', 1280, 720, 'lesson.720p.mp4'), ('9:16', 1080, 1920, 'lesson.9x16.mp4')]
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from edusdk._errors import BadInputError, MediaError
from edusdk._fs import atomic_output
from edusdk._media import probe, run_ffmpeg
from edusdk.compose.burn import fonts_dir, to_ass
from edusdk.compose.graph import DEFAULT_CRF, DEFAULT_PRESET
from edusdk.models.lesson import CaptionCue

Reframe = Literal["blur", "crop"]
REFRAMES: tuple[Reframe, ...] = ("blur", "crop")
_HEIGHTS = {"2160p": 2160, "1440p": 1440, "1080p": 1080, "720p": 720, "480p": 480, "360p": 360}
_RATIOS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}


@dataclass(frozen=True)
class Rendition:
    """One extra output: its name as asked, its frame size, and (once written) its file and reframing."""

    name: str
    width: int
    height: int
    path: Path | None = None
    reframe: str = "scale"


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def parse_rendition(spec: str, *, width: int, height: int) -> Rendition:
    """The frame size a rendition name asks for, given the master's `width` x `height`.

    Example:
        >>> parse_rendition("9:16", width=1920, height=1080)
        Rendition(name='9:16', width=1080, height=1920, path=None, reframe='scale')

    Raises:
        BadInputError: a name that is none of the known ones nor WxH (the valid ones are listed).
    """
    name = spec.strip().lower()
    if name in _HEIGHTS:
        h = _HEIGHTS[name]
        return Rendition(spec, _even(h * 16 / 9), h)
    if name in _RATIOS:
        rw, rh = _RATIOS[name]
        short = min(width, height)
        fw, fh = (short, short * rh / rw) if rh >= rw else (short * rw / rh, short)
        return Rendition(spec, _even(fw), _even(fh))
    match = re.fullmatch(r"(\d+)x(\d+)", name)
    if match and all(2 <= int(v) <= 8192 and int(v) % 2 == 0 for v in match.groups()):
        return Rendition(spec, int(match.group(1)), int(match.group(2)))
    valid = ", ".join([*_HEIGHTS, *_RATIOS, "WxH (even, 2..8192)"])
    raise BadInputError(f"unknown rendition {spec!r}; valid: {valid}")


def _filter_value(value: str) -> str:
    """`value` escaped as a filter option inside a filtergraph (both of ffmpeg's escaping levels)."""
    level1 = value.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    return re.sub(r"([\\'\[\],;])", r"\\\1", level1)


def _file_name(output: Path, name: str) -> Path:
    return output.with_name(f"{output.stem}.{re.sub(r'[^a-z0-9]+', 'x', name.lower())}.mp4")


def _chain(source: str, target: Rendition, *, width: int, height: int, reframe: Reframe, label: str) -> str:
    """The filter chain from `source` to `[label]` for one rendition."""
    w, h = target.width, target.height
    fit = f"scale={w}:{h}:force_original_aspect_ratio=decrease:force_divisible_by=2"
    fill = f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
    if width * h == height * w:  # same aspect: a plain scale
        return f"{source}scale={w}:{h},setsar=1[{label}]"
    if reframe == "crop":
        return f"{source}{fill},setsar=1[{label}]"
    blur = max(2, min(w, h) // 20)
    return (f"{source}split=2[{label}bg][{label}fg];[{label}bg]{fill},boxblur={blur}:2[{label}b];"
            f"[{label}fg]{fit}[{label}f];[{label}b][{label}f]overlay=(W-w)/2:(H-h)/2,setsar=1[{label}]")  # fmt: skip


def render_renditions(
    master: Path,
    specs: Sequence[str],
    *,
    width: int,
    height: int,
    frames: int,
    output: Path | None = None,
    reframe: Reframe = "blur",
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    burn_cues: Sequence[CaptionCue] | None = None,
    master_copy: Path | None = None,
) -> list[Rendition]:
    """Write `<stem>.<name>.mp4` beside `output` (default: `master`) for every spec, decoding `master` once.

    `burn_cues` burns the captions into every rendition, styled for its own frame (so a 9:16 crop keeps
    them whole); `master_copy` also writes the master's own size, burned the same way, to that (temporary)
    path, which the caller checks and renames.

    Raises:
        BadInputError: an unknown rendition name or reframing, or the same name twice.
        MediaError: ffmpeg failed or a rendition is not what was asked for (nothing is left behind).
    """
    if reframe not in REFRAMES:
        raise BadInputError(f"unknown reframe {reframe!r}; valid: {', '.join(REFRAMES)}")
    targets = [parse_rendition(s, width=width, height=height) for s in specs]
    names = [_file_name(output or master, t.name) for t in targets]
    if len(set(names)) != len(names):
        raise BadInputError(f"renditions {', '.join(specs)}: the same rendition is asked for twice")
    if master_copy is not None:
        targets.append(Rendition("master", width, height))
    if not targets:
        return []
    count = len(targets)
    chains = [f"[0:v]split={count}" + "".join(f"[in{i}]" for i in range(count))] if count > 1 else []
    sources = [f"[in{i}]" for i in range(count)] if count > 1 else ["[0:v]"]
    label = "p" if burn_cues is not None else "r"
    chains += [_chain(src, t, width=width, height=height, reframe=reframe, label=f"{label}{i}")
               for i, (src, t) in enumerate(zip(sources, targets, strict=True))]  # fmt: skip
    with ExitStack() as stack:
        if burn_cues is not None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="edusdk-burn-")))
            fonts = fonts_dir()
            for i, t in enumerate(targets):
                ass = work / f"r{i}.ass"
                ass.write_text(to_ass(burn_cues, t.width, t.height), encoding="utf-8")
                fontsdir = f":fontsdir={_filter_value(str(fonts))}" if fonts else ""
                chains.append(f"[p{i}]subtitles=filename={_filter_value(str(ass))}{fontsdir}[r{i}]")
        temps = [stack.enter_context(atomic_output(n, suffix=".mp4")) for n in names]
        if master_copy is not None:
            temps.append(master_copy)
        args = ["-y", "-i", str(master), "-filter_complex", ";".join(chains)]
        for i, tmp in enumerate(temps):
            args += ["-map", f"[r{i}]", "-map", "0:s?", "-map", "0:a?", "-c:v", "libx264", "-preset", preset]
            args += ["-crf", str(crf), "-pix_fmt", "yuv420p", "-c:s", "copy", "-c:a", "copy", "-movflags", "+faststart"]
            args += ["-force_key_frames", "expr:gte(t,n_forced*1)"]  # a keyframe a second: seeks, 2 s HLS segments
            args += ["-f", "mp4", str(tmp)]  # the sound track, if any, is copied as it is
        run_ffmpeg(args, what=f"writing {count} rendition(s) of {master.name}")
        for target, tmp in zip(targets, temps, strict=True):
            info = probe(tmp)
            if (info.width, info.height, info.frames) != (target.width, target.height, frames):
                raise MediaError(f"rendition {target.name}: {info.width}x{info.height}, {info.frames} frames instead "
                                 f"of {target.width}x{target.height}, {frames} frames")  # fmt: skip
    targets = targets[: len(names)]  # not the master copy: the caller checks and owns it
    same = [width * t.height == height * t.width for t in targets]
    return [Rendition(t.name, t.width, t.height, n, "scale" if s else reframe)
            for t, n, s in zip(targets, names, same, strict=True)]  # fmt: skip
