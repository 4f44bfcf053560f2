"""Joining clips with crossfades: edusdk's full re-encode and smart render vs MoviePy 2 and the copy floor.

10 clips × 6 s at 1280×720 30 fps (generated in the run, H.264 x264 veryfast crf 23 with a keyframe
forced every second plus at the frames where the fades start and end, as the storyboard engine encodes
the clips lessons.render asks for) are joined with 0.5 s crossfades, all with
the same encoder settings (x264 veryfast crf 23):
- MoviePy 2 `concatenate_videoclips(..., padding=-0.5)` with `CrossFadeIn(0.5)` — run ONCE (it takes
  minutes); set EDUSDK_BENCH_SKIP_MOVIEPY=1 to skip it;
- edusdk `compose.render(..., smart=False)`: one ffmpeg filter graph, full re-encode (target ≥ 5× MoviePy);
- edusdk `compose.render(...)`: smart rendering, windows only (target ≥ 4× the full re-encode), timed
  as a first render of these clips (their cached quality analyses dropped before each run);
- the same smart render again with the clips' quality analyses cached (a re-render after an edit);
- full and smart with `quality_checks=False`: what composing alone costs (the full re-encode runs the
  checks on every frame it encodes; the smart render screens the copied clips by their keyframes);
- `ffmpeg -f concat -c copy` of the same clips, no transitions: the floor (ratio reported).
edusdk's runs are medians of EDUSDK_BENCH_REPEATS (default 1) and are checked to have the same frames.
Every edusdk render runs its quality checks (black/frozen detection), as `lessons.render` does. The
CPU column is the CPU time of the run and its child processes (user + system), which a busy machine
disturbs less than wall time.

Run: `python -m benchmarks bench_compose` (or `python benchmarks/bench_compose.py`).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edusdk._lessons import transition_keyframes
from edusdk._media import ffmpeg_exe, probe
from edusdk.compose import render
from edusdk.compose.quality import forget_clip_analyses
from edusdk.engine.storyboard import force_key_frames
from edusdk.models.engine import Clip
from edusdk.models.script import Script, Shot, Transition

WIDTH, HEIGHT, FPS = 1280, 720, 30
CLIPS, SECONDS, FADE_S = 10, 6, 0.5
PRESET, CRF = "veryfast", 23


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", *args], check=True)


def make_clips(folder: Path) -> list[Path]:
    """The input clips, encoded like the storyboard engine's (one ffmpeg run, ten outputs)."""
    args: list[str] = []
    paths = [folder / f"clip{i:02d}.mp4" for i in range(CLIPS)]
    script = _script()
    keys = [transition_keyframes(script, i, FPS) for i in range(CLIPS)]  # as lessons.render asks the engine
    for i in range(CLIPS):
        args += ["-f", "lavfi", "-i", f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS},hue=h={36 * i}"]
    for i, path in enumerate(paths):
        args += ["-map", f"{i}:v", "-frames:v", str(SECONDS * FPS), "-c:v", "libx264", "-preset", PRESET,
                 "-crf", str(CRF), "-pix_fmt", "yuv420p", "-force_key_frames", force_key_frames(FPS, keys[i]),
                 "-sc_threshold", "0", "-flags", "+cgop", "-movflags", "+faststart", "-y", str(path)]  # fmt: skip
    _ffmpeg(*args)
    return paths


def _script() -> Script:
    shots = [
        Shot(id=f"c{i:02d}", section=i, prompt="clip", duration_s=SECONDS, seed=i, narration=f"Clip {i} on screen.",
             transition=Transition(name="fade", duration_s=FADE_S))
        for i in range(CLIPS)
    ]  # fmt: skip
    return Script(title="bench", subject="s", audience="grade 7", style="flat", template="t", outline_hash="h",
                  shots=shots)  # fmt: skip


def _clips(paths: list[Path]) -> list[Clip]:
    return [Clip(shot_id=f"c{i:02d}", path=p, width=WIDTH, height=HEIGHT, fps=FPS, num_frames=SECONDS * FPS,
                 engine="bench", seed=i) for i, p in enumerate(paths)]  # fmt: skip


def moviepy_join(paths: list[Path], output: Path) -> None:
    """The MoviePy 2 way: CrossFadeIn on every clip after the first, overlapping by the fade."""
    from moviepy import VideoFileClip, concatenate_videoclips, vfx

    clips = [VideoFileClip(str(p), audio=False) for p in paths]
    faded = [clips[0]] + [c.with_effects([vfx.CrossFadeIn(FADE_S)]) for c in clips[1:]]
    final = concatenate_videoclips(faded, method="compose", padding=-FADE_S)
    final.write_videofile(str(output), fps=FPS, codec="libx264", preset=PRESET, ffmpeg_params=["-crf", str(CRF)],
                          audio=False, logger=None)  # fmt: skip
    for clip in clips:
        clip.close()


def concat_copy(paths: list[Path], output: Path) -> None:
    listing = output.with_suffix(".txt")
    listing.write_text("".join(f"file '{p}'\n" for p in paths))
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-y", str(output))


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its waited-for children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _time(fn: Callable[[], object], repeats: int = 1, cpu: dict[str, float] | None = None, key: str = "") -> float:
    runs, cpus = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), _cpu_s()
        fn()
        runs.append(time.perf_counter() - start)
        cpus.append(_cpu_s() - start_cpu)
    if cpu is not None:
        cpu[key] = statistics.median(cpus)
    return statistics.median(runs)


