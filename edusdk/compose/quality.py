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
analysis of each clip file, done once per file and cached (`analyse_clips`). The detectors write
per-frame flags (`FrameFlags`: black, same picture as the frame before), and findings are runs of
those flags, so flags of pieces can be joined in output order (`join_flags`). The detectors see the
frames handed to the encoder; `check_quality` without `inline` decodes a finished file instead (same
findings up to the encoder's noise, see tests/test_compose_quality.py).

Example:
    >>> report = check_quality(Path("out/lesson.mp4"), duration_s=38.5)
    >>> [(f.kind, f.start_s, f.end_s) for f in report.findings]
    [('frozen', 12.0, 17.5)]
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ffmpeg

from edusdk._errors import BadInputError
from edusdk._media import run_ffmpeg
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


_CLIP_FLAGS: dict[tuple[object, ...], FrameFlags] = {}
_CLIP_FLAGS_LOCK = threading.Lock()
_CLIP_FLAGS_MAX = 256  # entries kept (a few KB each); the oldest go first


def _clip_key(path: Path, frames: int, thresholds: QualityThresholds) -> tuple[object, ...] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, frames, thresholds.black_pixel,
            thresholds.freeze_noise_db)  # fmt: skip


def analyse_clips(paths: Sequence[Path], frames: Sequence[int], *, thresholds: QualityThresholds,
                  folder: Path) -> list[FrameFlags]:  # fmt: skip
    """`FrameFlags` of the first `frames[i]` frames of each clip file, as decoded (no scaling or rate change).

    Each file is analysed once per process (keyed by path, size and modification time): clips that were
    analysed before cost nothing, the others are decoded together in one ffmpeg run (events under `folder`).

    Raises:
        MediaError: ffmpeg could not decode a clip.
    """
    keys = [_clip_key(Path(p), n, thresholds) for p, n in zip(paths, frames, strict=True)]
    with _CLIP_FLAGS_LOCK:
        found: dict[int, FrameFlags] = {i: _CLIP_FLAGS[k] for i, k in enumerate(keys) if k in _CLIP_FLAGS}
    missing = [i for i in range(len(paths)) if i not in found]
    if missing:
        events = {i: folder / f"quality-clip-{i:03d}.txt" for i in missing}
        # one decoder thread per clip: they decode side by side anyway, and frame threads cost ~6 % more CPU
        sources = {i: ffmpeg.input(Path(paths[i]), extra_options={"threads": "1"}).video for i in missing}
        outputs = [ffmpeg.output(detector(sources[i], events[i], thresholds), filename="-", f="null") for i in missing]
        command = (outputs[0] if len(outputs) == 1 else ffmpeg.merge_outputs(*outputs)).compile(overwrite_output=True)
        run_ffmpeg(command[1:], what=f"analysing {len(missing)} clip(s) for black and frozen frames")
        with _CLIP_FLAGS_LOCK:
            for i in missing:
                found[i] = read_flags(events[i], frames[i])
                key = keys[i]
                if key is not None:
                    _CLIP_FLAGS[key] = found[i]
            while len(_CLIP_FLAGS) > _CLIP_FLAGS_MAX:
                del _CLIP_FLAGS[next(iter(_CLIP_FLAGS))]
    return [found[i] for i in range(len(paths))]


def forget_clip_analyses() -> None:
    """Drop the cached clip analyses (benchmarks use it to measure a first render)."""
    with _CLIP_FLAGS_LOCK:
        _CLIP_FLAGS.clear()
