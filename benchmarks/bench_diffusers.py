"""The diffusers engine on a tiny random-weight LTX pipeline (CPU): SDK overhead, warm reuse, cache hits.

- SDK overhead: N shots through `DiffusersEngine.generate` (clip cache off) vs the same pipeline object
  called directly with the same arguments (prompt, size, frames, steps, guidance, seeded generator)
  and its frames piped through the same encoder: the minimum a caller needs to get an MP4. Shots
  alternate order each round; target ratio ≤ 1.05.
- Warm reuse: 5 shots in one engine vs 5 fresh `from_pretrained` loads (one shot each).
- Cache hit: a 4-shot lesson through `client.lessons.render`, cold, then again unchanged (compose still runs).

Wall seconds and their ratio are printed, and the ratio of CPU seconds (this process's threads plus
ffmpeg children), which moves far less when other work shares the machine.

Run: `python benchmarks/bench_diffusers.py` (or call `run()`). Sizes are small enough for 2 CPU cores.
"""

from __future__ import annotations

import os
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from edusdk.engine.storyboard import encode_frames, encoder_args
from edusdk.models.engine import ShotRequest

SIZE, FPS, FRAMES, STEPS = 64, 24, 17, 4
SHOTS = 3
REPEATS = 5
PROMPTS = ["a green leaf turning towards the sun", "water rising through a plant stem", "sugar stored in a root"]


def _requests() -> list[ShotRequest]:
    return [ShotRequest(shot_id=f"s{i}", prompt=PROMPTS[i % len(PROMPTS)], width=SIZE, height=SIZE, fps=FPS,
                        num_frames=FRAMES, seed=100 + i) for i in range(SHOTS)]  # fmt: skip


CPU: list[float] = [0.0]  # CPU seconds of the last _timed call (this process's threads + finished children)


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(fn: Callable[[], object]) -> float:
    """Wall seconds of fn(); its CPU seconds go to CPU[0] (steadier than wall time on a shared machine)."""
    started, cpu = time.perf_counter(), _cpu()
    fn()
    CPU[0] = _cpu() - cpu
    return time.perf_counter() - started


