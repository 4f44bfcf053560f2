"""Quality checks on a composed video: black and frozen stretches.

ffmpeg's `blackdetect` and `freezedetect` look at every frame of the video; a stretch becomes a
`QualityFinding` only when it lasts at least its threshold:

* black: 2 s by default. A fade through black lasts well under that; two seconds of black is a gap.
* frozen: 4 s by default, above the usual 2-3 s of a held title. Scripts relax it with
  `variables: {max_freeze_s: 10}` (and `max_black_s` likewise), callers with
  `QualityThresholds(freeze_s=...)`; a threshold of 0 turns that check off.

Findings are reported (in `ComposeResult.quality` and the manifest), not raised: a lesson may legitimately
hold a frame, and only its author can tell. Each finding names the shot it starts in.

Shots that are static by design are not reported as frozen: a shot in `still` mode, or a clip whose
`metadata` says `static: true` (the whole clip) or `static_from_frame: k` (the storyboard engine's card,
still once its last item has faded in), see `static_spans`. A freeze that outlasts such a shot by at
least the threshold is still reported, trimmed to the part outside it.

No second decode: the composer runs the detectors inside the ffmpeg runs that make the video
(`InlineQuality`). The full re-encode splits its output frames into the detectors; the smart render
analyses only what it encodes (the transition windows) and takes the copied frames' flags from an
analysis of each clip file, cached per file (`analyse_clips`). The detectors write per-frame flags
(`FrameFlags`: black, same picture as the frame that began the still stretch), and findings are runs of
those flags, so flags of pieces can be joined in output order (`join_flags`). The detectors see the
frames handed to the encoder; `check_quality` without `inline` decodes a finished file instead (same
findings up to the encoder's noise, see tests/test_compose_quality.py).

Keyframe screening (`analyse_clips(..., exact=...)`, what smart rendering uses): a finding is a run at
least as long as its threshold, and edusdk's clips have a keyframe every second (closed GOPs), so most of
a clip need not be decoded to find them all. With g the largest keyframe interval (read from the MP4's
sample table, no decode) and B, F the fewest frames a black / frozen finding spans:

* keyframes only are decoded first (`-skip_frame nokey`, an I-frame decodes exactly), through blackdetect
  and scdet (luma difference to the keyframe before);
* black: when g ≤ B, every black run long enough holds a keyframe, and that keyframe is black; the GOP
  before each black keyframe and its own GOP are decoded (blackdetect judges each frame alone: exact);
* frozen: freezedetect compares each frame with the first of its still stretch within the noise n, so two
  keyframes of a stretch are within 2n of each other (the difference is a mean absolute difference, a
  distance); when 2g ≤ F, every stretch long enough holds two consecutive keyframes. scdet measures luma
  only and freezedetect all planes (4:2:0: 1.5× the luma pixels), so luma within 2·1.5·n (plus scdet's
  rounding) marks a candidate pair; each chain of candidates is decoded from the GOP before it to its last
  keyframe's GOP. A decode started mid-clip has a fresh freezedetect, which may disagree with the full
  decode until both start a stretch on the same frame: a frame whose luma differs from the one before by
  more than that bound differs from every frame near the one before by more than n, so both do. Flags count
  from the first such frame after the range's start (or from frame 0); when none comes before the chain,
  the range is decoded again from one keyframe earlier, then from the clip's start;
* runs can go on into the next piece of the lesson: the caller names the frames next to such pieces
  (`exact`), when the piece's frame beside them could continue a run, and they are decoded the same way;
* every other frame is flagged not black and not frozen. Flags are never True where a full decode's are
  False, and exact on every run that makes a finding, so the findings are the full decode's.

A clip is decoded whole instead (the analysis says why, `ClipAnalysis.reason`) when g is over B or F/2
(sparse or irregular keyframes, short thresholds), the file is not a constant-rate MP4 whose decoded
keyframes are its clean cuts, its pixels are not 8-bit 4:2:0, or a range did not decode where asked.
A threshold of 0 turns its check and its screening off.

Example:
    >>> report = check_quality(Path("out/lesson.mp4"), duration_s=38.5)
    >>> [(f.kind, f.start_s, f.end_s) for f in report.findings]
    [('frozen', 12.0, 17.5)]
"""

from __future__ import annotations

import math
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import ffmpeg
from ffmpeg.dag.nodes import OutputStream

from edusdk._errors import BadInputError
from edusdk._media import run_ffmpeg
from edusdk.compose.mp4 import VideoTrack, read_video_track
from edusdk.models.engine import Clip
from edusdk.models.lesson import TimelineEntry
from edusdk.models.script import Script

