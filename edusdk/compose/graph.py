"""The ffmpeg command that composes a lesson: one filter graph, one ffmpeg run (pure: builds, never runs).

Every clip is normalised to the lesson's size, frame rate, pixel format and timebase, then the clips are
chained in order: a cut joins two streams with `concat`, a named transition with `xfade`. Offsets come
from frame counts (see `timeline.py`), so the output has exactly sum(n_i) - sum(t_i) frames. The
captions are a second input muxed as a soft `mov_text` subtitle track.

xfade works in 4:4:4 only, so a chain of xfades converts every frame of the lesson up and back down.
With `windowed=True` only the transition windows go through xfade (the clips' own frames pass in
4:2:0, cut with `trim` and joined with `concat`): the same timeline, the clips' own frames without the
chroma round trip, and about a fifth less CPU on a lesson of 6 s shots. The windows are the ones
smart rendering encodes (`plan_segments`).
With `detect` the output frames are also split into the quality detectors (see `quality.py`), so
checking the result needs no second decode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from edusdk._errors import BadInputError
from edusdk.compose.burn import fonts_dir
from edusdk.compose.quality import InlineQuality, detector
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
    start_is_keyframe: bool = False  # start_frame is a keyframe of the file: seek right to it, decode nothing before

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


@dataclass(frozen=True)
class CopySegment:
    """Frames [start, end) of clip `clip`, untouched by any transition (stream-copied by smart rendering)."""

    clip: int
    start: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class EncodePart:
    """`frames` frames of clip `clip` from frame `start`, as one input of a transition window."""

    clip: int
    start: int
    frames: int


@dataclass(frozen=True)
class EncodeSegment:
    """A transition window: its parts joined in order by `joins` (one fewer than parts)."""

    parts: tuple[EncodePart, ...]
    joins: tuple[Join, ...]

    @property
    def frames(self) -> int:
        return sum(p.frames for p in self.parts) - sum(j.frames for j in self.joins)


Segment = CopySegment | EncodeSegment


def _copy_range(cuts: Sequence[int], frames: int, t_in: int, t_out: int) -> tuple[int, int] | None:
    """The untouched frames of one clip: from the first cut after the incoming transition to the last cut
    before the outgoing one (strictly, so every window part is longer than its transition)."""
    starts = [k for k in cuts if (k == 0 and t_in == 0) or k > t_in]
    ends = [frames] if t_out == 0 else [k for k in cuts if k < frames - t_out]
    if not starts or not ends or min(starts) >= max(ends):
        return None
    return min(starts), max(ends)


def plan_segments(frames: Sequence[int], joins: Sequence[Join], cuts: Sequence[Sequence[int]]) -> list[Segment]:
    """Split the composed video into untouched (copy) and transition-window (encode) segments, in output order.

    `frames[i]` is clip i's length, `joins[i]` joins clip i to i+1, `cuts[i]` lists where clip i may be cut
    (smart rendering: its clean keyframes; the windowed full graph: every frame).
    The segments' frames add up to the full render's: sum(frames) - sum(join frames).

    Example:
        >>> plan_segments([60, 60], [Join("fade", 15)], [[0, 30], [0, 30]])
        [CopySegment(clip=0, start=0, end=30), EncodeSegment(parts=(...), joins=(...)), CopySegment(clip=1, ...)]
    """
    segments: list[Segment] = []
    parts: list[EncodePart] = []
    run_joins: list[Join] = []

    def add(part: EncodePart) -> None:
        if parts:  # the run's last part is from the previous clip: the join between them applies
            run_joins.append(joins[part.clip - 1])
        parts.append(part)

    def flush() -> None:
        if parts:
            segments.append(EncodeSegment(tuple(parts), tuple(run_joins)))
        parts.clear()
        run_joins.clear()

    for i, n in enumerate(frames):
        t_in = joins[i - 1].frames if i > 0 else 0
        t_out = joins[i].frames if i < len(frames) - 1 else 0
        copied = _copy_range(cuts[i], n, t_in, t_out)
        if copied is None:
            add(EncodePart(i, 0, n))
            continue
        start, end = copied
        if start > 0:
            add(EncodePart(i, 0, start))
        flush()
        segments.append(CopySegment(i, start, end))
        if end < n:
            parts.append(EncodePart(i, end, n - end))
    flush()
    return segments


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
    rate = round(source.fps or fps)
    if source.start_is_keyframe:  # MP4 seeks by presentation time: half a frame late lands on that keyframe
        return ffmpeg.input(source.path, ss=exact_seconds(2 * source.start_frame + 1, 2 * rate), accurate_seek=False)
    return ffmpeg.input(source.path, ss=exact_seconds(2 * source.start_frame - 1, 2 * rate))


def _chain(streams: Sequence[ffmpeg.VideoStream], joins: Sequence[Join], frames: Sequence[int],
           fps: int) -> ffmpeg.VideoStream:  # fmt: skip
    """`streams` (of `frames` frames each, timestamps from 0) joined in order: `concat` for a cut, else `xfade`."""
    starts = visible_starts(frames, [j.frames for j in joins])
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
    return video


def _windowed(streams: Sequence[ffmpeg.VideoStream], joins: Sequence[Join], frames: Sequence[int],
              fps: int) -> ffmpeg.VideoStream:  # fmt: skip
    """The same frames as `_chain`, with xfade (and its 4:4:4 round trip) only over the transition windows."""
    segments = plan_segments(frames, joins, [range(n) for n in frames])

    def piece(clip: int, start: int, end: int) -> ffmpeg.VideoStream:
        if (start, end) == (0, frames[clip]):
            return streams[clip]
        return streams[clip].trim(start_frame=start, end_frame=end).setpts(expr="PTS-STARTPTS")

    pieces = []
    for segment in segments:
        if isinstance(segment, CopySegment):
            pieces.append(piece(segment.clip, segment.start, segment.end))
        else:
            parts = [piece(p.clip, p.start, p.start + p.frames) for p in segment.parts]
            pieces.append(_chain(parts, segment.joins, [p.frames for p in segment.parts], fps))
    if len(pieces) == 1:
        return pieces[0]
    video = ffmpeg.filters.concat(*pieces, n=len(pieces), v=1, a=0).video(0)
    return video.setpts(expr=f"N/({fps}*TB)")  # frame k at k/fps exactly, whatever each piece's last duration


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
    windowed: bool = False,
    detect: InlineQuality | None = None,
    detect_events: Path | None = None,
    keyframes: Sequence[int] = (),
) -> list[str]:
    """ffmpeg arguments (without the binary, with `-y`) that compose `inputs` into one H.264 MP4.

    `transitions[i]` joins input i to input i+1; a trailing extra transition (the last shot's) is ignored.
    `captions`, a WebVTT file, becomes a soft `mov_text` subtitle track. `burn`, an ASS script (see
    `burn.to_ass`), is drawn onto the frames by libass with the bundled DejaVu fonts. `windowed` passes
    only the transition windows through xfade (same frames, less work; see the module docstring).
    `detect` also runs the output frames through the quality detectors, their events written to
    `detect_events` (default `detect.output_events`), so `check_quality(..., inline=detect)` decodes nothing.
    `keyframes` forces keyframes at those output frames (smart rendering cuts its windows there).

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

    streams = [
        _normalise(s, _open(s, fps).video, n, width=width, height=height, fps=fps)
        for s, n in zip(sources, frames, strict=True)
    ]
    video = (_windowed if windowed else _chain)(streams, joins, frames, fps)

    if burn is not None:
        fonts = fonts_dir()
        video = video.subtitles(filename=str(burn), fontsdir=str(fonts) if fonts else None)

    outputs: list[ffmpeg.VideoStream | ffmpeg.SubtitleStream] = [video]
    options: dict[str, str | int] = {"preset": preset, "crf": crf, "movflags": "+faststart"}
    if keyframes:
        options["force_key_frames"] = "expr:" + "+".join(f"eq(n,{k})" for k in sorted(set(keyframes)))
    else:  # a keyframe a second, like the engines' clips: quick seeks and ~2 s HLS segments
        options["force_key_frames"] = "expr:gte(t,n_forced*1)"
    if captions is not None:
        outputs.append(ffmpeg.input(captions, f="webvtt").subtitle)
        options["c:s"] = "mov_text"
    main = ffmpeg.output(
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
    )
    if detect is not None and detect.active:  # the frames as encoded, split into the detectors: no second decode
        events = detect_events or detect.output_events
        checked = ffmpeg.output(detector(video, events, detect.thresholds), filename="-", f="null")
        command = ffmpeg.merge_outputs(main, checked).compile(overwrite_output=True)
    else:
        command = main.compile(overwrite_output=True)
    return command[1:]  # compile() starts with the program name ("ffmpeg"); run_ffmpeg adds the real binary
