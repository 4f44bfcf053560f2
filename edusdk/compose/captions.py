"""Captions from narration: readable cues timed onto the shot timeline, written as WebVTT or SRT.

Each shot's narration is split at sentence, then clause, then word boundaries into cues of at most
two lines of 42 characters (the common broadcast/Netflix limit), spread over the shot's own segment
of the video in proportion to their length. Times are whole milliseconds, rounded inwards at shot
boundaries and shared between neighbouring cues, so a cue never overlaps the next one and never
leaves its shot or the video.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Mapping, Sequence

from edusdk._errors import BadInputError
from edusdk.models.lesson import CaptionCue, TimelineEntry
from edusdk.models.script import Script

MAX_LINE_CHARS = 42
MAX_LINES = 2
MIN_CUE_S = 1.0

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+|\s+(?=[—–]\s)")


def wrap_cue(text: str) -> list[str]:
    """Lines of a cue: one line if it fits, else two balanced lines (or more if the text is too long)."""
    text = " ".join(text.split())
    if len(text) <= MAX_LINE_CHARS:
        return [text] if text else []
    # Balanced lines read better than a full line over a stub: break at the space that evens them out.
    longest = {i: max(i, len(text) - i - 1) for i, ch in enumerate(text) if ch == " "}
    fitting = [i for i, size in longest.items() if size <= MAX_LINE_CHARS]
    if fitting:
        best = min(fitting, key=longest.__getitem__)
        return [text[:best], text[best + 1 :]]
    return textwrap.wrap(text, width=MAX_LINE_CHARS, break_long_words=True, break_on_hyphens=False)


def _fits(text: str) -> bool:
    return len(wrap_cue(text)) <= MAX_LINES


def _hard_split(word: str) -> list[str]:
    size = MAX_LINE_CHARS * MAX_LINES
    return [word[i : i + size] for i in range(0, len(word), size)]


def _pack(units: Sequence[str]) -> list[str]:
    """Greedily join units (clauses or words) into cues that fit; a unit too long on its own is split."""
    chunks: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current} {unit}".strip()
        if _fits(candidate):
            current = candidate
            continue
        if current:
            chunks.append(current)
        current = ""
        if _fits(unit):
            current = unit
        else:
            pieces = _split_text(unit)
            chunks.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        chunks.append(current)
    return chunks


def _split_text(text: str) -> list[str]:
    """Split one over-long sentence at clauses, then words, then inside a word (URLs, formulas)."""
    if _fits(text):
        return [text]
    clauses = [c for c in _CLAUSE_END.split(text) if c]
    if len(clauses) > 1:
        return _pack(clauses)
    words = text.split()
    if len(words) > 1:
        return _pack(words)
    return _hard_split(text)


def split_narration(narration: str) -> list[str]:
    """The narration as cue texts (not yet wrapped), each fitting in two lines of 42 characters."""
    text = " ".join(narration.split())
    if not text:
        return []
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        chunks.extend(_split_text(sentence))
    return chunks


def _merge_for_time(chunks: list[str], seconds: float) -> list[str]:
    """Join neighbouring cues (shortest joined pair first, while it still fits) until each can have MIN_CUE_S."""
    chunks = list(chunks)
    while len(chunks) > 1 and len(chunks) * MIN_CUE_S > seconds:
        pairs = [(len(chunks[i]) + len(chunks[i + 1]), i) for i in range(len(chunks) - 1)]
        joinable = [(size, i) for size, i in sorted(pairs) if _fits(f"{chunks[i]} {chunks[i + 1]}")]
        if not joinable:
            break
        i = joinable[0][1]
        chunks[i : i + 2] = [f"{chunks[i]} {chunks[i + 1]}"]
    return chunks


def _durations(weights: Sequence[int], seconds: float) -> list[float]:
    """Split `seconds` in proportion to `weights`, raising short shares to MIN_CUE_S when there is room."""
    if len(weights) * MIN_CUE_S > seconds:  # no room for the minimum: plain proportion, cues shorten
        total = sum(weights)
        return [seconds * w / total for w in weights]
    fixed: set[int] = set()
    while True:
        free = [i for i in range(len(weights)) if i not in fixed]
        left = seconds - MIN_CUE_S * len(fixed)
        share = sum(weights[i] for i in free)
        short = {i for i in free if left * weights[i] / share < MIN_CUE_S}
        if not short:
            return [MIN_CUE_S if i in fixed else left * weights[i] / share for i in range(len(weights))]
        fixed |= short


def _floor_ms(seconds: float) -> int:
    return math.floor(seconds * 1000 + 1e-6)  # the epsilon keeps 1.2 (=1.19999…) at 1200 ms; -_floor_ms(-x) is ceil


def _speech_span(window: tuple[float, float], start_ms: int, end_ms: int, chunks: int) -> tuple[int, int]:
    """The spoken window inside the shot [start_ms, end_ms], grown around its middle (within the shot) until
    each of `chunks` cues can last MIN_CUE_S."""
    lo, hi = max(start_ms, -_floor_ms(-window[0])), min(end_ms, _floor_ms(window[1]))
    need = max(0, round(chunks * MIN_CUE_S * 1000) - (hi - lo))
    if need > 0:
        lo, hi = lo - need // 2, hi + need - need // 2
        lo, hi = (start_ms, start_ms + (hi - lo)) if lo < start_ms else (lo, hi)
        lo, hi = (end_ms - (hi - lo), end_ms) if hi > end_ms else (lo, hi)
        lo = max(lo, start_ms)
    return lo, hi


def cues_for(
    script: Script, timeline: Sequence[TimelineEntry], *, speech: Mapping[str, tuple[float, float]] | None = None
) -> list[CaptionCue]:
    """Caption cues for every shot's narration, each inside that shot's [start_s, end_s] segment.

    `speech` (shot id → (start_s, end_s) of its spoken narration, see `compose.audio`) narrows a narrated
    shot's cues to when the words are heard, widened to MIN_CUE_S per cue where the shot has room.

    Raises:
        BadInputError: the timeline does not belong to the script (other shots or order).
    """
    if [e.shot_id for e in timeline] != [s.id for s in script.shots]:
        raise BadInputError("the timeline's shots do not match the script's shots")
    cues: list[CaptionCue] = []
    for shot, entry in zip(script.shots, timeline, strict=True):
        # ceil/floor keep every cue inside its shot; cues inside one shot share floored boundaries
        start_ms, end_ms = -_floor_ms(-entry.start_s), _floor_ms(entry.end_s)
        if speech is not None and shot.id in speech:
            start_ms, end_ms = _speech_span(speech[shot.id], start_ms, end_ms, len(split_narration(shot.narration)))
        if end_ms <= start_ms:
            continue
        chunks = _merge_for_time(split_narration(shot.narration), (end_ms - start_ms) / 1000)
        if not chunks:
            continue
        spans = _durations([len(c) for c in chunks], (end_ms - start_ms) / 1000)
        edges = [start_ms]
        elapsed = 0.0
        for span in spans[:-1]:
            elapsed += span
            edges.append(min(end_ms, start_ms + _floor_ms(elapsed)))
        edges.append(end_ms)
        shot_cues: list[CaptionCue] = []
        pending = ""
        for i, chunk in enumerate(chunks):
            text = f"{pending} {chunk}".strip()
            if edges[i + 1] <= edges[i]:  # a cue rounded to nothing (a segment of a few ms): carry its words on
                pending = text
                continue
            pending = ""
            cue = CaptionCue(start_s=edges[i] / 1000, end_s=edges[i + 1] / 1000, text="\n".join(wrap_cue(text)))
            shot_cues.append(cue)
        if pending and shot_cues:
            last = shot_cues[-1]
            shot_cues[-1] = last.model_copy(update={"text": "\n".join(wrap_cue(f"{last.text} {pending}"))})
        cues.extend(shot_cues)
    return cues


def _timestamp(seconds: float, decimal: str) -> str:
    ms = round(seconds * 1000)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(cues: Sequence[CaptionCue]) -> str:
    """The cues as a WebVTT document (a header only when there are no cues)."""
    blocks = ["WEBVTT"]
    for cue in cues:
        times = f"{_timestamp(cue.start_s, '.')} --> {_timestamp(cue.end_s, '.')}"
        blocks.append(f"{times}\n{_vtt_escape(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def to_srt(cues: Sequence[CaptionCue]) -> str:
    """The cues as a SubRip (.srt) document."""
    blocks = [
        f"{n}\n{_timestamp(cue.start_s, ',')} --> {_timestamp(cue.end_s, ',')}\n{cue.text}"
        for n, cue in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n" if blocks else ""


_CUE_TIME = re.compile(r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})")


def _seconds(stamp: str) -> float:
    *rest, last = stamp.replace(",", ".").split(":")
    value = float(last)
    for i, part in enumerate(reversed(rest)):
        value += int(part) * 60 ** (i + 1)
    return value


def parse_captions(text: str, *, source: str = "captions") -> list[CaptionCue]:
    """Cues from a WebVTT or SRT document (cue settings, NOTE/STYLE blocks and numbering are ignored).

    Example:
        >>> parse_captions("WEBVTT\\n\\n00:00.000 --> 00:01.500\\nHello")
        [CaptionCue(start_s=0.0, end_s=1.5, text='Hello')]

    Raises:
        BadInputError: a cue whose end is not after its start, naming `source` and the cue's line.
    """
    cues: list[CaptionCue] = []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff").split("\n")
    i = 0
    while i < len(lines):
        match = _CUE_TIME.match(lines[i])
        if match is None:
            i += 1
            continue
        start, end = _seconds(match.group(1)), _seconds(match.group(2))
        if end <= start:
            raise BadInputError(f"{source}, line {i + 1}: the cue ends ({match.group(2)}) before it starts")
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].strip())
            i += 1
        raw = "\n".join(body).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        cues.append(CaptionCue(start_s=start, end_s=end, text=raw))
    return cues
