"""Shot timing: how long narration takes to speak for an audience, and where to split narration that
does not fit one shot. Pure functions; the numbers are named constants here and nowhere else."""

from __future__ import annotations

import math
import re

# Narration speed by audience band: younger listeners need a slower voice-over.
WPM_BY_BAND: dict[str, int] = {
    "early-primary": 110,  # kindergarten–grade 2
    "upper-primary": 130,  # grades 3–5
    "middle-school": 145,  # grades 6–8
    "high-school": 155,  # grades 9–12
    "adult": 165,  # adult and higher-ed
}
# Longest shot by audience band: younger viewers get shorter shots (more frequent visual change).
MAX_SHOT_S_BY_BAND: dict[str, float] = {
    "early-primary": 12.0,
    "upper-primary": 15.0,
    "middle-school": 18.0,
    "high-school": 20.0,
    "adult": 20.0,
}
LEAD_IN_S = 0.3  # a breath before the voice starts
LEAD_OUT_S = 0.5  # and a beat after it ends, so a transition never cuts a word
MIN_SHOT_S = 3.0
MAX_SHOT_S = 20.0
DEFAULT_TRANSITION_S = 0.5

_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]”’»]))\s+(?=[\"'(\[“‘¿¡«]?[A-Z0-9À-ÖØ-Þ])")
_CLAUSE_END = re.compile(r"(?<=[,;:—])\s+")
# A "sentence" ending in one of these is an abbreviation, not the end of a sentence.
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "c.", "ca.", "approx.")


def audience_band(grade: int | None) -> str:
    """The audience band of a grade level (kindergarten = 0; None = adult or higher-ed)."""
    if grade is None:
        return "adult"
    if grade <= 2:
        return "early-primary"
    if grade <= 5:
        return "upper-primary"
    if grade <= 8:
        return "middle-school"
    return "high-school"


def words_per_minute(grade: int | None) -> int:
    """Narration speed for a grade level (see `WPM_BY_BAND`)."""
    return WPM_BY_BAND[audience_band(grade)]


def max_shot_seconds(grade: int | None) -> float:
    """The longest shot for a grade level (see `MAX_SHOT_S_BY_BAND`); long narration splits below it."""
    return MAX_SHOT_S_BY_BAND[audience_band(grade)]


def word_count(text: str) -> int:
    """Spoken words in `text` (whitespace-separated tokens that contain a letter or digit)."""
    return sum(1 for token in text.split() if any(ch.isalnum() for ch in token))


def speech_seconds(text: str, wpm: int) -> float:
    """Seconds needed to speak `text` at `wpm` words per minute, without padding."""
    return word_count(text) * 60.0 / wpm


def round_duration(seconds: float) -> float:
    """Round up to a tenth of a second, so rounding never cuts the end of the narration."""
    return math.ceil(round(seconds * 10, 6)) / 10


def shot_duration(
    narration: str,
    wpm: int,
    *,
    on_screen_words: int = 0,
    min_s: float = MIN_SHOT_S,
    max_s: float = MAX_SHOT_S,
) -> float:
    """Length of a shot: narration at `wpm` plus the lead-in/out pad, clamped to [min_s, max_s].

    A shot without narration is timed by its on-screen text, read at the same pace.

    Example:
        >>> shot_duration("Plants make their own food from light.", 145)
        3.7
    """
    words = word_count(narration) or on_screen_words
    seconds = words * 60.0 / wpm + LEAD_IN_S + LEAD_OUT_S
    return round_duration(min(max(seconds, min_s), max_s))


def split_sentences(text: str) -> list[str]:
    """Split narration into sentences, keeping abbreviations such as 'e.g.' inside their sentence."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text.strip()) if p.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and sentences[-1].lower().endswith(_ABBREVIATIONS):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def fit_narration(text: str, wpm: int, *, max_s: float = MAX_SHOT_S) -> list[str]:
    """Split `text` into consecutive parts that each fit one shot of at most `max_s` seconds.

    Splits at sentence boundaries; a single sentence too long for one shot is split at clause
    punctuation (, ; : —), and only as a last resort between words. Text that fits is returned whole.

    Example:
        >>> len(fit_narration("One two three. " * 40, 145))
        3
    """
    text = " ".join(text.split())
    if not text:
        return []
    budget = max(1, int((max_s - LEAD_IN_S - LEAD_OUT_S) * wpm / 60.0))  # words one shot can hold
    if word_count(text) <= budget:
        return [text]
    units: list[str] = []
    for sentence in split_sentences(text):
        units += _split_long(sentence, budget)
    # Aim for parts of even length (no 2-second tail shot): as few parts as the budget allows.
    count = math.ceil(word_count(text) / budget)
    target = word_count(text) / count
    parts: list[str] = []
    current: list[str] = []
    for unit in units:
        have, more = word_count(" ".join(current)), word_count(unit)
        over_budget = have + more > budget
        past_target = have + more / 2 > target and len(parts) < count - 1
        if current and (over_budget or past_target):
            parts.append(" ".join(current))
            current = []
        current.append(unit)
    if current:
        parts.append(" ".join(current))
    return parts


def _split_long(sentence: str, budget: int) -> list[str]:
    """A sentence as pieces of at most `budget` words: whole, by clauses, or by words."""
    if word_count(sentence) <= budget:
        return [sentence]
    pieces: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        if word_count(clause) <= budget:
            pieces.append(clause)
        else:
            words = clause.split()
            pieces += [" ".join(words[i : i + budget]) for i in range(0, len(words), budget)]
    return pieces


def spread(items: list[str], groups: int) -> list[list[str]]:
    """Deal `items` in order into `groups` consecutive groups, as evenly as possible, earlier groups
    first (so 2 items into 4 groups gives [[a], [b], [], []])."""
    if groups <= 0:
        return []
    size, extra = divmod(len(items), groups)
    out: list[list[str]] = []
    start = 0
    for i in range(groups):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def scale_durations(durations: list[float], total_s: float) -> list[float]:
    """Scale shot lengths proportionally so they sum to `total_s` (a section's `duration_s` override),
    each rounded to 0.1 s, with the rounding remainder given to the last shot."""
    if not durations:
        return []
    weight = sum(durations)
    scaled = [max(0.1, round(total_s * d / weight, 1)) for d in durations[:-1]]
    last = round(total_s - sum(scaled), 1)
    return [*scaled, max(0.1, last)]
