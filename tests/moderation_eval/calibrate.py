"""Cross-validate the semantic classifier's calibration on the dev set (never on `holdout/`).

    .venv/bin/python -m tests.moderation_eval.calibrate

The shipped values (`moderation/semantic/exemplars.yaml`: per-category thresholds, `margin`, `teaching_margin`)
were chosen on the dev set. This script asks whether choosing them that way generalises: the dev prompts are split
into 5 folds (stratified by label); on 4 folds a small grid — a shift added to every harmful-category threshold,
the safe `margin` and the `teaching_margin` — is searched for the lowest cost (a missed prompt costs 1, a flagged
safe or hard-benign prompt 3: the FPR target is the tighter one; ties go to the setting farthest from any
costlier one, the middle of the good region), and the choice is scored on the fifth fold. It prints each fold's
choice and the pooled out-of-fold recall / FPR, next to the shipped values' in-sample numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edusdk.moderation import semantic
from edusdk.moderation.checks import moderate_texts
from edusdk.moderation.policy import Policy
from tests.moderation_eval.evaluate import HERE, Example, flags, load_examples

SHIFTS = (-0.08, -0.04, 0.0, 0.04, 0.08)
MARGINS = (0.0, 0.04, 0.08, 0.12)
TEACHING_MARGINS = (-0.05, 0.0, 0.05, 0.1, 0.15)
FP_COST = 3
FOLDS = 5


@contextmanager
def _calibrated(shift: float, margin: float, teaching_margin: float) -> Iterator[None]:
    """Run the checks with a modified copy of the exemplar bank (embeddings reused, nothing re-embedded)."""
    bank = semantic.exemplars()
    thresholds = {c: (t if c in semantic.IDENTITY_CATEGORIES else t + shift) for c, t in bank.thresholds.items()}
    changed = dataclasses.replace(bank, thresholds=thresholds, margin=margin, teaching_margin=teaching_margin)
    original = semantic.exemplars
    semantic.exemplars = lambda directory=None: changed  # type: ignore[assignment]
    try:
        yield
    finally:
        semantic.exemplars = original


def _outcomes(examples: list[Example], params: tuple[float, float, float]) -> list[tuple[str, bool]]:
    """(label, flagged correctly-or-not) per example: for positives whether caught, for negatives whether flagged."""
    out: list[tuple[str, bool]] = [("", False)] * len(examples)
    with _calibrated(*params):
        for audience in sorted({e.audience for e in examples}):
            policy = Policy.load(audience)
            idx = [i for i, e in enumerate(examples) if e.audience == audience]
            for i, report in zip(idx, moderate_texts([("text", examples[i].text) for i in idx], policy), strict=True):
                e = examples[i]
                if e.label in ("safe", "hard_benign"):
                    out[i] = (e.label, report.decision != "allow")
                else:
                    out[i] = (e.label, e.label in flags(report))
    return out


def _cost(outcomes: list[tuple[str, bool]]) -> int:
    return sum((FP_COST if flagged else 0) if label in ("safe", "hard_benign") else (0 if flagged else 1)
               for label, flagged in outcomes)  # fmt: skip


def _clearance(params: tuple[float, float, float], costs: dict[tuple[float, float, float], int]) -> int:
    """Grid steps (Chebyshev) from `params` to the nearest setting that costs more: ties on a saturated dev set go
    to the middle of the good region, not to its edge."""
    axes = (SHIFTS, MARGINS, TEACHING_MARGINS)
    here = [values.index(params[k]) for k, values in enumerate(axes)]
    worse = [p for p, c in costs.items() if c > costs[params]]
    if not worse:
        return max(len(values) for values in axes)
    return min(max(abs(axes[k].index(p[k]) - here[k]) for k in range(3)) for p in worse)


def _summary(outcomes: list[tuple[str, bool]]) -> str:
    parts = []
    for label in ("unsafe", "copyright", "pii"):
        hits = [ok for lab, ok in outcomes if lab == label]
        parts.append(f"{label} recall {sum(hits) / max(len(hits), 1):.3f}")
    for label in ("safe", "hard_benign"):
        flagged = [f for lab, f in outcomes if lab == label]
        parts.append(f"FPR {label} {sum(flagged) / max(len(flagged), 1):.3f}")
    return ", ".join(parts)


def cross_validate(directory: Path = HERE, seed: int = 0) -> dict[str, object]:
    """Out-of-fold outcomes of the grid search; returns the pooled summary and each fold's choice."""
    examples = load_examples(directory)
    grid = list(itertools.product(SHIFTS, MARGINS, TEACHING_MARGINS))
    per_params = {params: _outcomes(examples, params) for params in grid}  # every prompt under every setting
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_label.setdefault(e.label, []).append(i)
    fold_of = [0] * len(examples)
    for indices in by_label.values():
        rng.shuffle(indices)
        for k, i in enumerate(indices):
            fold_of[i] = k % FOLDS
    pooled: list[tuple[str, bool]] = [("", False)] * len(examples)
    choices = []
    for fold in range(FOLDS):
        train = [i for i in range(len(examples)) if fold_of[i] != fold]
        costs = {p: _cost([per_params[p][i] for i in train]) for p in grid}
        lowest = min(costs.values())
        best = max((p for p in grid if costs[p] == lowest), key=lambda p: (_clearance(p, costs), -abs(p[0])))
        choices.append(best)
        for i in range(len(examples)):
            if fold_of[i] == fold:
                pooled[i] = per_params[best][i]
    bank = semantic.exemplars()
    shipped = (0.0, bank.margin, bank.teaching_margin)
    in_sample = per_params.get(shipped) or _outcomes(examples, shipped)
    whole = {p: _cost(per_params[p]) for p in grid}
    zero = [p for p in grid if whole[p] == min(whole.values())]
    extent = {name: (min(p[k] for p in zero), max(p[k] for p in zero))
              for k, name in enumerate(("shift", "margin", "teaching_margin"))}  # fmt: skip
    return {"choices": choices, "out_of_fold": _summary(pooled), "shipped": shipped, "in_sample": _summary(in_sample),
            "cost_by_setting": whole, "best_region": extent, "best_cost": min(whole.values()),
            "best_count": len(zero), "grid_size": len(grid)}  # fmt: skip


if __name__ == "__main__":
    result = cross_validate()
    for k, choice in enumerate(result["choices"]):  # type: ignore[arg-type]
        print(f"fold {k}: threshold shift {choice[0]:+.2f}, margin {choice[1]:.2f}, teaching margin {choice[2]:.2f}")
    print(f"out-of-fold (5-fold CV on the dev set): {result['out_of_fold']}")
    shipped = result["shipped"]
    print(f"shipped values {shipped} on the whole dev set (in-sample): {result['in_sample']}")
    print(f"on the whole dev set {result['best_count']} of {result['grid_size']} settings reach the lowest cost "
          f"({result['best_cost']}); their extent per axis: {result['best_region']}")  # fmt: skip
    worst = sorted(result["cost_by_setting"].items(), key=lambda kv: -kv[1])[:5]  # type: ignore[attr-defined]
    print("costliest settings (shift, margin, teaching margin) → cost: " + ", ".join(f"{p} → {c}" for p, c in worst))
