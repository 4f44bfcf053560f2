"""The lesson's sound track: narration per shot, crossfaded like the pictures, a ducked music bed, −16 LUFS.

Built beside the video (whichever way the video was composed) and muxed in by stream copy:

1. **Voice** (one ffmpeg run). Every clip gets an audio lane exactly as long as the clip's frames at 48 kHz:
   its narration (resampled, delayed to sit `LEAD_S` after the shot's start) or silence, padded and trimmed
   to the sample. Lanes are joined in order like the video — `acrossfade` over a transition's samples,
   `concat` at a cut — so the voice stem has exactly the video's length.
   **Music** (only with a music file): voice and music are measured, brought to the target and `music_db`
   below it, the music looped, faded in and out and ducked under the voice with `sidechaincompress` (the
   voice is the side chain), then mixed.
2. **Loudness**, EBU R128 two-pass: the mix is measured (`ebur128` with true peak, in the pass that makes
   it). Where loudnorm's linear mode would apply (the gained true peak under −1.5 dBTP, range ≤ 11 LU) the
   second pass is that plain gain; otherwise `loudnorm` runs its own first pass and then normalises in
   dynamic mode with those measurements. The result is measured again on its way into AAC 160 kb/s (what
   the manifest reports as `loudness_lufs`).
3. **Mux**: video and subtitle packets copied, the AAC track added.
4. **Checks** (findings, not errors): the audio track lasts as long as the video (within a frame plus the
   two AAC frames of encoder priming and padding), every shot's speech starts where the timeline says and
   stays inside its shot (found with `silencedetect` on the voice stem), and the loudness landed within
   1 LU of the target.

Example:
    >>> plan = AudioPlan.for_lesson(timeline, frames, joins, narration, fps=30, music=Path("bed.mp3"))
    >>> report, findings = add_sound_track(Path("silent.mp4"), plan, output=Path("lesson.mp4"))
    >>> round(report.loudness_lufs)
    -16
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edusdk._errors import BadInputError, MediaError
from edusdk._media import audio_seconds, run_ffmpeg
from edusdk.compose.quality import QualityFinding
from edusdk.models.audio import AudioReport, NarrationClip
from edusdk.models.lesson import TimelineEntry
from edusdk.narration.base import LEAD_S

SAMPLE_RATE = 48_000
TARGET_LUFS = -16.0
TRUE_PEAK_DBTP = -1.5
LOUDNESS_RANGE_LU = 11.0
MUSIC_DB = -20.0  # the bed's level before ducking, relative to its own loudness
AAC_BITRATE = "160k"
_SILENCE_START = re.compile(r"silence_start:\s*(-?[\d.]+)")
_SILENCE_END = re.compile(r"silence_end:\s*(-?[\d.]+)")
_FORMAT = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
_EBUR128 = "ebur128=peak=true:framelog=verbose"  # summary at info level, per-frame lines only when verbose


@dataclass(frozen=True)
class Lane:
    """One clip's audio: `frames` video frames long; `source` (an audio file) starts `delay_s` into it, or silence."""

    frames: int
    source: Path | None = None
    delay_s: float = 0.0
    shot_id: str = ""


