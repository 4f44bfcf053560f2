"""Readability: measure narration with the Flesch–Kincaid grade level, and adapt it to an audience
without a language model.

How narration is adapted (in this order, the first that applies):
1. **Authored per audience** — a section may give `narration_by_band: {early-primary: "…", adult: "…"}`;
   the text for the audience's band is used as written. This is the honest best: a person wrote it.
2. **Mechanical simplification** of `narration`, by band (`SIMPLIFY_BY_BAND`):
   - sentences longer than the band's `max_sentence_words` are split at clause joints (`;`, `, and`,
     `, but`, `, so`, `, because`), each side kept only when it has at least `MIN_CLAUSE_WORDS` words,
     counting from the last comma before the joint (so a list like "sunlight, water, and air" is never cut);
   - for the youngest bands, words found in the lexicon (`templates/_lexicon.yaml`: a small, reviewed
     table such as `approximately → about`) are replaced by their plain equivalent, keeping capitals.
   Nothing else is rewritten: no word is invented, dropped (except a joining "and"), or reordered.
   Adults get the narration as written.

Example:
    >>> flesch_kincaid_grade("The cat sat on the mat.")
    -1.45
    >>> simplify("Leaves contain chlorophyll, and chlorophyll captures light energy for the plant.", grade=2)
    'Leaves contain chlorophyll. Chlorophyll captures light energy for the plant.'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path

from edusdk._errors import ScriptTemplateError
from edusdk.models.outline import AudienceBand
from edusdk.script import timing
from edusdk.script.templates import LayeredYaml, load_layered

LEXICON_FILE = "_lexicon.yaml"
MIN_CLAUSE_WORDS = 4
# band -> (max words in a sentence before it is split, whether the lexicon applies); None = leave as is
SIMPLIFY_BY_BAND: dict[str, tuple[int | None, bool]] = {
    "early-primary": (10, True),
    "upper-primary": (14, True),
    "middle-school": (20, False),
    "high-school": (28, False),
    "adult": (None, False),
}
# clause joint -> what starts the new sentence ("" drops the joint word)
_JOINTS: tuple[tuple[str, str], ...] = (
    (";", ""),
    (", and", ""),
    (", but", "But"),
    (", so", "So"),
    (", because", "That is because"),
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")


def count_syllables(word: str) -> int:
    """Syllables of an English word by vowel groups (a silent final 'e' dropped, '-le' kept); at least 1."""
    w = word.lower().strip("'’-")
    if not w:
        return 0
    groups = len(_VOWEL_GROUP.findall(w))
    if w.endswith("e") and not w.endswith(("le", "ee", "ye")) and groups > 1:
        groups -= 1
    if w.endswith(("ed", "es")) and len(w) > 3 and w[-3] not in "aeioutdy" and groups > 1:
        groups -= 1  # "jumped", "makes": the ending adds no syllable
    return max(1, groups)


def flesch_kincaid_grade(text: str) -> float:
    """The Flesch–Kincaid grade level of `text`: 0.39·words/sentence + 11.8·syllables/word − 15.59,
    rounded to 0.01 (lower is easier; 0.0 for text without words).

    Example:
        >>> flesch_kincaid_grade("Photosynthesis transforms electromagnetic radiation into chemical energy.") > 12
        True
    """
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len(timing.split_sentences(text)))
    syllables = sum(count_syllables(w) for w in words)
    return round(0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59, 2)


def adapt_narration(
    narration: str,
    grade: int | None,
    by_band: Mapping[AudienceBand, str] | None = None,
    *,
    simplify_text: bool = True,
) -> str:
    """The narration for an audience of `grade` (None = adult): the authored text for its band if the
    section gives one, else `simplify(narration, grade)` (only when `simplify_text`: the lexicon and the
    clause joints are English, so other languages are used as written)."""
    band = timing.audience_band(grade)
    authored = {str(k): v for k, v in (by_band or {}).items()}
    if band in authored:
        return " ".join(authored[band].split())
    return simplify(narration, grade) if simplify_text else " ".join(narration.split())


def simplify(text: str, grade: int | None, *, templates_dir: Path | None = None) -> str:
    """Split over-long sentences at clause joints and (for young bands) swap lexicon words; see the module
    docstring. Text already simple enough comes back unchanged (whitespace normalised)."""
    max_words, use_lexicon = SIMPLIFY_BY_BAND[timing.audience_band(grade)]
    text = " ".join(text.split())
    if max_words is None or not text:
        return text
    if use_lexicon:
        text = _swap_words(text, load_lexicon(templates_dir))
    out: list[str] = []
    for sentence in timing.split_sentences(text):
        out += _split_sentence(sentence, max_words)
    return " ".join(out)


def load_lexicon(templates_dir: Path | None = None) -> dict[str, str]:
    """The plain-word lexicon (`_lexicon.yaml` on the templates search path, earlier dirs overriding)."""
    return load_layered(LEXICON_FILE, templates_dir, _build_lexicon)


def _build_lexicon(layers: LayeredYaml) -> dict[str, str]:
    lexicon: dict[str, str] = {}
    for path, data in layers:
        words = data.get("words") if isinstance(data, dict) else None
        if not isinstance(words, dict) or not all(isinstance(v, str) for v in words.values()):
            raise ScriptTemplateError(f'"{path}": expected a mapping of word: plain word under `words:`')
        lexicon.update({str(k).lower(): v for k, v in words.items()})
    return lexicon


def _swap_words(text: str, lexicon: Mapping[str, str]) -> str:
    if not lexicon:
        return text
    pattern = _lexicon_pattern(tuple(sorted(lexicon, key=len, reverse=True)))

    def plain(match: re.Match[str]) -> str:
        found = match.group(0)
        simple = lexicon[found.lower()]
        return simple[:1].upper() + simple[1:] if found[:1].isupper() else simple

    return pattern.sub(plain, text)


@functools.lru_cache(maxsize=8)
def _lexicon_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def _split_sentence(sentence: str, max_words: int) -> list[str]:
    """Split at the clause joint nearest the middle, recursively, while the sentence is too long."""
    if timing.word_count(sentence) <= max_words:
        return [sentence]
    best: tuple[float, int, int, str] | None = None
    lowered = sentence.lower()
    for joint, starter in _JOINTS:
        for match in re.finditer(re.escape(joint) + r"\s", lowered):
            left, right = sentence[: match.start()], sentence[match.end() :]
            if min(timing.word_count(left), timing.word_count(right)) < MIN_CLAUSE_WORDS:
                continue
            if joint.startswith(",") and timing.word_count(left.rsplit(",", 1)[-1]) < MIN_CLAUSE_WORDS:
                continue  # "sunlight, water, and air": the end of a list, not a clause
            balance = abs(timing.word_count(left) - timing.word_count(right))
            if best is None or balance < best[0]:
                best = (balance, match.start(), match.end(), starter)
    if best is None:
        return [sentence]
    _, start, end, starter = best
    left = sentence[:start].rstrip(",;: ") + "."
    right = sentence[end:].strip()
    right = f"{starter} {right}" if starter else right[:1].upper() + right[1:]
    return [*_split_sentence(left, max_words), *_split_sentence(right, max_words)]
