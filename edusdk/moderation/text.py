"""Text checks: find a policy's blocklisted terms in a text or in every text of a script.

Terms match as whole words (a term never matches inside a longer word: `sex` does not match `Essex`),
case-insensitively unless the entry says otherwise, with spaces and hyphens between words optional
(`Spider-Man` matches `spider man` and `Spiderman`). An entry's `aliases` are looked for too (and reported as the
entry's term); an entry with `context` words counts only when one of them is in the same text, so that an
ambiguous name ("Woody", "Nemo", "Garfield") flags the character, not the president or the captain.
One regex per category is compiled once per policy.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from edusdk.models.moderation import Finding, ModerationReport
from edusdk.models.script import Script
from edusdk.moderation.policy import BlocklistEntry, Category, Policy

_SEPARATOR = r"[\s\-]*"
_SEPARATORS_RE = re.compile(r"[\s\-]+")
BLOCKLIST_SCORE = 1.0
# Han, kana and Hangul: scripts written without spaces between words, whose terms need no word boundaries.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class _CategoryMatcher:
    category: Category
    pattern: re.Pattern[str]
    entries: dict[str, BlocklistEntry]  # normalized matched text → the entry it came from
    sounds: dict[str, BlocklistEntry] | None = None  # (round 10) identity categories: `sound_key` of one-word names


# (round 10) Misspelt names: "Pikachoo", "Pickachu", "Sonnic" are the character. A one-word name of at least
# `SOUND_MIN` letters also matches a word that is spelt the same way once spelling variants are folded (`sound_key`).
IDENTITY = frozenset({"copyright", "public_figure"})
SOUND_MIN = 6
_SOUND_FOLDS = (
    ("sch", "sh"), ("ch", "9"), ("ck", "k"), ("ph", "f"), ("qu", "kw"), ("c", "k"), ("q", "k"), ("x", "ks"),
    ("oo", "u"), ("y", "i"),
)  # fmt: skip
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def sound_key(word: str) -> str:
    """`word` with spelling variants folded: doubled letters, c / k / ck / q, ph / f, oo / u, y / i.

    Example:
        >>> sound_key("Pikachoo") == sound_key("Pikachu") == sound_key("pickachu")
        True
    """
    key = re.sub(r"[^a-z]", "", word.casefold())
    for old, new in _SOUND_FOLDS:
        key = key.replace(old, new)
    return re.sub(r"(.)\1+", r"\1", key)


def _normalize(text: str) -> str:
    return _SEPARATORS_RE.sub("", text).replace("’", "'").casefold()


def _atoms(term: str, *, keep_case: bool = False) -> list[str]:
    """The regex pieces of `term`, one per character, with an optional separator between words."""
    atoms: list[str] = []
    for i, word in enumerate(w for w in _SEPARATORS_RE.split(term) if w):
        if i:
            atoms.append(_SEPARATOR)
        # A straight apostrophe also matches the typographic one editors and LLMs produce.
        atoms += ["['’]" if ch in "'’" else re.escape(ch if keep_case else ch.lower()) for ch in word]
    return atoms


def _term_pattern(term: str, case_sensitive: bool = False) -> str:
    pattern = "".join(_atoms(term, keep_case=case_sensitive))
    return f"(?-i:{pattern})" if case_sensitive else pattern


@functools.lru_cache(maxsize=4096)
def _context_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    body = "|".join(_term_pattern(w) for w in words)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def _in_context(entry: BlocklistEntry, text: str) -> bool:
    """Whether an entry with `context` words has one of them in `text` (always true without context)."""
    return not entry.context or _context_pattern(entry.context).search(text) is not None


def _trie_pattern(terms: list[str]) -> str:
    """One regex for many terms, factored by common prefix, so that at each word start the engine compares
    each distinct first letter once instead of trying every term (about twice as fast as a flat alternation)."""
    trie: dict[str, Any] = {}
    for term in terms:
        node = trie
        for atom in _atoms(term):
            node = node.setdefault(atom, {})
        node[""] = {}  # a term ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [atom + emit(child) for atom, child in node.items() if atom]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy: the longer term is tried first ("crack cocaine" rather than "crack").
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


@functools.lru_cache(maxsize=256)
def _compile(surfaces: tuple[tuple[str, bool], ...]) -> re.Pattern[str]:
    """One regex for `(written form, case_sensitive)` pairs."""
    spaced = [(term, cs) for term, cs in surfaces if not _CJK_RE.search(term)]
    alternatives = [_trie_pattern([term for term, case_sensitive in spaced if not case_sensitive])]
    # Case-sensitive terms keep their written case in scoped (?-i:…) groups, outside the shared trie.
    alternatives += [_term_pattern(term, True) for term, case_sensitive in spaced if case_sensitive]
    body = "|".join(a for a in alternatives if a)
    # Lookarounds rather than \b: a term may start or end with a non-word character ("McDonald's").
    pattern = rf"(?<!\w)(?:{body})(?!\w)" if body else ""
    # (round 9) Chinese and Japanese write no spaces between words ("让皮卡丘给…"): such terms match anywhere.
    unspaced = _trie_pattern([term for term, _cs in surfaces if _CJK_RE.search(term)])
    if unspaced:
        pattern = f"{pattern}|(?:{unspaced})" if pattern else unspaced
    return re.compile(pattern or r"(?!x)x", re.IGNORECASE)


def _matchers(policy: Policy) -> list[_CategoryMatcher]:
    cached: list[_CategoryMatcher] | None = policy._matchers
    if cached is not None:
        return cached
    matchers = []
    for category, entries in policy.terms.items():
        if not entries or policy.action_for(category) == "allow":
            continue  # an allowed category is not worth a finding
        by_key: dict[str, BlocklistEntry] = {}
        surfaces: dict[tuple[str, bool], None] = {}
        for entry in entries:
            for surface in entry.surfaces:
                by_key.setdefault(_normalize(surface), entry)
                # Every written form gets its own pattern: "SpongeBob" and "Sponge Bob" normalise alike, but only
                # the second lets a space in between.
                surfaces.setdefault((surface, entry.case_sensitive), None)
        sounds: dict[str, BlocklistEntry] | None = None
        if category in IDENTITY:
            sounds = {}
            for entry in entries:
                for surface in entry.surfaces:
                    word = surface.strip()
                    if not entry.case_sensitive and not entry.context and _WORD_RE.fullmatch(word):
                        key = sound_key(word)
                        if len(key) >= SOUND_MIN:
                            sounds.setdefault(key, entry)
        matchers.append(_CategoryMatcher(category, _compile(tuple(surfaces)), by_key, sounds))
    policy._matchers = matchers
    return matchers


def _entry_matching(matcher: _CategoryMatcher, span: str) -> BlocklistEntry:
    # Only reached when casefold() and the regex's IGNORECASE disagree about a character.
    for entry in matcher.entries.values():
        if any(re.fullmatch(_term_pattern(s, entry.case_sensitive), span, re.IGNORECASE) for s in entry.surfaces):
            return entry
    raise AssertionError(f"no blocklist entry matches {span!r}")  # unreachable: the span came from these entries


def check_text(text: str, policy: Policy, *, where: str = "") -> list[Finding]:
    """Every blocklisted term of `policy` found in `text`, as findings carrying the policy's action.

    One finding per (category, entry) however often the term or its aliases occur; `span` is the text as
    written, `rule` the blocklist entry's term, `suggestion` the entry's generic rewrite (e.g. for a copyrighted
    character).
    Categories the policy allows are not reported.

    Example:
        >>> [f.category for f in check_text("Pikachu explains fractions", Policy.load("k12"))]
        ['copyright']
    """
    findings: list[Finding] = []
    if not text:
        return findings
    for matcher in _matchers(policy):
        threshold = policy.threshold_for(matcher.category)
        if threshold is not None and threshold > BLOCKLIST_SCORE:
            continue
        seen: set[str] = set()
        for match in matcher.pattern.finditer(text):
            key = _normalize(match.group())
            entry = matcher.entries.get(key) or _entry_matching(matcher, match.group())
            if entry.term in seen or not _in_context(entry, text):
                continue
            seen.add(entry.term)
            findings.append(_finding(matcher, policy, where, match.group(), entry))
        for word in _WORD_RE.findall(text) if matcher.sounds else []:
            sounded = matcher.sounds.get(sound_key(word)) if len(word) >= SOUND_MIN and matcher.sounds else None
            if sounded is not None and sounded.term not in seen:
                seen.add(sounded.term)
                findings.append(_finding(matcher, policy, where, word, sounded))
    return findings


def _finding(matcher: _CategoryMatcher, policy: Policy, where: str, span: str, entry: BlocklistEntry) -> Finding:
    return Finding(
        check="blocklist",
        category=matcher.category,
        action=policy.action_for(matcher.category),
        score=BLOCKLIST_SCORE,
        where=where,
        span=span,
        rule=entry.term,
        suggestion=entry.suggestion,
    )


def script_texts(script: Script) -> list[tuple[str, str]]:
    """`(where, text)` for every text of `script` that ends up on screen, in the audio or in a prompt.

    Negative prompts are left out on purpose: they list what the video must *not* show.
    """
    texts = [("title", script.title), ("bible", script.bible)]
    for i, shot in enumerate(script.shots):
        texts += [
            (f"shots[{i}].prompt", shot.prompt),
            (f"shots[{i}].narration", shot.narration),
            (f"shots[{i}].on_screen.title", shot.on_screen.title),
        ]
        texts += [(f"shots[{i}].on_screen.points[{j}]", point) for j, point in enumerate(shot.on_screen.points)]
    return [(where, text) for where, text in texts if text]


def check_script(script: Script, policy: Policy) -> ModerationReport:
    """Check the title, cast/style bible and every shot's prompt, narration and on-screen text.

    Example:
        >>> report = check_script(script, Policy.load("k12"))
        >>> report.decision, [(f.where, f.span) for f in report.findings]
        ('review', [('shots[0].prompt', 'Pikachu')])
    """
    findings = [finding for where, text in script_texts(script) for finding in check_text(text, policy, where=where)]
    return ModerationReport.from_findings(findings, policy=policy.name, policy_version=policy.version)
