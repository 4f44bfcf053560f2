"""Moderation: accuracy on the labelled evaluation set (tests/moderation_eval/), text-check latency and frame-check
throughput, each against a baseline measured in the same run.

- accuracy: precision / recall / FPR per category (blocklist, rules, learned classifier, MiniLM exemplars, PII) on
  every evaluation set; the learned classifier is fitted on the sets in `evaluate.TRAINING` (fit numbers there), the
  sets in `evaluate.BLIND` measure it;
- text latency: p50 ms per prompt, one prompt at a time (the default int8 encoder, the fp32 encoder as baseline, a
  repeated prompt served from the embedding cache), batched (32), and on a mix of every set and label with e5 and
  without it (baseline), after warm-up; target ≤ 10 ms;
- frames: 512 px frames per second through NudeNet (numpy decoding) + pHash/dHash matching vs hashing alone and vs
  the stock `nudenet.NudeDetector.detect` on the same frames; target ≥ 30 fps.

Run: `python -m benchmarks bench_moderation` (or call `run()`).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from edusdk import EduClient
from edusdk.models.outline import Outline
from edusdk.moderation import semantic
from edusdk.moderation.checks import moderate_text, moderate_texts
from edusdk.moderation.frames import check_frames, image_hashes, match_references, sample_frames, unsafe_regions
from edusdk.moderation.policy import Policy
from tests.moderation_eval.evaluate import SETS, evaluate, load_examples

ROOT = Path(__file__).resolve().parent.parent


class _Ref:
    def __init__(self, phash: str, dhash: str) -> None:
        self.id, self.label, self.phash, self.dhash = 1, "bench", phash, dhash


def _p50_single(policy: Policy, texts: list[str]) -> float:
    times = []
    for text in texts:
        t = time.perf_counter()
        moderate_text(text, policy)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _text_latency(policy: Policy, texts: list[str]) -> dict[str, float]:
    """p50 ms per prompt. Warm-up prompts are not among the measured ones, so `single` never hits the cache.

    `single`: the default encoder (int8 MiniLM) on unseen prompts; baseline (same run, same prompts, cache cleared):
    the fp32 encoder (`fp32_single`, the default before); plus a repeated prompt (embedding cache), batches of 32
    and the lexicon + PII checks alone.
    """
    model = semantic.model()
    model.clear_cache()  # the accuracy runs embedded every prompt already
    for text in texts[:5]:
        moderate_text(text, policy)  # warm-up
    single = _p50_single(policy, texts[5:65])
    repeated = _p50_single(policy, texts[5:65])  # the same prompts again: embeddings come from the cache
    quantised, model.quantised = model.quantised, False  # as with EDUSDK_MODERATION_INT8=0: fp32 only, no re-scoring
    fp32 = model.fp32
    model._forward = lambda ids, mask: fp32(input_ids=ids, attention_mask=mask).last_hidden_state
    model.clear_cache()
    try:
        for text in texts[:5]:
            moderate_text(text, policy)  # warm-up, fp32
        fp32_single = _p50_single(policy, texts[5:65])  # the same prompts as `single`, cache cleared
    finally:
        model._forward = None
        model.quantised = quantised
    model.clear_cache()
    batched = []
    for i in range(130, 258, 32):
        chunk = [("text", t) for t in texts[i : i + 32]]
        t = time.perf_counter()
        moderate_texts(chunk, policy)
        batched.append((time.perf_counter() - t) * 1000 / len(chunk))
    model.clear_cache()
    no_semantic = policy.model_copy(update={"semantic": False})
    mixed, mixed_off, e5_share = _mixed_latency(policy, texts)
    return {"single_p50_ms": single, "fp32_single_p50_ms": fp32_single,
            "repeated_p50_ms": repeated, "mixed_single_p50_ms": mixed, "mixed_no_e5_p50_ms": mixed_off,
            "mixed_e5_share": e5_share,
            "batched_p50_ms": statistics.median(batched),
            "lexicon_only_p50_ms": _p50_single(no_semantic, texts[5:65])}  # fmt: skip


def _mixed_latency(policy: Policy, texts: list[str]) -> tuple[float, float, float]:
    """p50 ms per prompt on 60 prompts drawn evenly from every set and label (unsafe, copyright, other languages:
    more of them pass the classifier's MiniLM gate and are read by e5 too), one at a time, caches cleared: with e5,
    and (baseline, same prompts) with `EDUSDK_MODERATION_E5=0` (MiniLM-only heads). Also the share of those prompts
    e5 read."""
    import os

    from edusdk.moderation import classifier, multilingual
    from edusdk.moderation.normalise import harm_reading

    mixed = texts[:: max(1, len(texts) // 65)][:65]
    encoder = multilingual.encoder()
    timings = []
    for off in (False, True):
        semantic.model().clear_cache()
        if encoder is not None:
            encoder.clear_cache()
        before = os.environ.get("EDUSDK_MODERATION_E5")
        os.environ["EDUSDK_MODERATION_E5"] = "0" if off else "1"
        try:
            for text in mixed[:5]:
                moderate_text(text, policy)  # warm-up
            timings.append(_p50_single(policy, mixed[5:65]))
        finally:
            if before is None:
                os.environ.pop("EDUSDK_MODERATION_E5", None)
            else:
                os.environ["EDUSDK_MODERATION_E5"] = before
    units = [u for t in mixed[5:65] for u in classifier.units_of(harm_reading(t))[0]]
    scores = classifier.assess(units)
    share = float(scores.full.mean()) if scores is not None and len(units) else 0.0
    return timings[0], timings[1], share


def _frame_rate(n: int = 40) -> dict[str, float]:
    """Frames per second through `check_frames` (NudeNet + pHash/dHash vs one reference) at 512 px.

    Worst case: every frame different (random noise). Lesson case: the frames of a storyboard lesson rendered
    here, sampled at 4 fps — mostly static cards, so the detector reruns only when the picture changes.
    Baseline: hashing alone on the same distinct frames.
    """
    policy = Policy.load("k12")
    rng = np.random.default_rng(0)
    distinct = [(i / 4, rng.integers(0, 255, (288, 512, 3), dtype=np.uint8)) for i in range(n)]
    ref = _Ref(*image_hashes(Image.fromarray(distinct[0][1])))
    unsafe_regions(distinct[0][1])  # warm-up: load the ONNX session
    t = time.perf_counter()
    check_frames(iter(distinct), policy, references=[ref])
    worst = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for _t, frame in distinct:
        match_references(Image.fromarray(frame), [ref])
    hashing = n / (time.perf_counter() - t)
    stock = _stock_nudenet_rate(distinct)
    with tempfile.TemporaryDirectory() as work:
        outline = Outline.from_file(ROOT / "examples/outlines/photosynthesis.yaml")
        with EduClient(db=":memory:", policy=policy.model_copy(update={"frame_rate": 0.0})) as client:
            lesson = client.lessons.render(outline, output=Path(work) / "lesson.mp4", size="512x288", fps=8)
        sampled = list(sample_frames(lesson.video, rate=4.0))
    t = time.perf_counter()
    check_frames(iter(sampled), policy, references=[ref])
    lesson_rate = len(sampled) / (time.perf_counter() - t)
    return {"frames_per_s_distinct": worst, "frames_per_s_lesson": lesson_rate, "hash_only_frames_per_s": hashing,
            "stock_nudenet_frames_per_s": stock}  # fmt: skip


def _stock_nudenet_rate(frames: list[tuple[float, Any]]) -> float:
    """Baseline: `nudenet.NudeDetector.detect` (its Python decoding) + hashing, one thread, on the same frames."""
    import nudenet

    from edusdk.moderation.frames import NudeNetDetector

    stock = nudenet.NudeDetector()
    stock.onnx_session = NudeNetDetector(1).session
    stock.detect(np.dstack([frames[0][1], np.full(frames[0][1].shape[:2], 255, dtype=np.uint8)]))  # warm-up
    t = time.perf_counter()
    for _t, frame in frames:
        image_hashes(Image.fromarray(frame))
        stock.detect(np.dstack([frame, np.full(frame.shape[:2], 255, dtype=np.uint8)]))
    return len(frames) / (time.perf_counter() - t)


# The held-out set (tests/moderation_eval/holdout/, 128 prompts) measured with the classifier as it was BEFORE the
# dev-set misses were worked on (exemplars v1, no intent cues, no street-first addresses / generic IDs):
HOLDOUT_BEFORE = {"unsafe": (0.833, 0.465), "copyright": (1.000, 0.450), "pii": (0.923, 0.800), "fpr_safe": 0.029,
                  "fpr_hard_benign": 0.200}  # fmt: skip
# … and before the second round (registry v1 of about 90 characters and 30 public figures, exemplars v2, fp32):
HOLDOUT_BEFORE_ROUND2 = {"unsafe": (0.867, 0.605), "copyright": (1.000, 0.450), "pii": (0.933, 0.933),
                         "fpr_safe": 0.029, "fpr_hard_benign": 0.200}  # fmt: skip


def run(print_table: bool = True) -> list[dict[str, Any]]:
    """Measure and (optionally) print; returns one row per measurement."""
    semantic.exemplars()
    policy = Policy.load("k12")
    rows: list[dict[str, Any]] = []
    for name, folder in SETS.items():
        if print_table:
            print(f"== {name} set ==")
        metrics = evaluate(print_table=print_table, directory=folder)
        rows += [{"set": name, **r} for r in metrics["per_category"]]  # type: ignore[attr-defined]
        rows.append({"set": name, "measure": "fpr_safe_educational", "value": metrics["fpr_safe"]})
        rows.append({"set": name, "measure": "fpr_hard_benign", "value": metrics["fpr_hard_benign"]})
    if print_table:
        for title, ref in (("the dev-set tuning", HOLDOUT_BEFORE), ("the registry round", HOLDOUT_BEFORE_ROUND2)):
            before = ", ".join(f"{k} P/R {v[0]:.3f}/{v[1]:.3f}" for k, v in ref.items() if isinstance(v, tuple))
            print(f"holdout BEFORE {title}: {before}; FPR safe {ref['fpr_safe']:.3f}, "
                  f"hard benign {ref['fpr_hard_benign']:.3f}")  # fmt: skip
    texts = [e.text for folder in SETS.values() for e in load_examples(folder)]
    latency = _text_latency(policy, texts)
    frames = _frame_rate()
    rows += [{"measure": k, "value": v} for k, v in {**latency, **frames}.items()]
    if print_table:
        lat = latency
        speedup = lat["fp32_single_p50_ms"] / lat["single_p50_ms"]
        print(f"text check p50, one unseen prompt at a time: {lat['single_p50_ms']:.1f} ms (int8 MiniLM, the default); "
              f"fp32 encoder (baseline, EDUSDK_MODERATION_INT8=0) {lat['fp32_single_p50_ms']:.1f} ms (x{speedup:.2f}); "
              f"repeated prompt (cached) {lat['repeated_p50_ms']:.2f} ms; "
              f"batched {lat['batched_p50_ms']:.1f} ms; "
              f"lexicon + PII only {lat['lexicon_only_p50_ms']:.2f} ms; target ≤ 10 ms")  # fmt: skip
        print(f"text check p50 on 60 prompts drawn from every set and label ({lat['mixed_e5_share']:.0%} read by e5 "
              f"past the classifier's MiniLM gate): {lat['mixed_single_p50_ms']:.1f} ms; without e5 (baseline, "
              f"EDUSDK_MODERATION_E5=0: MiniLM-only heads) {lat['mixed_no_e5_p50_ms']:.1f} ms")  # fmt: skip
        print(f"frame checks at 512 px: {frames['frames_per_s_distinct']:.1f} frames/s when every frame differs, "
              f"{frames['frames_per_s_lesson']:.1f} frames/s on a rendered lesson (baseline: stock NudeNet decoding "
              f"{frames['stock_nudenet_frames_per_s']:.1f} frames/s; hashing alone "
              f"{frames['hash_only_frames_per_s']:.0f} frames/s; target ≥ 30)")  # fmt: skip
    return rows


if __name__ == "__main__":
    run()