@dataclass(frozen=True)
class AudioPlan:
    """Everything the mix needs: one lane per clip, the joins between them (frames), fps, and the music bed."""

    lanes: tuple[Lane, ...]
    joins: tuple[int, ...]
    fps: int
    music: Path | None = None
    music_db: float = MUSIC_DB
    target_lufs: float = TARGET_LUFS
    narrator: str = ""
    speech: tuple[tuple[str, float, float, float, float], ...] = ()  # shot, speech start/end, shot start/end
    clip_audio: bool = False  # the lanes are the clips' own sound (footage), not narration

    def __post_init__(self) -> None:
        """Raises BadInputError for a missing music file or a target outside −70..−5 LUFS."""
        if self.music is not None and not self.music.is_file():
            raise BadInputError(f"music file not found: {self.music}")
        if not -70 <= self.target_lufs <= -5:
            raise BadInputError(f"target loudness {self.target_lufs} LUFS must be within -70..-5")

    @classmethod
    def for_lesson(
        cls,
        timeline: Sequence[TimelineEntry],
        frames: Sequence[int],
        joins: Sequence[int],
        narration: Sequence[NarrationClip | None],
        *,
        fps: int,
        music: Path | None = None,
        music_db: float = MUSIC_DB,
        target_lufs: float = TARGET_LUFS,
    ) -> AudioPlan:
        """The plan for a lesson: shot i's narration starts `LEAD_S` after `timeline[i].start_s`.

        Raises:
            BadInputError: lengths that do not agree, a missing music file, a target outside −70..−5 LUFS.
        """
        if not len(timeline) == len(frames) == len(narration):
            raise BadInputError(f"{len(timeline)} timeline entries, {len(frames)} clips and {len(narration)} "
                                "narration clips: one of each per shot is needed")  # fmt: skip
        lanes, speech, voices = [], [], []
        for entry, n, clip in zip(timeline, frames, narration, strict=True):
            if clip is None:
                lanes.append(Lane(n, shot_id=entry.shot_id))
                continue
            # after the middle of the incoming transition, or of a bridge clip: the shot's lane starts after it
            delay = max(0.0, entry.start_s - entry.visible_start_s) + LEAD_S
            lanes.append(Lane(n, clip.path, delay, entry.shot_id))
            start = entry.visible_start_s + delay
            speech.append((entry.shot_id, start, start + clip.duration_s, entry.start_s, entry.end_s))
            voices.append(clip.source)
        return cls(
            tuple(lanes), tuple(joins[: len(lanes) - 1]), fps, Path(music) if music else None, music_db,
            target_lufs, ", ".join(dict.fromkeys(voices)), tuple(speech),
        )  # fmt: skip

    @classmethod
    def for_clips(
        cls,
        frames: Sequence[int],
        joins: Sequence[int],
        sources: Sequence[Path | None],
        *,
        fps: int,
        music: Path | None = None,
        target_lufs: float = TARGET_LUFS,
    ) -> AudioPlan:
        """The plan for footage: each clip's own sound (`sources[i]`, None: silence) from its first frame.

        Raises:
            BadInputError: lengths that do not agree, a missing music file.
        """
        if len(frames) != len(sources):
            raise BadInputError(f"{len(frames)} clips but {len(sources)} audio sources")
        pairs = enumerate(zip(frames, sources, strict=True))
        lanes = tuple(Lane(n, source, 0.0, f"clip-{i + 1:02d}") for i, (n, source) in pairs)
        return cls(lanes, tuple(joins[: len(lanes) - 1]), fps, Path(music) if music else None, MUSIC_DB, target_lufs,
                   "", (), clip_audio=True)  # fmt: skip

    def samples(self, frames: int) -> int:
        """`frames` video frames in audio samples at 48 kHz."""
        return round(frames * SAMPLE_RATE / self.fps)

    def speech_windows(self) -> dict[str, tuple[float, float]]:
        """Shot id → (start_s, end_s) of its narration in the final video (where its captions go)."""
        return {shot: (start, end) for shot, start, end, _, _ in self.speech}

    @property
    def total_samples(self) -> int:
        return sum(self.samples(lane.frames) for lane in self.lanes) - sum(self.samples(j) for j in self.joins)


def voice_command(plan: AudioPlan, *, voice: Path) -> list[str]:
    """ffmpeg arguments (no binary) that write the voice stem: every lane, joined like the video, as a float WAV.

    Pure: builds, never runs. Lanes with a source become inputs, in order.
    """
    args: list[str] = ["-y"]
    chains: list[str] = []
    inputs = 0
    for i, lane in enumerate(plan.lanes):
        n = plan.samples(lane.frames)
        if lane.source is None:
            chains.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,aformat=sample_fmts=fltp,atrim=end_sample={n}[l{i}]")
            continue
        args += ["-i", str(lane.source)]
        delay = round(lane.delay_s * SAMPLE_RATE)
        chains.append(f"[{inputs}:a:0]{_FORMAT},adelay=delays={delay}S:all=1,apad=whole_len={n},atrim=end_sample={n},"
                      f"asetpts=N/SR/TB[l{i}]")  # fmt: skip
        inputs += 1
    current = "l0"
    for i, join in enumerate(plan.joins):
        out = f"j{i + 1}"
        ns = plan.samples(join)
        if ns == 0:
            chains.append(f"[{current}][l{i + 1}]concat=n=2:v=0:a=1[{out}]")
        else:
            chains.append(f"[{current}][l{i + 1}]acrossfade=ns={ns}:c1=tri:c2=tri[{out}]")
        current = out
    chains.append(f"[{current}]asplit=2[voice][vm];[vm]{_EBUR128}[vx]")  # measured on the way out
    return [*args, "-filter_complex", ";".join(chains), "-map", "[voice]", "-c:a", "pcm_f32le", "-f", "wav", str(voice),
            "-map", "[vx]", "-f", "null", "-"]  # fmt: skip


