"""Fitting the linear harm head (`head.py`): its training data, a ridge-penalised logistic regression, 5-fold
cross-validation, and the command that writes `moderation/semantic/head.json`:

    python -m edusdk.moderation.head_training

Kept apart from `head.py`, which `semantic` imports to score: training needs the encoder and the registries that
`semantic` loads, scoring needs only the stored weights.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from edusdk._resources import data_dir
from edusdk.moderation.normalise import gloss
from edusdk.moderation.semantic import _copyright_aliases, model

L2 = 0.03  # ridge penalty (chosen by the cross-validation printed by `main`)


def training_data(root: Path | None = None) -> tuple[list[str], NDArray[np.float64]]:
    """The head's training sentences (as they are scored: glossed when not English) and labels (1 = harmful)."""
    root = root if root is not None else data_dir("moderation")
    texts: list[str] = []
    labels: list[float] = []
    exemplars = yaml.safe_load((root / "semantic" / "exemplars.yaml").read_text(encoding="utf-8"))
    for category, spec in exemplars["categories"].items():
        if category in ("copyright", "public_figure"):
            continue
        texts += [str(t) for t in spec["exemplars"]]
        labels += [1.0] * len(spec["exemplars"])
    texts += [str(t) for t in exemplars.get("safe", [])]
    labels += [0.0] * len(exemplars.get("safe", []))
    paraphrases = list(dict.fromkeys(alias for _c, _t, alias, _s in _copyright_aliases(root)))
    texts += paraphrases
    labels += [0.0] * len(paraphrases)
    path = root / "semantic" / "training.yaml"
    if path.is_file():
        extra = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, label in (("harmful", 1.0), ("benign", 0.0)):
            items = [str(t) for t in extra.get(key, []) or []]
            texts += items
            labels += [label] * len(items)
    scored = [gloss(t, root) or t for t in texts]
    return scored, np.array(labels)


def digest(texts: list[str], labels: NDArray[np.float64]) -> str:
    """A short digest of the training data (the head is stale when it changes)."""
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(f"{int(label)}\t{text}\n".encode())
    return h.hexdigest()[:16]


def fit(x: NDArray[np.float64], y: NDArray[np.float64], l2: float = L2) -> tuple[NDArray[np.float64], float]:
    """Ridge-penalised logistic regression by Newton's method, classes weighted to equal total weight."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    pos = max(float(y.sum()), 1.0)
    weight = np.where(y > 0.5, n / (2 * pos), n / (2 * max(n - pos, 1.0)))
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (weight * (p - y)) + penalty * w
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


def cross_validate(
    x: NDArray[np.float64], y: NDArray[np.float64], l2: float = L2, folds: int = 5
) -> NDArray[np.float64]:
    """Out-of-fold P(harmful) for every training sentence (folds by a fixed shuffle)."""
    order = np.random.default_rng(0).permutation(len(y))
    out = np.zeros(len(y))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        w, b = fit(x[train], y[train], l2)
        out[test] = 1.0 / (1.0 + np.exp(-(x[test] @ w + b)))
    return out


def out_of_fold(x: NDArray[np.float64], y: NDArray[np.float64], l2: float, thresholds: tuple[float, ...]) -> list[str]:
    """One line per threshold: the 5-fold cross-validated recall and false-positive rate at penalty `l2`."""
    p = cross_validate(x, y, l2)
    lines = []
    for t in thresholds:
        recall = float(((p >= t) & (y > 0.5)).sum() / y.sum())
        fpr = float(((p >= t) & (y < 0.5)).sum() / (y < 0.5).sum())
        lines.append(f"threshold {t}: out-of-fold recall {recall:.3f}, FPR {fpr:.3f}")
    return lines


def main() -> None:
    """Cross-validate the penalty, fit on everything, write `head.json`."""
    root = data_dir("moderation")
    texts, y = training_data(root)
    x = model().embed(texts, exact=True).astype(np.float64)
    print(f"{len(texts)} sentences, {int(y.sum())} harmful")
    for l2 in (0.003, 0.01, 0.03, 0.1):
        for line in out_of_fold(x, y, l2, (0.5, 0.7, 0.8, 0.9)):
            print(f"l2 {l2:<4} {line}")
    w, b = fit(x, y, L2)
    path = root / "semantic" / "head.json"
    payload = {"digest": digest(texts, y), "l2": L2, "bias": round(b, 6), "weights": [round(float(v), 6) for v in w]}
    path.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