DEFAULT_BLACK_S = 2.0
DEFAULT_FREEZE_S = 4.0
_BLACK = re.compile(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)")
_FREEZE_START = re.compile(r"lavfi\.freezedetect\.freeze_start:\s*([\d.]+)")
_FREEZE_END = re.compile(r"lavfi\.freezedetect\.freeze_end:\s*([\d.]+)")


@dataclass(frozen=True)
class QualityThresholds:
    """The shortest black / frozen stretch (seconds) worth flagging; 0 turns that check off."""

    black_s: float = DEFAULT_BLACK_S
    freeze_s: float = DEFAULT_FREEZE_S
    black_pixel: float = 0.10  # a pixel darker than 10 % of the range counts as black
    freeze_noise_db: float = -60.0  # frames closer than this count as the same picture

    @classmethod
    def for_script(cls, script: Script, base: QualityThresholds | None = None) -> QualityThresholds:
        """`base` (or the defaults) with the script's `max_black_s` / `max_freeze_s` variables applied.

        Raises:
            BadInputError: a variable that is not a non-negative number, naming it.
        """
        base = base or cls()
        values = {"black_s": base.black_s, "freeze_s": base.freeze_s}
        for name, key in (("max_black_s", "black_s"), ("max_freeze_s", "freeze_s")):
            if name not in script.variables:
                continue
            raw = script.variables[name]
            try:
                value = float(raw)
            except ValueError:
                raise BadInputError(f"script variable {name}={raw!r} must be a number of seconds") from None
            if value < 0:
                raise BadInputError(f"script variable {name}={raw!r} must not be negative")
            values[key] = value
        return cls(values["black_s"], values["freeze_s"], base.black_pixel, base.freeze_noise_db)


@dataclass(frozen=True)
class QualityFinding:
    """One flagged stretch of the video."""

    kind: str  # "black" | "frozen"
    start_s: float
    end_s: float
    shot_id: str = ""  # the shot it starts in, when the caller knows the timeline

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class QualityReport:
    """What the checks found, and the thresholds they used."""

    thresholds: QualityThresholds
    findings: list[QualityFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, object]:
        """The manifest's `compose.quality` entry."""
        return {
            "ok": self.ok,
            "black_threshold_s": self.thresholds.black_s,
            "freeze_threshold_s": self.thresholds.freeze_s,
            "findings": [
                {"kind": f.kind, "start_s": round(f.start_s, 3), "end_s": round(f.end_s, 3), "shot_id": f.shot_id}
                for f in self.findings
            ],
        }


def quality_filters(thresholds: QualityThresholds) -> str:
    """The detection chain for `thresholds` (empty when both checks are off)."""
    chain = []
    if thresholds.black_s > 0:
        chain.append(f"blackdetect=d={thresholds.black_s:g}:pix_th={thresholds.black_pixel:g}")
    if thresholds.freeze_s > 0:
        chain.append(f"freezedetect=n={thresholds.freeze_noise_db:g}dB:d={thresholds.freeze_s:g}")
    return ",".join(chain)


def parse_findings(log: str, *, duration_s: float) -> list[QualityFinding]:
    """Findings from ffmpeg's blackdetect/freezedetect log lines; a freeze still open at the end ends there.

    Example:
        >>> parse_findings("black_start:0 black_end:2.5 black_duration:2.5", duration_s=9)
        [QualityFinding(kind='black', start_s=0.0, end_s=2.5, shot_id='')]
    """
    found = [QualityFinding("black", float(a), float(b)) for a, b in _BLACK.findall(log)]
    starts = [float(s) for s in _FREEZE_START.findall(log)]
    ends = [float(e) for e in _FREEZE_END.findall(log)]
    for i, start in enumerate(starts):
        found.append(QualityFinding("frozen", start, ends[i] if i < len(ends) else duration_s))
    return sorted(found, key=lambda f: (f.start_s, f.kind))


def check_quality(video: Path, *, duration_s: float, thresholds: QualityThresholds | None = None,
                  inline: InlineQuality | None = None) -> QualityReport:  # fmt: skip
    """The black / frozen stretches of `video` at least as long as the thresholds.

    With `inline` (the detectors ran while the video was made, see `InlineQuality`) nothing is decoded;
    otherwise `video` is decoded once through blackdetect and freezedetect.

    Raises:
        MediaError: ffmpeg could not decode the video.
    """
    thresholds = thresholds or QualityThresholds()
    if inline is not None:
        report = inline.report(thresholds)
        if report is not None:
            return report
    chain = quality_filters(thresholds)
    if not chain:
        return QualityReport(thresholds)
    log = run_ffmpeg(["-i", str(video), "-map", "0:v:0", "-vf", chain, "-an", "-sn", "-f", "null", "-"],
                     what=f"checking {video.name}", loglevel="info")  # fmt: skip
    findings = [
        f
        for f in parse_findings(log, duration_s=duration_s)
        if f.duration_s + 1e-6 >= (thresholds.black_s if f.kind == "black" else thresholds.freeze_s)
    ]
    return QualityReport(thresholds, findings)