def mix_command(plan: AudioPlan, *, voice: Path, mix: Path, voice_gain_db: float, music_gain_db: float) -> list[str]:
    """ffmpeg arguments (no binary) that lay the music bed under the voice stem, ducked while it speaks.

    Each is first brought to its level (`voice_gain_db` puts the voice at the target loudness, `music_gain_db`
    the bed `plan.music_db` below it); the voice is the compressor's side chain. Pure: builds, never runs.

    Raises:
        BadInputError: the plan has no music.
    """
    if plan.music is None:
        raise BadInputError("there is no music to mix under the narration")
    total = plan.total_samples
    seconds = total / SAMPLE_RATE
    fade = min(2.0, seconds / 4)
    chains = [
        f"[0:a]volume={voice_gain_db:.2f}dB,asplit=2[vmix][vkey]",
        f"[1:a:0]{_FORMAT},atrim=end_sample={total},asetpts=N/SR/TB,volume={music_gain_db:.2f}dB,"
        f"afade=t=in:d={fade:.3f},afade=t=out:st={seconds - fade:.3f}:d={fade:.3f}[bed]",
        "[bed][vkey]sidechaincompress=threshold=0.03:ratio=8:attack=20:release=400[ducked]",
        f"[vmix][ducked]amix=inputs=2:duration=first:normalize=0,asplit=2[mix][mm];[mm]{_EBUR128}[mx]",
    ]
    return ["-y", "-i", str(voice), "-stream_loop", "-1", "-i", str(plan.music), "-filter_complex", ";".join(chains),
            "-map", "[mix]", "-c:a", "pcm_f32le", "-f", "wav", str(mix), "-map", "[mx]", "-f", "null", "-"]  # fmt: skip


@dataclass(frozen=True)
class Loudness:
    """An EBU R128 measurement (ffmpeg's `ebur128` summary): integrated loudness, its gate, range, true peak."""

    integrated: float | None  # LUFS; None for silence
    threshold: float  # LUFS, the relative gate of the integrated loudness
    lra: float  # LU
    true_peak: float | None  # dBTP; None for silence


_SUMMARY_NUMBER = r"\s*(-?[\d.]+|-inf|inf)"


def parse_ebur128(stderr: str) -> Loudness:
    """The last `ebur128` summary in ffmpeg's log.

    Raises:
        MediaError: the log has no summary.

    Example:
        >>> parse_ebur128("Summary:\\n I: -16.0 LUFS\\n Threshold: -26.1 LUFS\\n LRA: 4.2 LU\\n Peak: -1.6 dBFS")
        Loudness(integrated=-16.0, threshold=-26.1, lra=4.2, true_peak=-1.6)
    """
    summary = stderr[stderr.rfind("Summary:") :] if "Summary:" in stderr else ""
    found = {key: re.search(rf"{key}:{_SUMMARY_NUMBER}", summary) for key in ("I", "Threshold", "LRA", "Peak")}
    if found["I"] is None or found["Threshold"] is None or found["LRA"] is None:
        raise MediaError(f"ebur128 printed no loudness summary: {stderr[-600:].strip()}")
    values = {k: _number(m.group(1)) if m else None for k, m in found.items()}
    integrated = values["I"] if values["I"] is not None and values["I"] > -69.9 else None  # -70: all gated out
    return Loudness(integrated, values["Threshold"] or -70.0, values["LRA"] or 0.0,
                    values["Peak"] if integrated is not None else None)  # fmt: skip


def measure(path: Path, *, seconds: float | None = None) -> Loudness:
    """EBU R128 loudness and true peak of `path`'s first audio track (its first `seconds`), one cheap decode."""
    limit = ["-t", f"{seconds:.3f}"] if seconds is not None else []
    stderr = run_ffmpeg([*limit, "-i", str(path), "-map", "0:a:0", "-af", _EBUR128, "-f", "null", "-"],
                        what=f"measuring the loudness of {path.name}", loglevel="info")  # fmt: skip
    return parse_ebur128(stderr)


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and -200 < number < 200 else None  # "-inf" of silence → None


