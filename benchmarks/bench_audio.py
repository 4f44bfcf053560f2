"""Narration and the sound track, for the demo lesson (examples/outlines/photosynthesis.yaml, 4 shots).

Measured side by side in one run (medians of REPEATS rounds where cheap), seconds:
- Piper speaking every shot's narration, the voice already loaded (real-time factor = speech s / wall s),
  and the same through the narration cache (a re-render);
- the sound track as shipped: voice stem (lanes + acrossfades), music bed measured, ducked and mixed,
  two-pass loudnorm to −16 LUFS, AAC, mux by stream copy, A/V checks;
- the floor: the voice stem encoded to AAC once and muxed (no music, no loudness passes, no checks).
The ratio row says what the mixing, loudness and checks cost over the floor.

Run: `python -m benchmarks bench_audio` (or call `run()`). Skips Piper rows, with a reason, without the
`narration` extra.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from edusdk._media import run_ffmpeg
from edusdk.compose.audio import AudioPlan, add_sound_track, mux_command, voice_command
from edusdk.compose.timeline import build_timeline
from edusdk.models.engine import Clip
from edusdk.models.outline import Outline
from edusdk.narration import PiperNarrator, fit_to_narration, narrate_script, piper_available
from edusdk.script.expand import expand

OUTLINE = Path(__file__).resolve().parent.parent / "examples" / "outlines" / "photosynthesis.yaml"
FPS = 30
REPEATS = 3


def _median(work: Any) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _music(path: Path, seconds: float = 12.0) -> Path:
    rate = 44100
    t = np.arange(int(seconds * rate)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) * 0.15
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((chord * 32767).astype("<i2").tobytes())
    return path


def run(print_table: bool = True) -> list[dict[str, Any]]:
    """Measure every row and return them as dicts (name, seconds, ratio)."""
    if not piper_available():
        print("bench_audio: skipped — the narration extra (piper-tts + voice) is not installed")
        return []
    rows: list[dict[str, Any]] = []
    script = expand(Outline.from_file(OUTLINE))
    narrator = PiperNarrator()
    narrator.synthesize("Warm up.", Path(tempfile.gettempdir()) / "edusdk-bench-warmup.wav")
    with tempfile.TemporaryDirectory(prefix="edusdk-bench-audio-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        clips = narrate_script(narrator, script, work, cache_dir=work / "cache")
        speak_s = time.perf_counter() - started
        speech_s = sum(c.duration_s for c in clips if c is not None)
        rows.append({"name": "Piper, every shot (voice loaded)", "seconds": speak_s,
                     "ratio": speech_s / speak_s, "unit": "× real time"})  # fmt: skip
        cached_s = _median(lambda: narrate_script(narrator, script, work, cache_dir=work / "cache"))
        rows.append({"name": "the same, from the narration cache", "seconds": cached_s,
                     "ratio": speak_s / cached_s, "unit": "× faster"})  # fmt: skip

        script = fit_to_narration(script, clips, FPS)
        frames = [round(s.duration_s * FPS) for s in script.shots]
        joins = [round(s.transition.duration_s * FPS) if s.transition.name != "cut" else 0 for s in script.shots[:-1]]
        fake = [Clip(shot_id=s.id, path=work / "x.mp4", width=320, height=180, fps=FPS, num_frames=n, seed=0,
                     model="bench", engine="bench") for s, n in zip(script.shots, frames, strict=True)]  # fmt: skip
        timeline = build_timeline(script, fake, FPS)
        total = sum(frames) - sum(joins)
        video = work / "silent.mp4"
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc=size=320x180:rate={FPS}", "-frames:v", str(total),
                    "-pix_fmt", "yuv420p", str(video)], what="a silent video")  # fmt: skip
        plan = AudioPlan.for_lesson(timeline, frames, joins, clips, fps=FPS, music=_music(work / "bed.wav"))
        shipped = _median(lambda: add_sound_track(video, plan, output=work / "out.mp4"))

        def floor() -> None:
            run_ffmpeg(voice_command(plan, voice=work / "voice.wav"), what="voice stem")
            run_ffmpeg(["-y", "-i", str(work / "voice.wav"), "-c:a", "aac", "-b:a", "160k", str(work / "v.m4a")],
                       what="aac")  # fmt: skip
            run_ffmpeg(mux_command(video, work / "v.m4a", work / "floor.mp4"), what="mux")

        floor_s = _median(floor)
        rows.append({"name": "sound track as shipped (music, ducking, 2-pass loudnorm, checks)", "seconds": shipped,
                     "ratio": shipped / floor_s, "unit": "× the floor"})  # fmt: skip
        rows.append({"name": "floor: voice stem → AAC → mux", "seconds": floor_s, "ratio": 1.0, "unit": ""})
    if print_table:
        print(f"lesson: {len(script.shots)} shots, {total / FPS:.1f} s of video, {speech_s:.1f} s of speech")
        print(f"{'row':<68}{'seconds':>9}  ratio")
        for row in rows:
            print(f"{row['name']:<68}{row['seconds']:>9.2f}  {row['ratio']:.1f} {row['unit']}")
    return rows


if __name__ == "__main__":
    run()