def run(print_table: bool = True) -> list[dict[str, Any]]:
    """Measure every method side by side on the same clips; return one row per method."""
    repeats = int(os.environ.get("EDUSDK_BENCH_REPEATS", "1"))
    skip_moviepy = os.environ.get("EDUSDK_BENCH_SKIP_MOVIEPY", "") not in ("", "0")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="edusdk-bench-compose-") as work:
        folder = Path(work)
        paths = make_clips(folder)
        script, clips = _script(), _clips(paths)
        expected = CLIPS * SECONDS * FPS - (CLIPS - 1) * round(FADE_S * FPS)

        def full(*, checks: bool = True) -> None:
            r = render(script, clips, output=folder / "full.mp4", width=WIDTH, height=HEIGHT, fps=FPS, preset=PRESET,
                       crf=CRF, smart=False, quality_checks=checks)  # fmt: skip
            assert r.method == "full" and r.info.frames == expected

        notes: dict[str, str] = {}

        def smart(*, cached: bool = False, checks: bool = True) -> None:
            if not cached:  # a first render of these clips: nothing known about them yet
                forget_clip_analyses()
            r = render(script, clips, output=folder / "smart.mp4", width=WIDTH, height=HEIGHT, fps=FPS,
                       preset=PRESET, crf=CRF, quality_checks=checks)  # fmt: skip
            assert r.method == "smart" and r.info.frames == expected, r.note
            assert not checks or (r.quality is not None and r.quality.ok), r.quality
            notes["smart"] = r.note

        timings: dict[str, float | None] = {}
        cpu: dict[str, float] = {}
        full_name, smart_name, again_name = "edusdk full re-encode", "edusdk smart render", "edusdk smart re-render"
        floor_name, movie_name = "ffmpeg concat -c copy (floor)", "MoviePy 2.2 (run once)"
        timings[full_name] = _time(full, repeats, cpu, full_name)
        timings[smart_name] = _time(smart, repeats, cpu, smart_name)
        timings[again_name] = _time(lambda: smart(cached=True), repeats, cpu, again_name)
        bare_full, bare_smart = "edusdk full, no quality checks", "edusdk smart, no quality checks"
        timings[bare_full] = _time(lambda: full(checks=False), repeats, cpu, bare_full)
        timings[bare_smart] = _time(lambda: smart(checks=False), repeats, cpu, bare_smart)
        timings[floor_name] = _time(lambda: concat_copy(paths, folder / "floor.mp4"), repeats, cpu, floor_name)
        timings[movie_name] = None
        if not skip_moviepy:
            timings[movie_name] = _time(lambda: moviepy_join(paths, folder / "moviepy.mp4"), 1, cpu, movie_name)
            assert abs(probe(folder / "moviepy.mp4").frames - expected) <= 2
        full_s, smart_s, again_s = timings[full_name], timings[smart_name], timings[again_name]
        floor_s, movie_s = timings[floor_name], timings[movie_name]
        bare_full_s, bare_smart_s = timings[bare_full], timings[bare_smart]
        assert full_s and smart_s and again_s and floor_s and bare_full_s and bare_smart_s
        rows = [
            {"method": movie_name, "seconds": movie_s, "ratio": "baseline",
             "note": "skipped (EDUSDK_BENCH_SKIP_MOVIEPY)" if movie_s is None else ""},
            {"method": full_name, "seconds": full_s,
             "ratio": f"{movie_s / full_s:.1f}× faster than MoviePy (target ≥ 5×)" if movie_s else "", "note": ""},
            {"method": smart_name, "seconds": smart_s,
             "ratio": f"{full_s / smart_s:.1f}× faster than full (target ≥ 4×)", "note": notes.get("smart", "")},
            {"method": again_name, "seconds": again_s, "ratio": f"{full_s / again_s:.1f}× faster than full",
             "note": "the clips' quality analyses cached by the render before"},
            {"method": bare_full, "seconds": bare_full_s, "ratio": "", "note": "the composing alone"},
            {"method": bare_smart, "seconds": bare_smart_s, "ratio": f"{bare_full_s / bare_smart_s:.1f}× faster than "
             "full without checks", "note": "the composing alone"},
            {"method": floor_name, "seconds": floor_s,
             "ratio": f"smart = {smart_s / floor_s:.1f}× the floor", "note": "no transitions"},
        ]  # fmt: skip
        for row in rows:
            row["cpu_s"] = cpu.get(str(row["method"]))
    if print_table:
        setup = f"{CLIPS} clips × {SECONDS} s {WIDTH}x{HEIGHT} {FPS} fps, {FADE_S} s fades, x264 {PRESET} crf {CRF}"
        print(f"{setup}, edusdk medians of {repeats}, {os.cpu_count()} CPUs")
        for row in rows:
            seconds = "—" if row["seconds"] is None else f"{row['seconds']:.2f} s"
            cpu_s = "" if row.get("cpu_s") is None else f"cpu {row['cpu_s']:.1f} s"
            print(f"  {row['method']:<32} {seconds:>9} {cpu_s:>12}  {row['ratio']}  {row['note']}")
    return rows


if __name__ == "__main__":
    run()