def linear_gain(measured: Loudness, target_lufs: float) -> float | None:
    """The gain (dB) that normalises a signal measured as `measured` linearly, or None when it cannot.

    The rule of ffmpeg's `loudnorm` linear mode: allowed when the gained true peak stays under TRUE_PEAK_DBTP
    and the loudness range is within LOUDNESS_RANGE_LU. Silence gets 0 dB: there is nothing to normalise.

    Example:
        >>> linear_gain(Loudness(-23.0, -33.0, 6.0, -9.0), -16.0)
        7.0
    """
    if measured.integrated is None:
        return 0.0
    gain = target_lufs - measured.integrated
    peak = measured.true_peak if measured.true_peak is not None else -99.0
    return gain if peak + gain <= TRUE_PEAK_DBTP and measured.lra <= LOUDNESS_RANGE_LU else None


def _loudnorm(target_lufs: float) -> str:
    return f"loudnorm=I={target_lufs:g}:TP={TRUE_PEAK_DBTP:g}:LRA={LOUDNESS_RANGE_LU:g}"


def normalise_filter(mix: Path, measured: Loudness, target_lufs: float) -> str:
    """The second pass of the EBU R128 normalisation of `mix` (already measured as `measured`).

    A plain gain where loudnorm's linear mode would apply one (same result, without its 192 kHz pass);
    otherwise `loudnorm` in dynamic mode with its true-peak limiter, fed by its own first pass over `mix`
    (its measurements and target offset, as its two-pass use requires).
    """
    gain = linear_gain(measured, target_lufs)
    if gain is not None:
        return f"volume={gain:.2f}dB"
    stderr = run_ffmpeg(["-i", str(mix), "-af", f"{_loudnorm(target_lufs)}:print_format=json", "-f", "null", "-"],
                        what="measuring loudness (loudnorm, first pass)", loglevel="info")  # fmt: skip
    first = json.loads(stderr[stderr.rfind("{") : stderr.rfind("}") + 1])
    return (f"{_loudnorm(target_lufs)}:measured_I={first['input_i']}:measured_TP={first['input_tp']}"
            f":measured_LRA={first['input_lra']}:measured_thresh={first['input_thresh']}"
            f":offset={first['target_offset']}:linear=true,aresample={SAMPLE_RATE}")  # fmt: skip


def encode_normalised(mix: Path, measured: Loudness, plan: AudioPlan, output: Path) -> Loudness:
    """Second pass: normalise `mix` (measured as `measured`) to the target into AAC; the result, measured."""
    chain = f"[0:a]{normalise_filter(mix, measured, plan.target_lufs)},asplit=2[out][m];[m]{_EBUR128}[x]"
    stderr = run_ffmpeg(["-y", "-i", str(mix), "-filter_complex", chain, "-map", "[out]", "-c:a", "aac", "-b:a",
                         AAC_BITRATE, "-f", "mp4", str(output), "-map", "[x]", "-f", "null", "-"],
                        what="normalising loudness", loglevel="info")  # fmt: skip
    return parse_ebur128(stderr)


def mux_command(video: Path, audio: Path, output: Path) -> list[str]:
    """ffmpeg arguments: `video`'s video and subtitle packets plus `audio`'s AAC, all copied, into `output`."""
    return ["-y", "-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "0:s?", "-map", "1:a:0", "-c", "copy",
            "-movflags", "+faststart", "-f", "mp4", str(output)]  # fmt: skip


def speech_spans(voice: Path, *, duration_s: float, noise_db: float = -45.0, min_silence_s: float = 0.12
                 ) -> list[tuple[float, float]]:  # fmt: skip
    """Where the voice stem is not silent: the complement of `silencedetect`'s silences, in seconds."""
    stderr = run_ffmpeg(["-i", str(voice), "-af", f"silencedetect=n={noise_db:g}dB:d={min_silence_s:g}", "-f", "null",
                         "-"], what="finding speech", loglevel="info")  # fmt: skip
    starts = [float(s) for s in _SILENCE_START.findall(stderr)]
    ends = [float(e) for e in _SILENCE_END.findall(stderr)]
    spans, cursor = [], 0.0
    for i, start in enumerate(starts):
        if start > cursor + 1e-3:
            spans.append((cursor, start))
        cursor = ends[i] if i < len(ends) else duration_s
    if cursor < duration_s - 1e-3:
        spans.append((cursor, duration_s))
    return spans