def in_shots(report: QualityReport, timeline: Sequence[TimelineEntry],
             static: Sequence[tuple[float, float]] = ()) -> QualityReport:  # fmt: skip
    """`report` with each finding labelled with the shot (timeline segment) it starts in.

    `static` (see `static_spans`) lists stretches that hold still by design: frozen findings lose those
    parts, and are dropped when what is left is shorter than the freeze threshold.
    """
    labelled = []
    for f in _without_static(report, static):
        shot = next((e.shot_id for e in timeline if e.start_s - 1e-6 <= f.start_s < e.end_s), "")
        labelled.append(QualityFinding(f.kind, f.start_s, f.end_s, shot or (timeline[-1].shot_id if timeline else "")))
    return QualityReport(report.thresholds, labelled)


# --------------------------------------------------------------------------------------- static by design


def static_spans(script: Script, clips: Sequence[Clip], timeline: Sequence[TimelineEntry]) -> list[tuple[float, float]]:
    """Where the lesson holds still by design, in seconds: `still` shots, and clips whose metadata says so.

    A clip's `metadata["static"] = True` marks the whole clip; `metadata["static_from_frame"] = k` (the
    storyboard engine sets it) marks its frames from k on. Spans run to the clip's last visible frame.

    Example:
        >>> static_spans(script, clips, timeline)  # shot 2 is a `still` card on screen from 11.5 s to 18 s
        [(11.5, 18.0)]
    """
    spans = []
    for shot, clip, entry in zip(script.shots, clips, timeline, strict=False):
        meta = clip.metadata
        start = meta.get("static_from_frame")
        if shot.mode == "still" or meta.get("static") is True:
            start = 0
        if isinstance(start, int) and not isinstance(start, bool) and 0 <= start < clip.num_frames:
            spans.append((entry.visible_start_s + start / clip.fps, entry.visible_end_s))
    return spans


def _without_static(report: QualityReport, static: Sequence[tuple[float, float]]) -> list[QualityFinding]:
    """The findings with the static-by-design spans cut out of frozen ones (parts shorter than the threshold go)."""
    kept = []
    for f in report.findings:
        if f.kind != "frozen" or not static:
            kept.append(f)
            continue
        pieces = [(f.start_s, f.end_s)]
        for a, b in sorted(static):
            pieces = [p for s, e in pieces for p in ((s, min(e, a)), (max(s, b), e)) if p[1] - p[0] > 1e-6]
        kept += [QualityFinding(f.kind, s, e, f.shot_id) for s, e in pieces
                 if e - s + 1e-6 >= report.thresholds.freeze_s]  # fmt: skip
    return kept


# --------------------------------------------------------------------------------- per-frame flags, inline


@dataclass(frozen=True)
class FrameFlags:
    """The detectors' verdict on each frame of one stream.

    `black[i]`: frame i is black (blackdetect's pixel and picture thresholds). `same[i]`: frame i shows the
    same picture (within freezedetect's noise) as the frame that began its still stretch, i.e. it continues
    a freeze; `same[0]` says whether the first frame continues whatever came before it.
    """

    black: tuple[bool, ...]
    same: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.black)

    def part(self, start: int, end: int, *, continues: bool) -> FrameFlags:
        """Frames [start, end); `continues` is False when the frame before `start` is not the one shown before it."""
        same = self.same[start:end]
        if same and not continues:
            same = (False, *same[1:])
        return FrameFlags(self.black[start:end], same)


def join_flags(parts: Sequence[FrameFlags]) -> FrameFlags:
    """The flags of the pieces' frames played one after another."""
    return FrameFlags(tuple(b for p in parts for b in p.black), tuple(s for p in parts for s in p.same))


def detector(stream: ffmpeg.VideoStream, file: Path, thresholds: QualityThresholds) -> ffmpeg.VideoStream:
    """`stream` through blackdetect and freezedetect (reporting every stretch), their events written to `file`.

    Send the result to a `null` output; `read_flags(file, frames)` turns the events into `FrameFlags`.
    """
    noise = 10 ** (thresholds.freeze_noise_db / 20)  # freezedetect's n as a ratio: -60 dB = 0.001
    stream = stream.blackdetect(d=0, pixel_black_th=thresholds.black_pixel).freezedetect(n=noise, d=0)
    return stream.metadata(mode="print", file=str(file))


