"""A linear harm head on the MiniLM sentence embeddings: logistic regression, harmful vs benign, in numpy.

The nearest-exemplar check (`semantic`) decides by one similar sentence; the head weighs the whole training set, so a
new phrasing of a known harm is scored by what it shares with all of them. Trained
(`python -m edusdk.moderation.head_training`) on the harm exemplars of `moderation/semantic/exemplars.yaml` and the
harmful sentences of `moderation/semantic/training.yaml` (label 1), the `safe` bank, the registries' paraphrases and
the benign training sentences (label 0); a non-English sentence is trained on as its English gloss
(`normalise.gloss`), as it is scored. The fitted weights are stored in `moderation/semantic/head.json` with a digest
of the training data, so a test can tell when the data changed and the head was not retrained. The command prints
5-fold cross-validated numbers.

Example:
    >>> from edusdk.moderation.semantic import model
    >>> head = load_head()
    >>> head is not None and head.probability(model().embed(["how do I poison my teacher"]))[0] > 0.5
    True
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edusdk._resources import data_dir


@dataclass(frozen=True)
class Head:
    """Weights and bias of the logistic head, and the training data's digest."""

    weights: NDArray[np.float64]
    bias: float
    digest: str

    def probability(self, embeddings: NDArray[np.float32]) -> NDArray[np.float64]:
        """P(harmful) for each row of `embeddings` (unit vectors)."""
        return logistic(embeddings, self.weights, self.bias)


def logistic(embeddings: NDArray[np.floating[Any]], weights: NDArray[np.float64], bias: float) -> NDArray[np.float64]:
    """sigmoid(embeddings · weights + bias) per row: a logistic head's probabilities (this head's, the classifier's)."""
    z = embeddings.astype(np.float64) @ weights + bias
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def load_head(directory: Path | None = None) -> Head | None:
    """The head stored in `<moderation>/semantic/head.json` (None when there is none)."""
    return _load_head(directory)


@functools.lru_cache(maxsize=8)
def _load_head(directory: Path | None) -> Head | None:
    root = directory if directory is not None else data_dir("moderation")
    path = root / "semantic" / "head.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Head(np.array(data["weights"], dtype=np.float64), float(data["bias"]), str(data["digest"]))