def check_sync(plan: AudioPlan, spans: Sequence[tuple[float, float]], *, audio_s: float, video_s: float,
               loudness: float | None) -> list[QualityFinding]:  # fmt: skip
    """The A/V checks on what was written (see the module docstring); an empty list when all is well.

    Example:
        >>> check_sync(plan, [(0.5, 3.0)], audio_s=10.02, video_s=10.0, loudness=-16.1)
        []
    """
    findings: list[QualityFinding] = []
    # a video frame, AAC's priming frame and the partial frame it pads to, and ffmpeg's 10 ms time= rounding
    slack = 1 / plan.fps + 2 * 1024 / SAMPLE_RATE + 0.01
    if abs(audio_s - video_s) > slack:
        findings.append(QualityFinding("av_sync", min(audio_s, video_s), max(audio_s, video_s), ""))
    tolerance = 0.06  # silencedetect's rounding
    late = 0.4  # a voice clip's own leading silence (TTS pads ≈ 0.1–0.2 s) delays the first audible word
    for shot_id, start, end, shot_start, shot_end in plan.speech:
        inside = [(a, b) for a, b in spans if b > shot_start and a < shot_end]
        if not inside:
            findings.append(QualityFinding("no_speech", start, end, shot_id))
            continue
        first, last = inside[0][0], inside[-1][1]
        if not start - tolerance <= first <= start + late or last > end + tolerance or last > shot_end + tolerance:
            findings.append(QualityFinding("speech_misplaced", first, last, shot_id))
    if loudness is not None and abs(loudness - plan.target_lufs) > 1.0:
        findings.append(QualityFinding("loudness", 0.0, video_s, ""))
    return findings


def add_sound_track(video: Path, plan: AudioPlan, *, output: Path, check: bool = True
                    ) -> tuple[AudioReport, list[QualityFinding]]:  # fmt: skip
    """Mix, normalise and mux the sound track into a copy of `video` at `output` (a temporary path the caller renames).

    `check` runs the A/V checks (see `check_sync`); without it the findings are always empty.

    Raises:
        BadInputError: the plan's lanes do not add up to the video's frames.
        MediaError: ffmpeg failed.
    """
    with tempfile.TemporaryDirectory(prefix="edusdk-audio-") as work:
        voice, mix, aac = Path(work) / "voice.wav", Path(work) / "mix.wav", Path(work) / "audio.m4a"
        laid_out = run_ffmpeg(voice_command(plan, voice=voice), what="laying out the narration", loglevel="info")
        measured = parse_ebur128(laid_out)
        if plan.music is not None:
            voice_i = measured.integrated
            music_i = measure(plan.music, seconds=plan.total_samples / SAMPLE_RATE).integrated
            voice_gain = plan.target_lufs - voice_i if voice_i is not None else 0.0
            music_gain = plan.target_lufs + plan.music_db - music_i if music_i is not None else 0.0
            command = mix_command(plan, voice=voice, mix=mix, voice_gain_db=voice_gain, music_gain_db=music_gain)
            measured = parse_ebur128(run_ffmpeg(command, what="mixing the music under the narration", loglevel="info"))
        result = encode_normalised(mix if plan.music is not None else voice, measured, plan, aac)
        loudness, peak = result.integrated, result.true_peak
        run_ffmpeg(mux_command(video, aac, output), what="adding the sound track")
        video_s = (sum(lane.frames for lane in plan.lanes) - sum(plan.joins)) / plan.fps
        findings: list[QualityFinding] = []
        if check:
            spans = speech_spans(voice, duration_s=plan.total_samples / SAMPLE_RATE) if plan.speech else []
            findings = check_sync(plan, spans, audio_s=audio_seconds(output), video_s=video_s, loudness=loudness)
    report = AudioReport(
        narrator=plan.narrator,
        narrated_shots=[s[0] for s in plan.speech],
        speech={shot: (round(start, 3), round(end, 3)) for shot, (start, end) in plan.speech_windows().items()},
        music=str(plan.music) if plan.music else "",
        target_lufs=plan.target_lufs,
        loudness_lufs=loudness,
        true_peak_dbtp=peak,
        sample_rate=SAMPLE_RATE,
        clip_audio=plan.clip_audio,
    )
    return report, findings
