"""The ffmpeg command that composes a lesson: one filter graph, one ffmpeg run (pure: builds, never runs).

Every clip is normalised to the lesson's size, frame rate, pixel format and timebase, then the clips are
chained in order: a cut joins two streams with `concat`, a named transition with `xfade`. Offsets come
from frame counts (see `timeline.py`), so the output has exactly sum(n_i) - sum(t_i) frames. The
captions are a second input muxed as a soft `mov_text` subtitle track.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from edusdk._errors import BadInputError
from edusdk.compose.burn import fonts_dir
from edusdk.compose.timeline import check_joins, lesson_frames, transition_frames, visible_starts
from edusdk.models.engine import Clip
from edusdk.models.script import Transition

DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 23
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo",
)  # fmt: skip


@dataclass(frozen=True)
class ComposeInput:
    """One clip as the graph needs it: where it is, its size, and how many frames at which rate."""

    path: Path
    width: int
    height: int
    fps: float
    num_frames: int
    start_frame: int = 0  # frames of the file skipped before this input starts (smart rendering's windows)

    @classmethod
    def from_clip(cls, clip: Clip) -> ComposeInput:
        return cls(path=Path(clip.path), width=clip.width, height=clip.height, fps=clip.fps, num_frames=clip.num_frames)


@dataclass(frozen=True)
class Join:
    """How clip i hands over to clip i+1 in the graph: `xfade` by name over `frames` frames, or a cut (0)."""

    name: str
    frames: int

    @property
    def is_cut(self) -> bool:
        return self.frames == 0


def exact_seconds(numerator: int, denominator: int) -> str:
    """`numerator / denominator` seconds as ffmpeg's duration syntax, rounded to the microsecond it parses to."""
    us = (2 * numerator * 1_000_000 + denominator) // (2 * denominator)  # round half up, like av_rescale_q
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def xfade_offset(first_frame: int, fps: int) -> str:
    """The xfade `offset` for a transition whose incoming clip is first visible at `first_frame`.

    It sits half a frame before that frame: xfade passes through the outgoing frames whose timestamp is
    below the offset, so frame `first_frame` is the first blended one whatever the microsecond rounding
    of timestamps along a long chain, and the t blended frames sample the fade symmetrically.
    """
    return exact_seconds(2 * first_frame - 1, 2 * fps)


def _normalise(source: ComposeInput, index_stream: ffmpeg.VideoStream, frames: int, *, width: int, height: int,
               fps: int) -> ffmpeg.VideoStream:  # fmt: skip
    """Same start, rate, length, size, SAR, pixel format and timebase for every clip (xfade and concat need it)."""
    stream = index_stream.setpts(expr="PTS-STARTPTS").fps(fps=fps).trim(end_frame=frames)
    if (source.width, source.height) != (width, height):  # scaling an already fitting clip is wasted work
        stream = stream.scale(w=width, h=height, force_original_aspect_ratio="decrease", force_divisible_by=2)
        stream = stream.pad(width=width, height=height, x="(ow-iw)/2", y="(oh-ih)/2", color="black")
    return stream.setsar(sar="1").format(pix_fmts="yuv420p").settb(expr="AVTB")


def _open(source: ComposeInput, fps: int) -> ffmpeg.AVStream:
    """The input, seeked to `start_frame`: half a frame early, so timestamp rounding never drops or adds a frame."""
    if source.start_frame <= 0:
        return ffmpeg.input(source.path)
    return ffmpeg.input(source.path, ss=exact_seconds(2 * source.start_frame - 1, 2 * round(source.fps or fps)))


def _joins(transitions: Sequence[Transition | Join], count: int, fps: int) -> list[Join]:
    if len(transitions) not in (count - 1, count):
        raise BadInputError(f"{count} inputs need {count - 1} transitions (or {count}, the last ignored), "
                            f"not {len(transitions)}")  # fmt: skip
    joins = [t if isinstance(t, Join) else Join(t.name, transition_frames(t, fps)) for t in transitions]
    return [Join("cut", 0) if j.name == "cut" else j for j in joins[: count - 1]]


def build_compose_command(
    inputs: Sequence[ComposeInput | Clip],
    transitions: Sequence[Transition | Join],
    *,
    width: int,
    height: int,
    fps: int,
    captions: Path | None,
    output: Path,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
    title: str = "",
    burn: Path | None = None,
) -> list[str]:
    """ffmpeg arguments (without the binary, with `-y`) that compose `inputs` into one H.264 MP4.

    `transitions[i]` joins input i to input i+1; a trailing extra transition (the last shot's) is ignored.
    `captions`, a WebVTT file, becomes a soft `mov_text` subtitle track. `burn`, an ASS script (see
    `burn.to_ass`), is drawn onto the frames by libass with the bundled DejaVu fonts.

    Example:
        >>> args = build_compose_command([a, b], [Transition(name="fade", duration_s=0.5)],
        ...                              width=1280, height=720, fps=30, captions=None, output=Path("out.mp4"))
        >>> run_ffmpeg(args, what="composing the lesson")

    Raises:
        BadInputError: no inputs, an odd or non-positive size, a bad fps/preset/crf, or a transition
            at least as long as a clip it joins.
    """
    if not inputs:
        raise BadInputError("nothing to compose: no input clips")
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise BadInputError(f"the lesson size must be even and positive for H.264 4:2:0, not {width}x{height}")
    if fps < 1:
        raise BadInputError(f"fps must be a positive integer, not {fps}")
    if preset not in X264_PRESETS:
        raise BadInputError(f"unknown x264 preset {preset!r}; valid: {', '.join(X264_PRESETS)}")
    if not 0 <= crf <= 51:
        raise BadInputError(f"crf must be within 0..51, not {crf}")
    sources = [i if isinstance(i, ComposeInput) else ComposeInput.from_clip(i) for i in inputs]
    frames = [lesson_frames(s.num_frames, s.fps, fps) for s in sources]
    joins = _joins(transitions, len(sources), fps)
    check_joins(frames, [j.frames for j in joins], [s.path.name for s in sources])
    starts = visible_starts(frames, [j.frames for j in joins])

    streams = [
        _normalise(s, _open(s, fps).video, n, width=width, height=height, fps=fps)
        for s, n in zip(sources, frames, strict=True)
    ]
    video = streams[0]
    for i, join in enumerate(joins):
        incoming = streams[i + 1]
        if join.is_cut:
            video = ffmpeg.filters.concat(video, incoming, n=2, v=1, a=0).video(0)
        else:
            video = ffmpeg.filters.xfade(
                video,
                incoming,
                transition=join.name,
                duration=exact_seconds(join.frames, fps),
                offset=xfade_offset(starts[i + 1], fps),
            )

    if burn is not None:
        fonts = fonts_dir()
        video = video.subtitles(filename=str(burn), fontsdir=str(fonts) if fonts else None)

    outputs: list[ffmpeg.VideoStream | ffmpeg.SubtitleStream] = [video]
    options: dict[str, str | int] = {"preset": preset, "crf": crf, "movflags": "+faststart"}
    if captions is not None:
        outputs.append(ffmpeg.input(captions, f="webvtt").subtitle)
        options["c:s"] = "mov_text"
    command = ffmpeg.output(
        *outputs,
        filename=output,
        f="mp4",
        vcodec="libx264",
        pix_fmt="yuv420p",
        r=fps,
        an=True,
        map_metadata="-1",
        metadata=f"title={title}" if title else None,
        extra_options=options,
    ).compile(overwrite_output=True)
    return command[1:]  # compile() starts with the program name ("ffmpeg"); run_ffmpeg adds the real binary
