"""Personal data in student-written text: find it and redact it before the text leaves the process.

Patterns in the style of Microsoft Presidio's recognisers, with checksums where the identifier has one:
emails, phone numbers (9–15 digits), US SSNs (format + the reserved-number rules), payment card numbers
(Luhn), IP addresses, street addresses and postcodes, school names, people's names in context ("my name is
…", "my friend …", a common first name followed by a surname), ages given with a name or in the first person,
dates of birth and student IDs. No model, no network: everything here runs offline in microseconds.

Example:
    >>> found = find_pii("I'm Emma Stone, 11 years old, email emma@example.com")
    >>> redact("I'm Emma Stone, 11 years old, email emma@example.com", found)
    "I'm [NAME], [AGE], email [EMAIL]"
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from edusdk._resources import data_dir


@dataclass(frozen=True)
class PiiSpan:
    """One piece of personal data: its kind (EMAIL, PHONE, …), where it is, and the text as written."""

    kind: str
    start: int
    end: int
    text: str


_WORD = r"[A-Z][a-zà-ÿ'’-]+"
_NAME = rf"{_WORD}(?:\s+{_WORD})?"
_STREET = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent"
    r"|Gardens|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Strasse|Straße|Rue|Calle|Via"
)
_STREET_FIRST = (
    r"Rue|Avenue|Boulevard|Bd|Chemin|Impasse|Place|Via|Viale|Piazza|Corso|Vicolo|Calle|Carrer|Avenida|Av\.|Paseo"
    r"|Plaza|Rua|Travessa|Largo|Ulica|ul\."
)
_PARTICLES = r"de|del|de la|des|du|da|di|do|dos|das|della|dei|degli|d'|l'|la|le|los|las"
# (kind, pattern, priority): on overlapping matches the higher priority, then the longer, wins.
_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), 9),
    ("URL", re.compile(r"https?://\S+"), 8),
    ("SSN", re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}[- ](?!00)\d{2}[- ](?!0000)\d{4}(?!\d)"), 8),
    ("CARD", re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)"), 7),
    (
        "IP_ADDRESS",
        re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])"),
        7,
    ),
    (
        "PHONE",
        re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,4}(?!\d)"),
        5,
    ),
    (
        "ADDRESS",
        re.compile(
            rf"\b\d{{1,5}}[A-Za-z]?\s+(?:{_WORD}\s+){{1,3}}(?:{_STREET})\b\.?(?:,?\s+(?:Apt|Unit|Flat)\.?\s*\w+)?"
        ),
        6,
    ),
    ("POSTCODE", re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b"), 6),
    (
        "SCHOOL",
        re.compile(
            rf"\b(?:{_WORD}\s+){{1,4}}(?:Elementary|Primary|Middle|High|Secondary|Junior|Grammar|Academy|College|"
            r"Preparatory|Prep|Montessori|School|Schule|École|Escuela)(?:\s+School)?\b"
        ),
        6,
    ),
    (
        "DATE_OF_BIRTH",
        re.compile(r"(?i)\b(?:born\s+on|born|date\s+of\s+birth|DOB|birthday\s+is)[:\s]+[\w ,/.-]{4,20}\d"),
        6,
    ),
    (
        "STUDENT_ID",
        re.compile(r"(?i)\b(?:student|pupil|school|learner)\s*(?:id|number|no\.?|#)[:\s#]*[A-Z0-9-]{4,}"),
        7,
    ),
    (  # "my ID is 20231457", "library card number: 0042-7781", "ID# AB1234" (at least 4 digits)
        "STUDENT_ID",
        re.compile(
            r"(?i)\b(?:id|identification|membership|member|library\s+card)\s*(?:number|no\.?|#)?\s*(?:is|:|#)?\s*"
            r"(?=[A-Z-]*\d(?:[A-Z-]*\d){3})[A-Z0-9][A-Z0-9-]{3,}\b"
        ),
        6,
    ),
    (  # street type before the name, number before or after: "7 Rue de la Paix", "Calle Mayor 12", "Via Roma 15"
        "ADDRESS",
        re.compile(
            rf"(?:\b\d{{1,5}}[A-Za-z]?,?\s+)?\b(?:{_STREET_FIRST})\s+(?:(?i:{_PARTICLES})\s+)*{_WORD}"
            rf"(?:\s+{_WORD})?(?:,?\s+\d{{1,5}}[A-Za-z]?\b)?"
        ),
        6,
    ),
]
_FIRST_PERSON_AGE = re.compile(
    r"(?i)\b(?:I'?m|I\s+am|I\s+turned|I'll\s+be)\s+(\d{1,2})(?:\s*(?:years?\s+old|yrs?\s+old|y/?o))?\b"
)
_AGE = re.compile(r"(?i)\b\d{1,2}\s*(?:-|\s)?(?:years?|yrs?)(?:-|\s)?old\b|\baged?\s+\d{1,2}\b")
_NAME_CONTEXT = re.compile(
    rf"(?:(?i:my\s+name\s+is|my\s+name's|name:|call\s+me|I'?m|I\s+am|this\s+is|named|called)"
    rf"|(?i:my|our)\s+(?i:friend|best\s+friend|brother|sister|cousin|teacher|mom|mum|dad|son|daughter|classmate)"
    rf"(?:'s\s+name\s+is)?)\s+({_NAME})"
)
_NOT_NAMES = frozenset({  # capitalised words that follow "I'm" or "my friend" but are not names
    "I", "The", "A", "An", "In", "On", "At", "To", "From", "Not", "Very", "So", "Just", "Really", "Happy",
    "Sad", "Sorry", "Going", "Here", "Back", "Ready", "Sure", "Fine", "Good", "Tired", "Hungry", "Learning",
    "Trying", "Looking", "Studying", "Writing", "Doing", "Years", "Grade", "Year", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mr", "Mrs", "Ms", "Dr", "Professor",
})  # fmt: skip


def luhn_valid(number: str) -> bool:
    """The Luhn checksum of a card number (spaces and hyphens ignored).

    Example:
        >>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
        (True, False)
    """
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) >= 12 and total % 10 == 0


@functools.lru_cache(maxsize=4)
def first_names(directory: Path | None = None) -> frozenset[str]:
    """Common given names (`moderation/pii/first_names.txt`, one per line) used to spot `Firstname Surname`."""
    root = directory if directory is not None else data_dir("moderation")
    path = root / "pii" / "first_names.txt"
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(n.strip() for n in lines if n.strip() and not n.startswith("#"))


@functools.lru_cache(maxsize=4)
def known_figures(directory: Path | None = None) -> frozenset[str]:
    """Historical people lessons name on purpose (`moderation/pii/known_figures.txt`): not personal data."""
    root = directory if directory is not None else data_dir("moderation")
    path = root / "pii" / "known_figures.txt"
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(" ".join(n.split()).casefold() for n in lines if n.strip() and not n.startswith("#"))


def _valid(kind: str, text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    if kind == "CARD":
        return luhn_valid(text)
    if kind == "ADDRESS":
        return digits > 0  # a street name alone ("Place Value", "Via Appia") is not an address
    if kind == "PHONE":
        # 9+ digits, and not a plain year range or a big number written without separators in a sentence
        return 9 <= digits <= 15 and not re.fullmatch(r"\d{4}[-–]\d{4}", text) and not re.fullmatch(r"\d{9,}", text)
    return True


# What authored lesson content (outline, script, prompts) is checked for: contact data and identifiers.
# Names and ages are looked for only in student-written text: lessons name historical and fictional people.
CONTACT_KINDS = frozenset(
    {"EMAIL", "URL", "SSN", "CARD", "IP_ADDRESS", "PHONE", "ADDRESS", "POSTCODE", "DATE_OF_BIRTH", "STUDENT_ID"}
)


def find_pii(text: str, *, directory: Path | None = None, kinds: frozenset[str] | None = None) -> list[PiiSpan]:
    """Every piece of personal data in `text` (of `kinds`, default all), in order, non-overlapping.

    Example:
        >>> [s.kind for s in find_pii("Call 555-123-4567 or write to 12 Oak Street")]
        ['PHONE', 'ADDRESS']
    """
    candidates: list[tuple[int, int, int, str]] = []  # (start, end, priority, kind)
    for kind, pattern, priority in _PATTERNS:
        for m in pattern.finditer(text):
            if _valid(kind, m.group()):
                candidates.append((m.start(), m.end(), priority, kind))
    names: list[tuple[int, int]] = []
    for m in _NAME_CONTEXT.finditer(text):
        words = m.group(1).split()
        if words[0] in _NOT_NAMES:
            continue
        end = m.start(1) + len(words[0]) if len(words) == 2 and words[1] in _NOT_NAMES else m.end(1)
        names.append((m.start(1), end))
    known, figures = first_names(directory), known_figures(directory)
    for m in re.finditer(rf"\b({_WORD})\s+({_WORD})\b", text):
        if f"{m.group(1)} {m.group(2)}".casefold() in figures:
            continue
        if m.group(1) in known and m.group(2) not in _NOT_NAMES and m.group(2) not in known:
            names.append((m.start(), m.end()))
    candidates += [(s, e, 4, "NAME") for s, e in names]
    first_person_age = [(m.start(), m.end()) for m in _FIRST_PERSON_AGE.finditer(text) if m.group(1)]
    if names or first_person_age:
        candidates += [(m.start(), m.end(), 3, "AGE") for m in _AGE.finditer(text)]
        candidates += [(m.start(1), m.end(), 3, "AGE") for m in _FIRST_PERSON_AGE.finditer(text)]
    chosen: list[tuple[int, int, int, str]] = []
    for cand in sorted(candidates, key=lambda c: (-c[2], -(c[1] - c[0]), c[0])):
        if all(cand[1] <= c[0] or cand[0] >= c[1] for c in chosen):
            chosen.append(cand)
    return [PiiSpan(kind, s, e, text[s:e]) for s, e, _p, kind in sorted(chosen) if kinds is None or kind in kinds]


def redact(text: str, spans: list[PiiSpan]) -> str:
    """`text` with each span replaced by its kind in brackets (`[EMAIL]`, `[NAME]` …)."""
    out, last = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out += [text[last : span.start], f"[{span.kind}]"]
        last = span.end
    return "".join([*out, text[last:]])