def run(print_table: bool = True) -> list[dict[str, Any]]:
    """Measure and (optionally) print the three comparisons; return them as rows."""
    import torch

    from edusdk import EduClient, Outline
    from edusdk.engine.diffusers_engine import DiffusersEngine
    from edusdk.engine.tiny_models import write_tiny_model

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="edusdk-bench-diffusers-") as work:
        tmp = Path(work)
        model = write_tiny_model(tmp / "tiny-ltx", family="ltx")
        engine = DiffusersEngine.from_pretrained(model, steps=STEPS, cache=False)
        pipe, requests = engine.pipe, _requests()

        def sdk(r: ShotRequest) -> Callable[[], object]:
            return lambda: engine.generate(r, output=tmp / f"sdk-{r.shot_id}.mp4")

        def direct(r: ShotRequest) -> Callable[[], object]:
            def call() -> None:
                out = pipe(prompt=r.prompt, negative_prompt=r.negative_prompt, width=SIZE, height=SIZE,
                           num_frames=FRAMES, frame_rate=FPS, num_inference_steps=STEPS,
                           guidance_scale=engine.guidance, generator=torch.Generator("cpu").manual_seed(r.seed),
                           output_type="np")  # fmt: skip
                frames = (out.frames[0].clip(0, 1) * 255 + 0.5).astype("uint8")
                args = encoder_args(width=SIZE, height=SIZE, fps=FPS, output=tmp / f"direct-{r.shot_id}.mp4")
                encode_frames(list(frames), args, num_frames=len(frames))

            return call

        sdk(requests[0])()  # warm-up: first calls allocate, build kernels, start ffmpeg once
        direct(requests[0])()
        totals: dict[str, list[float]] = {"sdk": [], "direct": []}
        cpu_sums = {"sdk": 0.0, "direct": 0.0}
        for round_no in range(REPEATS):
            sums = {"sdk": 0.0, "direct": 0.0}
            for i, r in enumerate(requests):
                pair = [("sdk", sdk(r)), ("direct", direct(r))]
                for name, fn in pair if (round_no + i) % 2 == 0 else pair[::-1]:
                    sums[name] += _timed(fn)
                    cpu_sums[name] += CPU[0]
            for name, value in sums.items():
                totals[name].append(value)
        a, b = (statistics.median(totals[k]) for k in ("sdk", "direct"))
        rows.append({"benchmark": f"SDK overhead ({SHOTS} shots {SIZE}x{SIZE}x{FRAMES}, {STEPS} steps)",
                     "seconds": round(a, 3), "baseline_s": round(b, 3), "ratio": round(a / b, 3),
                     "cpu_ratio": round(cpu_sums["sdk"] / cpu_sums["direct"], 3), "target": "<= 1.05"})  # fmt: skip

        shots5 = [requests[0].model_copy(update={"shot_id": f"w{i}", "seed": 200 + i}) for i in range(5)]
        reuse = {"warm": 0.0, "fresh": 0.0}
        reuse_cpu = {"warm": 0.0, "fresh": 0.0}
        for i, r in enumerate(shots5):  # interleaved, so load from other processes hits both sides alike

            def fresh(r: ShotRequest = r) -> object:
                loaded = DiffusersEngine.from_pretrained(model, steps=STEPS, cache=False)
                return loaded.generate(r, output=tmp / f"fresh-{r.shot_id}.mp4")

            def warm_shot(r: ShotRequest = r) -> object:
                return engine.generate(r, output=tmp / f"warm-{r.shot_id}.mp4")

            pair: list[tuple[str, Callable[[], object]]] = [("warm", warm_shot), ("fresh", fresh)]
            for name, fn in pair if i % 2 == 0 else pair[::-1]:
                reuse[name] += _timed(fn)
                reuse_cpu[name] += CPU[0]
        warm, cold = reuse["warm"], reuse["fresh"]
        rows.append({"benchmark": "warm reuse: 5 shots, one engine vs 5 fresh loads", "seconds": round(warm, 3),
                     "baseline_s": round(cold, 3), "ratio": round(warm / cold, 3),
                     "cpu_ratio": round(reuse_cpu["warm"] / reuse_cpu["fresh"], 3), "target": "< 1"})  # fmt: skip

        cached = DiffusersEngine.from_pretrained(model, steps=STEPS, cache_dir=tmp / "cache", max_frames=FRAMES)
        client = EduClient(db=f"sqlite:///{tmp / 'bench.db'}")
        outline = Outline.from_file(Path(__file__).resolve().parent.parent / "examples/outlines/photosynthesis.yaml")

        def lesson(name: str) -> Callable[[], object]:
            return lambda: client.lessons.render(outline, output=tmp / f"{name}.mp4", size=(SIZE, SIZE), fps=FPS,
                                                 engine=cached)  # fmt: skip

        first = _timed(lesson("cold"))
        first_cpu = CPU[0]
        again = _timed(lesson("hit"))
        rows.append({"benchmark": "cache hit: unchanged lesson re-render (compose included)",
                     "seconds": round(again, 3), "baseline_s": round(first, 3), "ratio": round(again / first, 3),
                     "cpu_ratio": round(CPU[0] / first_cpu, 3), "target": "< 1"})  # fmt: skip
    if print_table:
        print(f"{'benchmark':<64} {'seconds':>9} {'baseline':>9} {'ratio':>7} {'cpu ratio':>9}  target")
        for row in rows:
            print(f"{row['benchmark']:<64} {row['seconds']:>9.3f} {row['baseline_s']:>9.3f} {row['ratio']:>7.3f}"
                  f" {row['cpu_ratio']:>9.3f}  {row['target']}")  # fmt: skip
    return rows


if __name__ == "__main__":
    run()
