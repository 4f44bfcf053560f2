"""Batch throughput: the fractions matrix (examples/batch/fractions-matrix.yaml) rendered tiny (128x72, 5 fps)
with the storyboard engine, measured side by side in one run:

- local executor, `--workers 1` (the baseline), then `--workers 2`;
- the Ray executor on a local Ray with 2 CPUs (its start-up included, as a user pays it);
- the job store's own cost per lesson: creating the batch's rows plus the two transitions a lesson makes
  (running, done), each one committed SQLite transaction, compared with the median render time.

Wall times include starting the worker processes (spawn + imports) — what a batch really costs; the
"steady" rate counts only from the first lesson finished to the last (start-up excluded).
Moderation runs on every lesson with the k12 blocklists only (`semantic: false`, `frame_rate: 0`): with
the MiniLM and frame checks on (`--full-moderation`) each tiny lesson costs several seconds of model time
on this 2-core machine and the table mostly measures the classifiers. The default renders all 108 lessons
three times (about 2–3 minutes on 2 cores); `--lessons N` renders a seeded sample of N instead.

Run: `python benchmarks/bench_batch.py [--lessons N] [--full-moderation]` (or `python -m benchmarks bench_batch`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from edusdk.batch import JobStore, load_matrix, run_batch
from edusdk.batch.matrix import BatchMatrix
from edusdk.moderation.policy import Policy

MATRIX = Path(__file__).resolve().parent.parent / "examples" / "batch" / "fractions-matrix.yaml"
SIZE, FPS = "128x72", 5
DEFAULT_LESSONS = 108


def _matrix(lessons: int) -> BatchMatrix:
    spec = yaml.safe_load(MATRIX.read_text())
    if lessons < 108:
        spec.update(sample=lessons, seed=1)
    path = Path(tempfile.mkdtemp(prefix="bench-batch-")) / "matrix.yaml"
    spec["outline"] = str(MATRIX.parent / spec["outline"])
    path.write_text(yaml.safe_dump(spec))
    return load_matrix(path)


def _store_overhead(matrix: BatchMatrix, folder: Path) -> float:
    """Seconds of job-store work per lesson: its row created, then marked running and done."""
    store = JobStore(folder / "batch.db")
    started = time.perf_counter()
    store.create(source="bench", fingerprint=matrix.fingerprint, settings={}, items=matrix.items)
    for item in matrix.items:
        store.mark_running(item.item_id)
        store.mark_done(item.item_id, lesson_id="les_x", video="v.mp4", manifest="v.json", duration_s=1.0, render_s=1.0)
    elapsed = time.perf_counter() - started
    store.close()
    return elapsed / len(matrix.items)


def run(
    print_table: bool = True, *, lessons: int = DEFAULT_LESSONS, full_moderation: bool = False
) -> list[dict[str, Any]]:
    matrix = _matrix(lessons)
    policy: str | Policy = (
        "k12" if full_moderation else Policy.load("k12").model_copy(update={"semantic": False, "frame_rate": 0.0})
    )
    rows: list[dict[str, Any]] = []
    median_render_s = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        os.environ["EDUSDK_DB"] = str(root / "analytics.db")  # workers (and Ray's) register lessons here
        for label, executor, workers in (
            ("local --workers 1", "local", 1),
            ("local --workers 2", "local", 2),
            ("ray, 2 CPUs", "ray", 2),
        ):
            out = root / label.replace(" ", "_").replace(",", "")
            summary = run_batch(
                matrix, out, executor=executor, workers=workers, size=SIZE, fps=FPS, policy=policy, retries=0
            )
            if not summary.ok:
                raise RuntimeError(f"{label}: {summary.failures[:3]}")
            store = JobStore(out / "batch.db")
            done = store.lessons(state="done")
            store.close()
            if workers == 1:
                median_render_s = statistics.median(r.render_s or 0.0 for r in done)
            finishes = sorted(r.finished_at.timestamp() for r in done if r.finished_at is not None)
            steady = (len(finishes) - 1) / (finishes[-1] - finishes[0]) * 60 if len(finishes) > 1 else 0.0
            rows.append(
                {
                    "run": label,
                    "lessons": summary.rendered,
                    "wall_s": round(summary.wall_s, 2),
                    "lessons_per_min": round(summary.lessons_per_min, 1),
                    "steady_per_min": round(steady, 1),
                }
            )
        per_lesson = _store_overhead(matrix, root / "store")
    base = rows[0]["lessons_per_min"]
    steady_base = rows[0]["steady_per_min"] or 1.0
    for row in rows:
        row["vs_workers_1"] = round(row["lessons_per_min"] / base, 2)
        row["steady_vs_workers_1"] = round(row["steady_per_min"] / steady_base, 2)
    rows.append(
        {
            "run": "job store per lesson",
            "lessons": len(matrix.items),
            "wall_s": round(per_lesson, 5),
            "lessons_per_min": None,
            "steady_per_min": None,
            "steady_vs_workers_1": None,
            "vs_workers_1": f"{per_lesson / median_render_s:.2%} of a render" if median_render_s else None,
        }
    )
    if print_table:
        print(
            f"{len(matrix.items)} lessons of {MATRIX.name} at {SIZE}, {FPS} fps, storyboard; "
            f"moderation: {'full k12' if full_moderation else 'k12 blocklists only'}; "
            f"median render {median_render_s:.2f} s/lesson (workers 1)"
        )
        print(
            f"{'run':<22} {'lessons':>7} {'wall s':>9} {'lessons/min':>12} {'ratio':>6} {'steady/min':>11} {'ratio':>6}"
        )
        for row in rows[:-1]:
            print(
                f"{row['run']:<22} {row['lessons']:>7} {row['wall_s']:>9} {row['lessons_per_min']:>12.1f} "
                f"{row['vs_workers_1']:>6} {row['steady_per_min']:>11.1f} {row['steady_vs_workers_1']:>6}"
            )
        last = rows[-1]
        print(f"{last['run']:<22} {last['lessons']:>7} {last['wall_s']:>9} s  ({last['vs_workers_1']})")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", type=int, default=DEFAULT_LESSONS, help="a seeded sample (default: all 108)")
    parser.add_argument("--full-moderation", action="store_true", help="MiniLM + frame checks on every lesson")
    args = parser.parse_args()
    run(lessons=args.lessons, full_moderation=args.full_moderation)