_META_FRAME = re.compile(r"^frame:(\d+)\s")


def read_flags(file: Path, frames: int) -> FrameFlags:
    """`FrameFlags` for `frames` frames from a `detector`'s events (a stretch still open at the end runs to it).

    blackdetect marks the first black frame (`lavfi.black_start`) and the first one after (`black_end`);
    freezedetect with d=0 marks the first frame equal to the one before (`freeze_start`) and the first
    that differs (`freeze_end`).
    """
    black, same = [False] * frames, [False] * frames
    frame, black_from, same_from = 0, -1, -1
    for line in file.read_text(encoding="utf-8").splitlines() if file.is_file() else []:
        head = _META_FRAME.match(line)
        if head:
            frame = int(head.group(1))
        elif line.startswith("lavfi.black_start="):
            black_from = frame
        elif line.startswith("lavfi.black_end=") and black_from >= 0:
            black[black_from:frame] = [True] * (min(frame, frames) - min(black_from, frames))
            black_from = -1
        elif line.startswith("lavfi.freezedetect.freeze_start="):
            same_from = frame
        elif line.startswith("lavfi.freezedetect.freeze_end=") and same_from >= 0:
            same[same_from:frame] = [True] * (min(frame, frames) - min(same_from, frames))
            same_from = -1
    if black_from >= 0:
        black[black_from:] = [True] * max(0, frames - black_from)
    if same_from >= 0:
        same[same_from:] = [True] * max(0, frames - same_from)
    return FrameFlags(tuple(black[:frames]), tuple(same[:frames]))


def findings_from_flags(flags: FrameFlags, *, fps: float, thresholds: QualityThresholds) -> list[QualityFinding]:
    """The black and frozen stretches of `flags` at least as long as the thresholds (0 turns a check off).

    Example:
        >>> flags = FrameFlags(black=(True,) * 3 + (False,) * 3, same=(False,) + (True,) * 5)
        >>> findings_from_flags(flags, fps=1, thresholds=QualityThresholds(black_s=2, freeze_s=6))
        [QualityFinding(kind='black', start_s=0.0, end_s=3.0, shot_id=''), QualityFinding(kind='frozen', ...)]
    """
    found = []
    for kind, values, limit in (
        ("black", flags.black, thresholds.black_s),
        ("frozen", flags.same, thresholds.freeze_s),
    ):
        if limit <= 0:
            continue
        i, n = 0, len(values)
        while i < n:
            if not values[i]:
                i += 1
                continue
            j = i
            while j < n and values[j]:
                j += 1
            start = i if kind == "black" else max(0, i - 1)  # a freeze begins at the frame the others repeat
            if (j - start) / fps + 1e-6 >= limit:
                found.append(QualityFinding(kind, start / fps, j / fps))
            i = j
    return sorted(found, key=lambda f: (f.start_s, f.kind))


@dataclass
class InlineQuality:
    """Detector results gathered while composing, so the quality check decodes nothing again.

    The composer either sets `flags` (smart rendering joins the flags of its pieces) or writes the whole
    output's detector events to `output_events` (the full re-encode); `check_quality(..., inline=...)`
    uses them, and decodes the video only when neither happened.

    Example:
        >>> inline = InlineQuality(Path(work), fps=30, frames=1665, thresholds=QualityThresholds())
        >>> args = build_compose_command(..., detect=inline)
    """

    folder: Path
    fps: int
    frames: int
    thresholds: QualityThresholds
    flags: FrameFlags | None = None

    @property
    def output_events(self) -> Path:
        return self.folder / "quality-output.txt"

    @property
    def active(self) -> bool:
        """Whether any check is on (with both thresholds at 0 the composer runs no detector)."""
        return self.thresholds.black_s > 0 or self.thresholds.freeze_s > 0

    def report(self, thresholds: QualityThresholds | None = None) -> QualityReport | None:
        """The findings from the gathered flags, or None when the composer gathered none for every frame."""
        flags = self.flags
        if flags is None and self.output_events.is_file():
            flags = read_flags(self.output_events, self.frames)
        if flags is None or len(flags) != self.frames:
            return None
        limits = thresholds or self.thresholds
        return QualityReport(limits, findings_from_flags(flags, fps=self.fps, thresholds=limits))


# --------------------------------------------------------------------------- clip analyses: keyframe screening


@dataclass(frozen=True)
class ClipAnalysis:
    """One clip file's `FrameFlags` and how they were found.

    `mode` is "full" (every frame decoded through the detectors) or "screened" (keyframes screened, only the
    GOPs findings can depend on decoded, see the module docstring); `decoded` counts the frames decoded for
    it (keyframes included), `reason` says why a clip was not screened.
    """

    flags: FrameFlags
    mode: str
    decoded: int
    reason: str = ""


