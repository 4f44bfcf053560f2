"""Smart rendering: re-encode only the transition windows, stream-copy every other frame.

When every clip is H.264 with the same SPS/PPS as the final encode (edusdk's storyboard engine encodes
with the compose settings, closed GOPs and a keyframe every second), most of a lesson never needs to
be decoded. Each clip's frames between its first clean cut after the incoming transition and its last
clean cut before the outgoing one are copied packet for packet (cut by packet index with the `noise`
bitstream filter, exact because the GOPs are closed); everything else — a transition window with the
tail of one clip and the head of the next — is encoded by the same filter graph as the full render.
The pieces are joined with the concat demuxer (`-c copy`), captions muxed as `mov_text`.

`plan_segments` is pure and unit-tested; `smart_render` runs it and returns None (with the reason)
whenever it cannot guarantee the same frames and timeline as the full re-encode, so the caller falls back.

Example:
    >>> plan_segments([60, 60], [Join("fade", 15)], [[0, 30], [0, 30]])
    [CopySegment(clip=0, start=0, end=30), EncodeSegment(parts=(...), joins=(...)), CopySegment(clip=1, ...)]
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from edusdk._media import run_ffmpeg
from edusdk.compose.graph import ComposeInput, Join, build_compose_command
from edusdk.compose.mp4 import VideoTrack, read_video_track


@dataclass(frozen=True)
class CopySegment:
    """Frames [start, end) of clip `clip`, stream-copied (both ends are clean cuts or the clip's end)."""

    clip: int
    start: int
    end: int

    @property
    def frames(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class EncodePart:
    """`frames` frames of clip `clip` from frame `start`, as one input of an encoded window."""

    clip: int
    start: int
    frames: int


@dataclass(frozen=True)
class EncodeSegment:
    """A window encoded by the compose graph: its parts joined in order by `joins` (one fewer than parts)."""

    parts: tuple[EncodePart, ...]
    joins: tuple[Join, ...]

    @property
    def frames(self) -> int:
        return sum(p.frames for p in self.parts) - sum(j.frames for j in self.joins)


Segment = CopySegment | EncodeSegment


def _copy_range(cuts: Sequence[int], frames: int, t_in: int, t_out: int) -> tuple[int, int] | None:
    """The copied frames of one clip: from the first clean cut after the incoming transition to the last
    clean cut before the outgoing one (strictly, so every window part is longer than its transition)."""
    starts = [k for k in cuts if (k == 0 and t_in == 0) or k > t_in]
    ends = [frames] if t_out == 0 else [k for k in cuts if k < frames - t_out]
    if not starts or not ends or min(starts) >= max(ends):
        return None
    return min(starts), max(ends)


def plan_segments(frames: Sequence[int], joins: Sequence[Join], cuts: Sequence[Sequence[int]]) -> list[Segment]:
    """Split the composed video into copied and encoded segments, in output order.

    `frames[i]` is clip i's length, `joins[i]` joins clip i to i+1, `cuts[i]` lists clip i's clean cuts.
    The segments' frames add up to the full render's: sum(frames) - sum(join frames).
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


def smart_ineligibility(tracks: Sequence[VideoTrack | None], frames: Sequence[int], *, width: int, height: int,
                        fps: int) -> str | None:  # fmt: skip
    """Why these clips cannot be smart-rendered into a `width`x`height` `fps` lesson, or None if they can."""
    for i, (track, n) in enumerate(zip(tracks, frames, strict=True)):
        if track is None:
            return f"clip {i} is not an MP4 with a readable video track"
        if track.codec not in ("avc1", "avc3") or not track.config:
            return f"clip {i} is {track.codec}, not H.264"
        if (track.width, track.height) != (width, height):
            return f"clip {i} is {track.width}x{track.height}, not {width}x{height}"
        if track.fps is None or abs(track.fps - fps) > 1e-6:
            return f"clip {i} is not a constant {fps} fps"
        if track.sample_count != n:
            return f"clip {i} has {track.sample_count} frames, not the {n} the timeline uses"
        if tracks[0] is not None and track.config != tracks[0].config:
            return f"clip {i} was encoded with other codec parameters (SPS/PPS) than clip 0"
    return None


def _bsf_drop(start: int, end: int, total: int) -> list[str]:
    """The `noise` bitstream filter that keeps packets [start, end) of `total` (packets are in decode order)."""
    keep = []
    if start > 0:
        keep.append(f"lt(n\\,{start})")
    if end < total:
        keep.append(f"gte(n\\,{end})")
    return ["-bsf:v", f"noise=drop={'+'.join(keep)}"] if keep else []


def _concat_line(path: Path) -> str:
    quoted = str(path).replace("'", "'\\''")
    return f"file '{quoted}'"


@dataclass(frozen=True)
class SmartOutcome:
    """What `smart_render` did: the copied and encoded frame counts, or why it gave up."""

    ok: bool
    reason: str = ""
    copied_frames: int = 0
    encoded_frames: int = 0


def smart_render(
    paths: Sequence[Path],
    frames: Sequence[int],
    joins: Sequence[Join],
    *,
    width: int,
    height: int,
    fps: int,
    captions: Path | None,
    output: Path,
    preset: str,
    crf: int,
    title: str = "",
) -> SmartOutcome:
    """Compose `paths` into `output` by encoding only the transition windows; see the module docstring.

    Returns `SmartOutcome(ok=False, reason=…)` without writing `output` when the clips do not qualify
    or an encoded window's parameters differ from the clips' (the caller then does a full re-encode).
    ffmpeg failures raise MediaError as in the full render.
    """
    tracks = [read_video_track(p) for p in paths]
    reason = smart_ineligibility(tracks, frames, width=width, height=height, fps=fps)
    if reason is not None:
        return SmartOutcome(False, reason)
    cuts = [t.clean_cuts for t in tracks if t is not None]
    cuts_total = [t.sample_count for t in tracks if t is not None]
    segments = plan_segments(frames, joins, cuts)
    copies = [s for s in segments if isinstance(s, CopySegment)]
    if not copies:
        return SmartOutcome(False, "no clean keyframe outside the transitions: nothing to copy")
    config = tracks[0].config if tracks[0] is not None else b""

    with tempfile.TemporaryDirectory(prefix="edusdk-smart-") as work:
        folder = Path(work)
        files = [folder / f"{n:03d}-{'copy' if isinstance(s, CopySegment) else 'window'}.mp4"
                 for n, s in enumerate(segments)]  # fmt: skip

        def encode(job: tuple[EncodeSegment, Path]) -> None:
            segment, file = job
            inputs = [ComposeInput(paths[p.clip], width, height, fps, p.frames, start_frame=p.start)
                      for p in segment.parts]  # fmt: skip
            args = build_compose_command(inputs, list(segment.joins), width=width, height=height, fps=fps,
                                         captions=None, output=file, preset=preset, crf=crf)  # fmt: skip
            run_ffmpeg(args, what=f"encoding a transition window ({segment.frames} frames)")

        copy_jobs = [(s, f) for s, f in zip(segments, files, strict=True) if isinstance(s, CopySegment)]
        copy_args: list[str] = ["-y"]
        for s, _ in copy_jobs:
            copy_args += ["-i", str(paths[s.clip])]
        for k, (s, file) in enumerate(copy_jobs):
            drop = _bsf_drop(s.start, s.end, cuts_total[s.clip])
            copy_args += ["-map", f"{k}:v:0", "-c", "copy", *drop, "-f", "mp4", str(file)]
        windows = [(s, f) for s, f in zip(segments, files, strict=True) if isinstance(s, EncodeSegment)]

        def same_parameters(file: Path) -> bool:
            track = read_video_track(file)
            return track is not None and track.config == config

        mismatch = SmartOutcome(False, "the encoded windows' codec parameters (SPS/PPS) differ from the clips'")
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            copied = pool.submit(run_ffmpeg, copy_args, what="copying the clips' unchanged frames")
            if windows:  # the first window tells whether the encoder reproduces the clips' parameters
                encode(windows[0])
                if not same_parameters(windows[0][1]):
                    copied.result()
                    return mismatch
            list(pool.map(encode, windows[1:]))
            copied.result()
        if not all(same_parameters(file) for _, file in windows):
            return mismatch

        listing = folder / "segments.txt"
        listing.write_text("ffconcat version 1.0\n" + "\n".join(_concat_line(f) for f in files) + "\n", "utf-8")
        args = ["-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
        maps = ["-map", "0:v:0"]
        if captions is not None:
            args += ["-f", "webvtt", "-i", str(captions)]
            maps += ["-map", "1:s:0", "-c:s", "mov_text"]
        args += [*maps, "-c:v", "copy", "-map_metadata", "-1"]
        if title:
            args += ["-metadata", f"title={title}"]
        args += ["-movflags", "+faststart", "-f", "mp4", str(output)]
        run_ffmpeg(args, what="joining the copied and encoded segments")

    copied_frames = sum(s.frames for s in copies)
    encoded_frames = sum(s.frames for s in segments if isinstance(s, EncodeSegment))
    return SmartOutcome(True, copied_frames=copied_frames, encoded_frames=encoded_frames)
