"""Storyboard engine vs the encoder floor: what drawing the cards adds on top of x264.

A lesson-like set of 5 shots (1280×720, 30 fps, 40 s in all: titles, 3–4 points each, one shot with
a formula, one with a reference image) is rendered (a) by StoryboardEngine.generate, shot by shot,
and (b) by piping the same number of frames per shot — each shot's final card, precomputed, as a
constant frame — through the same encoder arguments and the same pipe code, one ffmpeg per shot.
The ratio a/b is what the engine costs beyond encoding; the target is ≤ 1.2.

Run: `python benchmarks/bench_storyboard.py` (or call `run()`).
"""

from __future__ import annotations

import itertools
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw

from edusdk.engine._cards import U8
from edusdk.engine.storyboard import CardRenderer, StoryboardEngine, encode_frames, encoder_args
from edusdk.models.engine import ShotRequest
from edusdk.models.script import OnScreen

WIDTH, HEIGHT, FPS = 1280, 720, 30
REPEATS = 3
TIME_BUDGET_S = 150.0  # fewer rounds than REPEATS when the next one would overrun this


def _reference_image(path: Path) -> Path:
    """A diagram-like reference picture: a gradient with shapes and lines (deterministic)."""
    rng = random.Random(7)
    image = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y, r = rng.randrange(1024), rng.randrange(768), rng.randrange(10, 90)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=color, outline=(20, 20, 20), width=3)
        else:
            draw.line((x, y, rng.randrange(1024), rng.randrange(768)), fill=color, width=rng.randrange(2, 8))
    image.save(path)
    return path


def lesson_requests(image: Path) -> list[ShotRequest]:
    """Five shots, 40 s at 1280×720 30 fps, shaped like a short lesson."""
    shots: list[tuple[float, OnScreen]] = [
        (6, OnScreen(title="Photosynthesis", points=["How plants turn light into food", "Where it happens",
                                                      "Why it matters for all life"])),
        (9, OnScreen(title="Inside the leaf", points=["Chloroplasts hold the green pigment chlorophyll",
                                                       "Stomata let carbon dioxide in and oxygen out",
                                                       "Veins bring water up from the roots",
                                                       "Thin leaves let light reach every cell"])),
        (8, OnScreen(title="The overall reaction", points=["Six molecules of CO2 and six of water",
                                                            "Light energy drives the reaction",
                                                            "Glucose and oxygen come out"],
                     formulas=[r"6CO_2 + 6H_2O \rightarrow C_6H_{12}O_6 + 6O_2"])),
        (9, OnScreen(title="Light and dark reactions", points=["Light reactions split water in the thylakoids",
                                                                "ATP and NADPH carry the energy",
                                                                "The Calvin cycle fixes carbon into sugar"],
                     image=image)),
        (8, OnScreen(title="Summary", points=["Light in, sugar and oxygen out", "Chlorophyll captures the light",
                                               "Two stages: light reactions and Calvin cycle",
                                               "The base of nearly every food chain"])),
    ]  # fmt: skip
    return [
        ShotRequest(shot_id=f"shot-{i + 1}", prompt=on_screen.title, width=WIDTH, height=HEIGHT, fps=FPS,
                    num_frames=round(seconds * FPS), seed=1000 + i, on_screen=on_screen)
        for i, (seconds, on_screen) in enumerate(shots)
    ]  # fmt: skip


def _measure(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and its finished children) spent in `fn`."""
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, before, strict=True))
    return wall, cpu


def run(print_table: bool = True) -> list[dict[str, Any]]:
    """Measure (a) the engine and (b) the encoder floor side by side; return one row per measurement.

    The two are interleaved shot by shot (alternating which goes first), so load from anything else on
    the machine falls on both alike. CPU seconds are reported too: on a shared machine they move less
    than wall time.
    """
    with tempfile.TemporaryDirectory(prefix="bench-storyboard-") as tmp_dir:
        tmp = Path(tmp_dir)
        requests = lesson_requests(_reference_image(tmp / "leaf.png"))
        engine = StoryboardEngine()
        # The floor pipes each shot's finished card, so x264 sees the same picture minus the animation.
        finals = [list(CardRenderer(r).frames(copy=False))[-1].copy() for r in requests]

        def engine_shot(r: ShotRequest) -> Callable[[], object]:
            return lambda: engine.generate(r, output=tmp / f"{r.shot_id}.mp4")

        def floor_shot(r: ShotRequest, frame: U8) -> Callable[[], object]:
            args = encoder_args(width=r.width, height=r.height, fps=r.fps, output=tmp / f"floor-{r.shot_id}.mp4",
                                crf=engine.crf, preset=engine.preset)  # fmt: skip
            return lambda: encode_frames(itertools.repeat(frame, r.num_frames), args, num_frames=r.num_frames)

        engine_shot(requests[0])()  # warm-up: imports, fonts and the ffmpeg binary's first start
        rounds: dict[str, list[tuple[float, float]]] = {"engine": [], "floor": []}
        started = time.perf_counter()
        for round_no in range(REPEATS):
            totals = {"engine": [0.0, 0.0], "floor": [0.0, 0.0]}
            for i, (r, frame) in enumerate(zip(requests, finals, strict=True)):
                pair = [("engine", engine_shot(r)), ("floor", floor_shot(r, frame))]
                for name, fn in pair if (round_no + i) % 2 == 0 else pair[::-1]:
                    wall, cpu = _measure(fn)
                    totals[name][0] += wall
                    totals[name][1] += cpu
            for name, (wall, cpu) in totals.items():
                rounds[name].append((wall, cpu))
            elapsed = time.perf_counter() - started
            if elapsed / (round_no + 1) * (round_no + 2) > TIME_BUDGET_S:
                break  # another round would overrun the budget on this machine: report what we have

    frames = sum(r.num_frames for r in requests)
    a, b = (statistics.median(w for w, _ in rounds[k]) for k in ("engine", "floor"))
    a_cpu, b_cpu = (statistics.median(c for _, c in rounds[k]) for k in ("engine", "floor"))
    runs = len(rounds["engine"])
    rows: list[dict[str, Any]] = [
        {"measure": "(a) StoryboardEngine.generate, 5 shots", "seconds": round(a, 3), "cpu_seconds": round(a_cpu, 3),
         "fps": round(frames / a, 1), "runs": runs},
        {"measure": "(b) constant frames, same encoder", "seconds": round(b, 3), "cpu_seconds": round(b_cpu, 3),
         "fps": round(frames / b, 1), "runs": runs},
        {"measure": "ratio a/b (target <= 1.2)", "seconds": round(a / b, 3), "cpu_seconds": round(a_cpu / b_cpu, 3),
         "fps": None, "runs": None},
    ]  # fmt: skip
    if print_table:
        print(f"storyboard: {len(requests)} shots, {frames} frames of {WIDTH}x{HEIGHT} @ {FPS} fps, "
              f"median of {runs} run(s), {os.cpu_count()} CPU(s)")  # fmt: skip
        print(f"{'measure':<42} {'seconds':>9} {'cpu s':>9} {'fps':>8}")
        for row in rows:
            fps = "" if row["fps"] is None else f"{row['fps']:.1f}"
            print(f"{row['measure']:<42} {row['seconds']:>9.3f} {row['cpu_seconds']:>9.3f} {fps:>8}")
    return rows


if __name__ == "__main__":
    run()