@dataclass
class _Screened:
    """What keyframe screening knows of one clip: flags, which frames they are exact for, and its keyframes.

    `decoded[i]`: frame i was decoded (its black flag is exact). `synced[i]`: frame i was decoded after a
    point where the detectors' state is certainly the full decode's (its `same` flag is exact, and so is
    every flag of the frozen stretch it belongs to, back to that stretch's first frame). Other flags are
    False, which is never more than the full decode says.
    """

    limits: tuple[float, float]  # the (black_s, freeze_s) it was screened for
    fps: float
    start_s: float  # presentation time of frame 0 (decoded ranges are mapped back by time)
    keys: list[int]  # keyframes (clean cuts), ascending, keys[0] == 0
    key_black: list[bool]
    key_mafd: list[float]  # scdet's luma MAFD (percent) between each keyframe and the one before
    bound: float  # a scdet MAFD above this ⇒ the two frames differ by more than twice freezedetect's noise
    black: list[bool]
    same: list[bool]
    decoded: list[bool]
    synced: list[bool]
    decodes: int = 0  # frames decoded so far

    def copy(self) -> _Screened:
        return replace(self, black=list(self.black), same=list(self.same), decoded=list(self.decoded),
                       synced=list(self.synced))  # fmt: skip

    def flags(self) -> FrameFlags:
        return FrameFlags(tuple(self.black), tuple(self.same))

    def ends(self) -> list[int]:
        """Where each keyframe's GOP ends (the next keyframe, or the clip's end)."""
        return [*self.keys[1:], len(self.black)]

    def satisfied(self, need: tuple[int, int, bool]) -> bool:
        u, v, sync = need
        return all((self.synced if sync else self.decoded)[u:v])

    def start_for(self, need: tuple[int, int, bool], attempt: int) -> int:
        """Where to start decoding for `need`: its GOP (no sync needed), else the keyframe before u, else 0."""
        u, _, sync = need
        if not sync:
            return self.keys[bisect_right(self.keys, u) - 1]
        if u == 0 or attempt >= _SCREEN_ATTEMPTS - 1:
            return 0  # decoding from the clip's first frame is the full decode's state: exact from there
        return self.keys[max(0, bisect_left(self.keys, u) - 1)]

    def apply(self, start: int, local: FrameFlags, mafd: Sequence[float]) -> None:
        """Record frames [start, start + len(local)) decoded with fresh detectors from keyframe `start`.

        Black flags are exact everywhere (blackdetect looks at one frame). freezedetect compares each frame
        with the first frame of its still stretch, so a fresh start may disagree with the full decode until
        both reset on the same frame: at `start` 0, or at a frame whose luma differs from the frame before by
        more than `bound` (then it differs by more than twice the noise, so it is no frame's near copy: both
        detectors start a new stretch there). `same` is kept from that frame on.
        """
        end = start + len(local)
        self.black[start:end] = local.black
        self.decoded[start:end] = [True] * len(local)
        self.decodes += len(local)
        sync = start if start == 0 else next((start + i for i in range(1, len(local)) if mafd[i] > self.bound), end)
        for i in range(sync, end):
            self.same[i] = local.same[i - start]
            self.synced[i] = True


_SCREEN_ATTEMPTS = 2  # decode rounds for a need: from the keyframe before it, then from the clip's start
_META_TIME = re.compile(r"^frame:(\d+)\s+pts:\S+\s+pts_time:(\S+)")
_INPUT_VIDEO = re.compile(r"Stream #(\d+):\d+\S*: Video: [^,\n]+, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)")
_SCREEN_FORMATS = ("yuv420p", "yuvj420p")  # 8-bit 4:2:0, the formats `bound` is worked out for


def _min_frames(limit: float, fps: float) -> int:
    """The fewest frames a run needs to be a finding (as `findings_from_flags` measures it)."""
    frames = max(1, math.ceil((limit - 1e-6) * fps) - 1)
    while frames / fps + 1e-6 < limit:
        frames += 1
    return frames


def _read_times_and_mafd(file: Path, frames: int) -> tuple[list[float | None], list[float]]:
    """Each frame's presentation time and scdet MAFD from a `metadata=print` file (None/0 where missing)."""
    times: list[float | None] = [None] * frames
    mafd = [0.0] * frames
    frame = -1
    for line in file.read_text(encoding="utf-8").splitlines() if file.is_file() else []:
        head = _META_TIME.match(line)
        if head:
            frame = int(head.group(1))
            if frame < frames:
                try:
                    times[frame] = float(head.group(2))
                except ValueError:
                    times[frame] = None
        elif line.startswith("lavfi.scd.mafd=") and 0 <= frame < frames:
            mafd[frame] = float(line.split("=", 1)[1])
    return times, mafd


