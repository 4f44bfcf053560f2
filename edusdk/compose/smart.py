"""Smart rendering: re-encode only the transition windows, stream-copy every other frame.

When every clip is H.264 with the same SPS/PPS as the final encode (edusdk's storyboard engine encodes
with the compose settings, closed GOPs and a keyframe every second), most of a lesson never needs to
be decoded. Each clip's frames between its first clean cut after the incoming transition and its last
clean cut before the outgoing one are copied packet for packet (cut by packet index with the `noise`
bitstream filter, exact because the GOPs are closed); everything else — a transition window with the
tail of one clip and the head of the next — is encoded by the same filter graph as the full render.
The first window is encoded alone (it tells whether the encoder reproduces the clips' SPS/PPS), the
others in one run (one encoder warm-up instead of one per window) with a keyframe forced where each
starts, cut apart by packet count too. The pieces are joined with the concat
demuxer (`-c copy`), captions muxed as `mov_text`. With quality checks, the detectors see the windows
in that encode and the copied frames through their clip files' analyses (cached per file, see
`quality.analyse_clips`): clips not analysed yet are screened by their keyframes alongside the window
encode (only the GOPs a finding can reach are decoded), then, once the windows' flags are known, the
frames next to a window that could continue a black or frozen run are decoded too (`_edge_needs`).

`plan_segments` is pure and unit-tested; `smart_render` runs it and returns None (with the reason)
whenever it cannot guarantee the same frames and timeline as the full re-encode, so the caller falls back.

Example:
    >>> plan_segments([60, 60], [Join("fade", 15)], [[0, 30], [0, 30]])
    [CopySegment(clip=0, start=0, end=30), EncodeSegment(parts=(...), joins=(...)), CopySegment(clip=1, ...)]
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from edusdk._media import run_ffmpeg
from edusdk.compose.graph import (
    ComposeInput,
    CopySegment,
    EncodePart,
    EncodeSegment,
    Join,
    Segment,
    build_compose_command,
    plan_segments,
)
from edusdk.compose.mp4 import VideoTrack, read_video_track
from edusdk.compose.quality import FrameFlags, InlineQuality, analyse_clips, join_flags, read_flags

__all__ = [  # the segment plan lives in graph.py (the windowed full graph uses it too); re-exported here
    "CopySegment", "EncodePart", "EncodeSegment", "Segment", "SmartOutcome", "plan_segments", "smart_ineligibility",
    "smart_render",
]  # fmt: skip


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


def _lesson_flags(segments: Sequence[Segment], clips: dict[int, FrameFlags], windows: FrameFlags) -> FrameFlags:
    """The composed video's quality flags: the copied frames' from their clips', the windows' from their encode.

    `windows` flags the encoded windows one after another. A piece's first frame continues the frame before
    it exactly when that is the previous frame of the same clip (a window starting mid-clip, or copied
    frames after a window), so its flag is the clip's.
    """
    parts, at = [], 0
    for segment in segments:
        if isinstance(segment, CopySegment):
            parts.append(clips[segment.clip].part(segment.start, segment.end, continues=segment.start > 0))
            continue
        window = windows.part(at, at + segment.frames, continues=False)
        at += segment.frames
        first = segment.parts[0]
        continues = first.start > 0 and first.clip in clips and clips[first.clip].same[first.start]
        parts.append(FrameFlags(window.black, (continues, *window.same[1:])))
    return join_flags(parts)


def _window_pieces(segments: Sequence[Segment], windows: FrameFlags) -> list[FrameFlags | None]:
    """Each encoded window's own flags (None for a copied segment), from the windows' joined flags."""
    pieces: list[FrameFlags | None] = []
    at = 0
    for segment in segments:
        if isinstance(segment, EncodeSegment):
            pieces.append(windows.part(at, at + segment.frames, continues=False))
            at += segment.frames
        else:
            pieces.append(None)
    return pieces


def _edge_needs(segments: Sequence[Segment], frames: Sequence[int], cuts: Sequence[Sequence[int]],
                clips: dict[int, FrameFlags], windows: FrameFlags) -> dict[int, list[tuple[int, int]]]:  # fmt: skip
    """Where the copied frames' flags must be exact because a run may cross into the piece beside them.

    A screened clip analysis (see `quality.analyse_clips`) is exact wherever a run long enough to be a
    finding lies within the clip; a run that goes on into a neighbouring piece only matters when that
    piece's frame next to it could continue the run: a window whose first frame is black or repeats the one
    before, the copied frames' last frame (frame e-1) and the window's first (the clip's frame e) are then
    asked for; a window whose last frame repeats the one before, the copied frames' first GOP.
    """
    needs: dict[int, list[tuple[int, int]]] = {c: [] for c in clips}
    pieces = _window_pieces(segments, windows)
    for k, segment in enumerate(segments):
        if not isinstance(segment, CopySegment):
            continue
        clip, start, end = segment.clip, segment.start, segment.end
        before = pieces[k - 1] if k > 0 else None
        if start > 0 and before is not None and (len(before) < 2 or before.same[-1]):
            later = [c for c in cuts[clip] if c > start]
            needs[clip].append((start, min(later[0] if later else end, end)))
        if k + 1 == len(segments):
            continue
        after, following = pieces[k + 1], segments[k + 1]
        if end < frames[clip]:  # a window goes on with this clip's frame `end`
            if after is None or len(after) < 2 or after.black[0] or after.same[1]:
                needs[clip].append((end - 1, end + 1))
        elif after is not None:
            if after.black[0]:
                needs[clip].append((end - 1, end))
        elif isinstance(following, CopySegment) and clips[following.clip].black[following.start]:
            needs[clip].append((end - 1, end))  # (a copied segment starts on a keyframe: its black flag is exact)
    return needs


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
    inline: InlineQuality | None = None,
) -> SmartOutcome:
    """Compose `paths` into `output` by encoding only the transition windows; see the module docstring.

    Returns `SmartOutcome(ok=False, reason=…)` without writing `output` when the clips do not qualify
    or an encoded window's parameters differ from the clips' (the caller then does a full re-encode).
    ffmpeg failures raise MediaError as in the full render. With `inline`, the quality detectors run on
    the windows as they are encoded and the copied frames' flags come from `analyse_clips` (cached per
    clip file, else screened while the windows encode); on success `inline.flags` covers every frame.
    """
    inline = inline if inline is not None and inline.active else None
    tracks = [read_video_track(p) for p in paths]
    reason = smart_ineligibility(tracks, frames, width=width, height=height, fps=fps)
    if reason is not None:
        return SmartOutcome(False, reason)
    cuts = [t.clean_cuts for t in tracks if t is not None]
    clean = [set(c) for c in cuts]
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

        copy_jobs = [(s, f) for s, f in zip(segments, files, strict=True) if isinstance(s, CopySegment)]
        copy_args: list[str] = ["-y"]
        for s, _ in copy_jobs:
            copy_args += ["-i", str(paths[s.clip])]
        for k, (s, file) in enumerate(copy_jobs):
            drop = _bsf_drop(s.start, s.end, cuts_total[s.clip])
            copy_args += ["-map", f"{k}:v:0", "-c", "copy", *drop, "-f", "mp4", str(file)]
        windows = [(s, f) for s, f in zip(segments, files, strict=True) if isinstance(s, EncodeSegment)]
        mismatch = SmartOutcome(False, "the encoded windows' codec parameters (SPS/PPS) differ from the clips'")

        def encode(group: Sequence[tuple[EncodeSegment, Path]], name: str) -> SmartOutcome | None:
            """Encode `group`'s windows in one run, cut into their files by packet count; None if all went well.

            One run for many windows warms the encoder up once; a keyframe is forced where each window starts.
            """
            starts = [sum(w.frames for w, _ in group[:k]) for k in range(len(group))]
            total = sum(w.frames for w, _ in group)
            encoded = group[0][1] if len(group) == 1 else folder / f"{name}.mp4"
            inputs, group_joins = [], []
            for k, (segment, _) in enumerate(group):
                group_joins += [Join("cut", 0)] if k else []  # the windows follow each other by cuts
                inputs += [ComposeInput(paths[p.clip], width, height, fps, p.frames, start_frame=p.start,
                                        start_is_keyframe=p.start in clean[p.clip])  # a copy ends there
                           for p in segment.parts]  # fmt: skip
                group_joins += segment.joins
            args = build_compose_command(inputs, group_joins, width=width, height=height, fps=fps, captions=None,
                                         output=encoded, preset=preset, crf=crf, detect=inline,
                                         detect_events=folder / f"{name}.quality.txt",
                                         keyframes=starts if len(group) > 1 else ())  # fmt: skip
            run_ffmpeg(args, what=f"encoding {len(group)} transition window(s) ({total} frames)")
            track = read_video_track(encoded)
            if track is None or track.config != config:
                return mismatch
            if len(group) > 1:
                if track.sample_count != total or not set(starts) <= set(track.clean_cuts):
                    return SmartOutcome(False, "the encoded windows do not start on clean keyframes")
                split = ["-y", "-i", str(encoded)]
                for (segment, file), start in zip(group, starts, strict=True):
                    split += ["-map", "0:v:0", "-c", "copy", *_bsf_drop(start, start + segment.frames, total)]
                    split += ["-f", "mp4", str(file)]
                run_ffmpeg(split, what="cutting the encoded windows apart")
            return None

        # The first window alone tells whether the encoder reproduces the clips' parameters (clips that match
        # each other but not the compose settings fall back after one short encode); the rest go in one run.
        # The copied clips' keyframe screening is cheap enough to start with them (kept in the cache if not used).
        groups = [("window-first", windows[:1]), ("windows-rest", windows[1:])]
        analysed = sorted({s.clip for s, _ in copy_jobs})  # the copied frames' flags come from their clip files
        clip_flags = None
        with ThreadPoolExecutor(max_workers=2) as side:
            copied = side.submit(run_ffmpeg, copy_args, what="copying the clips' unchanged frames")
            if inline is not None:  # screens (keyframes first) only clips not analysed before, beside the encodes
                clip_flags = side.submit(analyse_clips, [paths[c] for c in analysed], [frames[c] for c in analysed],
                                         thresholds=inline.thresholds, folder=folder,
                                         exact=[[] for _ in analysed])  # fmt: skip
            for name, group in groups:
                failed = encode(group, name) if group else None
                if failed is not None:  # (leaving the pool waits for the screening; its errors do not matter now)
                    copied.result()
                    return failed
            copied.result()
            flags = dict(zip(analysed, clip_flags.result(), strict=True)) if clip_flags is not None else None
        if inline is not None and flags is not None:
            window_flags = join_flags([read_flags(folder / f"{name}.quality.txt", sum(w.frames for w, _ in group))
                                       for name, group in groups])  # fmt: skip
            needs = _edge_needs(segments, frames, cuts, flags, window_flags)
            if any(needs.values()):  # runs that may go on into a window: those frames exactly (cached after)
                exact = analyse_clips([paths[c] for c in analysed], [frames[c] for c in analysed],
                                      thresholds=inline.thresholds, folder=folder,
                                      exact=[needs[c] for c in analysed])  # fmt: skip
                flags = dict(zip(analysed, exact, strict=True))
            inline.flags = _lesson_flags(segments, flags, window_flags)

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
