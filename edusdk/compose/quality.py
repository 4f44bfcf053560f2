"""Quality checks on a composed video: black and frozen stretches, found in one decode pass.

ffmpeg's `blackdetect` and `freezedetect` run in one filter chain over the final video (`-f null`, nothing
is written); their log lines become `QualityFinding`s. A stretch is flagged only when it lasts at least
its threshold:

* black: 2 s by default. A fade through black lasts well under that; two seconds of black is a gap.
* frozen: 4 s by default. Storyboard shots are static cards, and a card that holds still for a whole
  short shot is by design, so the limit sits above the usual 2-3 s title card. Scripts with longer
  static shots relax it with `variables: {max_freeze_s: 10}` (and `max_black_s` likewise), callers with
  `QualityThresholds(freeze_s=...)`; a threshold of 0 turns that check off.

Findings are reported (in `ComposeResult.quality` and the manifest), not raised: a lesson may legitimately
hold a frame, and only its author can tell. Each finding names the shot it starts in. Lessons from the
storyboard engine (static cards) typically report frozen stretches for cards longer than 4 s: expected,
and relaxed per script with `max_freeze_s`.

Example:
    >>> report = check_quality(Path("out/lesson.mp4"), duration_s=38.5)
    >>> [(f.kind, f.start_s, f.end_s) for f in report.findings]
    [('frozen', 12.0, 17.5)]
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from edusdk._errors import BadInputError, MediaError
from edusdk._media import ffmpeg_exe
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


def check_quality(video: Path, *, duration_s: float, thresholds: QualityThresholds | None = None) -> QualityReport:
    """Decode `video` once through blackdetect and freezedetect; the stretches at least as long as the thresholds.

    Raises:
        MediaError: ffmpeg could not decode the video.
    """
    thresholds = thresholds or QualityThresholds()
    chain = quality_filters(thresholds)
    if not chain:
        return QualityReport(thresholds)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "info", "-i", str(video), "-map", "0:v:0",
           "-vf", chain, "-an", "-sn", "-f", "null", "-"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise MediaError(f"ffmpeg failed while checking {video.name} (exit {proc.returncode}): {proc.stderr[-800:]}")
    findings = [
        f
        for f in parse_findings(proc.stderr, duration_s=duration_s)
        if f.duration_s + 1e-6 >= (thresholds.black_s if f.kind == "black" else thresholds.freeze_s)
    ]
    return QualityReport(thresholds, findings)


def in_shots(report: QualityReport, timeline: Sequence[TimelineEntry]) -> QualityReport:
    """`report` with each finding labelled with the shot (timeline segment) it starts in."""
    labelled = []
    for f in report.findings:
        shot = next((e.shot_id for e in timeline if e.start_s - 1e-6 <= f.start_s < e.end_s), "")
        labelled.append(QualityFinding(f.kind, f.start_s, f.end_s, shot or (timeline[-1].shot_id if timeline else "")))
    return QualityReport(report.thresholds, labelled)