def _screen_chain(stream: ffmpeg.VideoStream, file: Path, thresholds: QualityThresholds, *,
                  freeze: bool) -> ffmpeg.VideoStream:  # fmt: skip
    """`detector` (or its blackdetect alone) plus scdet, whose luma MAFD to the frame before tells where
    freezedetect's state is known; events written to `file`."""
    stream = stream.blackdetect(d=0, pixel_black_th=thresholds.black_pixel)
    if freeze:
        stream = stream.freezedetect(n=10 ** (thresholds.freeze_noise_db / 20), d=0)
    return stream.scdet().metadata(mode="print", file=str(file))


def _run_outputs(outputs: Sequence[OutputStream], *, what: str, loglevel: str = "error") -> str:
    command = (outputs[0] if len(outputs) == 1 else ffmpeg.merge_outputs(*outputs)).compile(overwrite_output=True)
    return run_ffmpeg(["-copyts", *command[1:]], what=what, loglevel=loglevel)


def _screen(paths: dict[int, Path], frames: dict[int, int], thresholds: QualityThresholds,
            folder: Path) -> tuple[dict[int, _Screened], dict[int, str]]:  # fmt: skip
    """Decode only the keyframes of the clips that qualify (one ffmpeg run); the others, with the reason."""
    screened: dict[int, _Screened] = {}
    refused: dict[int, str] = {}
    tracks: dict[int, tuple[list[int], float]] = {}
    for i, path in paths.items():
        track = read_video_track(path)
        reason = _screen_refusal(track, frames[i], thresholds)
        if reason or track is None or track.fps is None:
            refused[i] = reason or "not a constant-rate MP4"
        else:
            tracks[i] = (track.clean_cuts, track.fps)
    if not tracks:
        return screened, refused
    order = sorted(tracks)
    events = {i: folder / f"quality-keys-{i:03d}.txt" for i in order}
    outputs = []
    for i in order:
        source = ffmpeg.input(paths[i], extra_options={"threads": "1", "skip_frame": "nokey"}).video
        outputs.append(ffmpeg.output(_screen_chain(source, events[i], thresholds, freeze=False), filename="-",
                                     f="null"))  # fmt: skip
    log = _run_outputs(outputs, what=f"screening the keyframes of {len(order)} clip(s)", loglevel="info")
    formats: dict[int, tuple[str, int, int]] = {}
    for m in _INPUT_VIDEO.finditer(log.split("Stream mapping:")[0]):  # each input's first video stream
        formats.setdefault(int(m.group(1)), (m.group(2), int(m.group(3)), int(m.group(4))))
    for position, i in enumerate(order):
        keys, fps = tracks[i]
        pix, width, height = formats.get(position, ("?", 0, 0))
        if pix not in _SCREEN_FORMATS or width < 2 or height < 2:
            refused[i] = f"pixel format {pix} {width}x{height} is not 8-bit 4:2:0"
            continue
        local = read_flags(events[i], len(keys))
        times, mafd = _read_times_and_mafd(events[i], len(keys))
        start = times[0]
        found = [round((t - start) * fps) if t is not None and start is not None else -1 for t in times]
        if found != keys:
            refused[i] = "its decoded keyframes are not its clean cuts"
            continue
        # freezedetect's MAFD counts all three planes, scdet's only luma: luma ≤ k × all, with k = all / luma pixels
        k = (width * height + 2 * ((width + 1) // 2) * (height >> 1)) / (width * height)
        noise = 10 ** (thresholds.freeze_noise_db / 20)
        n = frames[i]
        item = _Screened(limits=(thresholds.black_s, thresholds.freeze_s), fps=fps, start_s=start or 0.0,
                         keys=keys, key_black=list(local.black), key_mafd=mafd, bound=200 * k * noise + 0.001,
                         black=[False] * n, same=[False] * n, decoded=[False] * n, synced=[False] * n,
                         decodes=len(keys))  # fmt: skip
        for key, black in zip(keys, local.black, strict=True):
            item.black[key], item.decoded[key] = black, True
        screened[i] = item
    return screened, refused


def _screen_refusal(track: VideoTrack | None, frames: int, thresholds: QualityThresholds) -> str:
    """Why the clip cannot be screened (its findings could differ from a full decode), or "" if it can."""
    if track is None or track.fps is None or not track.clean_cuts:
        return "not an MP4 with a constant frame rate and keyframes"
    if track.sample_count != frames or track.clean_cuts[0] != 0:
        return "its frames are not the ones analysed"
    keys = track.clean_cuts
    gap = max(b - a for a, b in zip(keys, [*keys[1:], frames], strict=True))
    if thresholds.black_s > 0 and gap > _min_frames(thresholds.black_s, track.fps):
        return f"keyframes up to {gap} frames apart: a black stretch could fall between two"
    if thresholds.freeze_s > 0 and 2 * gap > _min_frames(thresholds.freeze_s, track.fps):
        return f"keyframes up to {gap} frames apart: a freeze could hold fewer than two"
    return ""


def _screen_needs(item: _Screened, thresholds: QualityThresholds) -> list[tuple[int, int, bool]]:
    """The ranges whose flags must be exact: every GOP a finding can reach, as the keyframes tell.

    A black run at least `black_s` long holds a keyframe (keyframes are at most that far apart), and that
    keyframe is black: decode its GOP and the one before. A frozen stretch at least `freeze_s` long holds
    two consecutive keyframes, each within the noise of the stretch's first frame, so within twice the noise
    of each other: decode each chain of such keyframes from the GOP before its first to the GOP of its last,
    exactly (`synced`) from its first keyframe on.
    """
    needs: list[tuple[int, int, bool]] = []
    keys, ends = item.keys, item.ends()
    if thresholds.black_s > 0:
        needs += [(keys[max(0, j - 1)], ends[j], False) for j, black in enumerate(item.key_black) if black]
    if thresholds.freeze_s > 0:
        close = [j > 0 and item.key_mafd[j] <= item.bound for j in range(len(keys))]  # keyframe j ~ j-1
        j = 1
        while j < len(keys):
            if not close[j]:
                j += 1
                continue
            first = j - 1
            while j < len(keys) and close[j]:
                j += 1
            needs.append((keys[first], ends[j - 1], True))
    return needs


def _resolve(items: dict[int, _Screened], needs: dict[int, list[tuple[int, int, bool]]], paths: dict[int, Path],
             thresholds: QualityThresholds, folder: Path) -> set[int]:  # fmt: skip
    """Decode until every need is met (a few rounds at most); the clips whose ranges did not decode as planned."""
    failed: set[int] = set()
    for attempt in range(_SCREEN_ATTEMPTS):
        jobs: list[tuple[int, int, int]] = []
        for i, item in items.items():
            if i in failed:
                continue
            spans = sorted((item.start_for(n, attempt), n[1]) for n in needs.get(i, []) if not item.satisfied(n))
            merged: list[list[int]] = []
            for a, b in spans:
                if merged and a <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], b)
                else:
                    merged.append([a, b])
            jobs += [(i, a, b) for a, b in merged]
        if not jobs:
            return failed
        events = [folder / f"quality-range-{attempt}-{n:03d}.txt" for n in range(len(jobs))]
        outputs = []
        for (i, a, b), file in zip(jobs, events, strict=True):
            item = items[i]
            if a:  # MP4 seeks by presentation time: half a frame after keyframe a lands on it
                at = f"{(a + 0.5) / item.fps:.6f}"
                source = ffmpeg.input(paths[i], ss=at, accurate_seek=False, extra_options={"threads": "1"}).video
            else:
                source = ffmpeg.input(paths[i], extra_options={"threads": "1"}).video
            chain = _screen_chain(source, file, thresholds, freeze=True)
            outputs.append(ffmpeg.output(chain, filename="-", f="null", extra_options={"frames:v": b - a}))
        _run_outputs(outputs, what=f"decoding {len(jobs)} range(s) of screened clips")
        for (i, a, b), file in zip(jobs, events, strict=True):
            item = items[i]
            times, mafd = _read_times_and_mafd(file, b - a)
            first = times[0]
            if first is None or round((first - item.start_s) * item.fps) != a or None in times:
                failed.add(i)  # the seek did not land on the keyframe asked for: do not guess
                continue
            item.apply(a, read_flags(file, b - a), mafd)
    return failed | {i for i, item in items.items() if not all(item.satisfied(n) for n in needs.get(i, []))}


_CLIP_FLAGS: dict[tuple[object, ...], FrameFlags | _Screened] = {}
_CLIP_FLAGS_LOCK = threading.Lock()
_CLIP_FLAGS_MAX = 256  # entries kept (a few KB each); the oldest go first


def _clip_key(path: Path, frames: int, thresholds: QualityThresholds) -> tuple[object, ...] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, frames, thresholds.black_pixel,
            thresholds.freeze_noise_db)  # fmt: skip


def _remember(key: tuple[object, ...] | None, entry: FrameFlags | _Screened) -> None:
    if key is None:
        return
    with _CLIP_FLAGS_LOCK:
        if isinstance(_CLIP_FLAGS.get(key), FrameFlags) and isinstance(entry, _Screened):
            return  # a full analysis answers every question: keep it
        _CLIP_FLAGS[key] = entry
        while len(_CLIP_FLAGS) > _CLIP_FLAGS_MAX:
            del _CLIP_FLAGS[next(iter(_CLIP_FLAGS))]


def analyse_clip_details(paths: Sequence[Path], frames: Sequence[int], *, thresholds: QualityThresholds, folder: Path,
                         exact: Sequence[Sequence[tuple[int, int]]] | None = None) -> list[ClipAnalysis]:  # fmt: skip
    """`analyse_clips`, saying for each clip how its flags were found (see `ClipAnalysis`)."""
    keys = [_clip_key(Path(p), n, thresholds) for p, n in zip(paths, frames, strict=True)]
    limits = (thresholds.black_s, thresholds.freeze_s)
    with _CLIP_FLAGS_LOCK:
        cached = {i: _CLIP_FLAGS.get(k) for i, k in enumerate(keys) if k is not None}
    result: dict[int, ClipAnalysis] = {}
    screens: dict[int, _Screened] = {}
    for i, entry in cached.items():
        if isinstance(entry, FrameFlags):
            result[i] = ClipAnalysis(entry, "full", 0)
        elif isinstance(entry, _Screened) and exact is not None and entry.limits == limits:
            screens[i] = entry.copy()
    reasons: dict[int, str] = {}
    missing = {i: Path(paths[i]) for i in range(len(paths)) if i not in result and i not in screens}
    if exact is not None and missing:
        fresh, reasons = _screen(missing, {i: frames[i] for i in missing}, thresholds, folder)
        screens.update(fresh)
    if screens:
        assert exact is not None
        needs: dict[int, list[tuple[int, int, bool]]] = {}
        sync = thresholds.freeze_s > 0
        for i, item in screens.items():
            n = frames[i]
            asked = [(max(0, u), min(v, n), sync) for u, v in exact[i] if max(0, u) < min(v, n)]
            needs[i] = _screen_needs(item, thresholds) + asked
        for i in _resolve(screens, needs, {i: Path(paths[i]) for i in screens}, thresholds, folder):
            reasons[i] = "its decoded ranges did not line up with its keyframes"
            del screens[i]
        for i, item in screens.items():
            _remember(keys[i], item)
            result[i] = ClipAnalysis(item.flags(), "screened", item.decodes)
    full = [i for i in range(len(paths)) if i not in result]
    if full:
        events = {i: folder / f"quality-clip-{i:03d}.txt" for i in full}
        # one decoder thread per clip: they decode side by side anyway, and frame threads cost ~6 % more CPU
        sources = {i: ffmpeg.input(Path(paths[i]), extra_options={"threads": "1"}).video for i in full}
        outputs = [ffmpeg.output(detector(sources[i], events[i], thresholds), filename="-", f="null") for i in full]
        command = (outputs[0] if len(outputs) == 1 else ffmpeg.merge_outputs(*outputs)).compile(overwrite_output=True)
        run_ffmpeg(command[1:], what=f"analysing {len(full)} clip(s) for black and frozen frames")
        for i in full:
            flags = read_flags(events[i], frames[i])
            _remember(keys[i], flags)
            result[i] = ClipAnalysis(flags, "full", frames[i], reasons.get(i, ""))
    return [result[i] for i in range(len(paths))]


def analyse_clips(paths: Sequence[Path], frames: Sequence[int], *, thresholds: QualityThresholds, folder: Path,
                  exact: Sequence[Sequence[tuple[int, int]]] | None = None) -> list[FrameFlags]:  # fmt: skip
    """`FrameFlags` of the first `frames[i]` frames of each clip file, as decoded (no scaling or rate change).

    Without `exact`, every frame's flags are the detectors' (each clip decoded whole). With `exact` (one list
    of frame ranges per clip), a clip that qualifies is screened instead (see the module docstring): its
    flags are exact wherever a finding of `thresholds` can lie, and over each range [u, v) of `exact[i]`
    together with the black run and frozen stretch that frame u belongs to; elsewhere they are False.
    Each file is analysed once per process (keyed by path, size and modification time): clips analysed
    before cost nothing or only the ranges not decoded yet; the others are decoded together in one ffmpeg
    run per step (events under `folder`).

    Raises:
        MediaError: ffmpeg could not decode a clip.
    """
    details = analyse_clip_details(paths, frames, thresholds=thresholds, folder=folder, exact=exact)
    return [d.flags for d in details]


def forget_clip_analyses() -> None:
    """Drop the cached clip analyses (benchmarks use it to measure a first render)."""
    with _CLIP_FLAGS_LOCK:
        _CLIP_FLAGS.clear()
