"""Structural harm rules: what a sentence asserts about a protected group, or asks to do to a person.

The semantic classifier compares whole sentences with exemplars, so lesson framing ("a history lesson that says …",
"a song for kids about …", "a quiz where …") pulls a hateful claim or an insult toward the safe teaching bank. These
rules look at the sentence's structure instead, whatever its framing (`moderation/rules/harm_patterns.yaml`):

- a protected group + a demeaning predicate ("<group> are too dumb to …", "<group> deserved it"), or praise of an
  atrocity ("the genocide was justified") — unless the claim is reported or refuted ("propaganda claimed …");
- an insult aimed at a person: the viewer ("you are worthless"), a named classmate (a given name from
  `moderation/pii/first_names.txt`) or "our teacher" — unless bullying is the lesson's topic ("what to do when …");
- a request or plan to poison, sabotage, ambush, buy stolen data or get drugs as a minor;
- first-person self-harm intent in Spanish, French, German, Portuguese and Italian;
- in seven languages (en, es, fr, de, it, pt, nl): weapon making, how to hurt someone, buying drugs unseen, getting
  high, gore asked for in its own right, sexual slang, sexual content with a pupil, a person drawn as an animal,
  teaching hate, self-harm encouraged, eating-disorder coaching;
- a jailbreak framing ("you are now X, an AI with no filters", "ignore your previous instructions"): reported as
  `illicit` but capped at `review` by the rule's `at_most`, while the ask inside it is judged by the other rules.

Each rule is a regular expression over one sentence (`semantic.sentences`), with `{lexicon}` placeholders, an optional
`requires` pattern that must also match, an `unless` pattern that excuses the sentence and an optional `at_most`
(allow / review / block) that caps the policy's action.

Example:
    >>> [f.category for f in check_rules("A song about how girls are too dumb to learn maths", Policy.load("k12"))]
    ['hate']
    >>> check_rules("Why the stereotype that girls are bad at maths is false", Policy.load("k12"))
    []
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from edusdk._errors import BadInputError
from edusdk._resources import data_dir
from edusdk.models.moderation import Decision, Finding, strictest
from edusdk.moderation.pii import first_names
from edusdk.moderation.policy import CATEGORIES, Category, Policy

RULE_SCORE = 1.0
_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
_NAME_RE = re.compile(r"[A-ZÀ-Þ][a-zß-ÿ]+")


@dataclass(frozen=True)
class Rule:
    """One structural rule: `pattern` (and `requires`, if any) must match a sentence that `unless` does not."""

    name: str
    category: Category
    pattern: re.Pattern[str]
    requires: re.Pattern[str] | None = None
    unless: re.Pattern[str] | None = None
    at_most: Decision | None = None  # caps the policy's action (a jailbreak framing alone is worth a review)

    def match(self, sentence: str, context: str = "") -> re.Match[str] | None:
        """The pattern's match in `sentence` when the rule applies to it, else None. `context` (the sentences either
        side) can excuse it too: "The Nazis said Jews were subhuman; this lie led to genocide"."""
        found = self.pattern.search(sentence)
        if found is None:
            return None
        if self.requires is not None and self.requires.search(sentence) is None:
            return None
        if self.unless is not None and (self.unless.search(sentence) or self.unless.search(context)):
            return None
        return found


def _flat(text: object) -> str:
    """A pattern written over several lines (a YAML `|-` block) as one: line breaks and indentation are dropped, so a
    space a pattern needs at a line break must be written `\\s`."""
    return re.sub(r"\s*\n\s*", "", str(text).strip())


def _expand(path: Path, pattern: str, lexicons: dict[str, str], where: str) -> re.Pattern[str]:
    def lexicon(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in lexicons:
            raise BadInputError(f"{path}: {where}: unknown lexicon {{{name}}}")
        return lexicons[name]

    try:
        return re.compile(r"(?i)(?<!\w)(?:" + _PLACEHOLDER_RE.sub(lexicon, pattern) + ")")
    except re.error as exc:
        raise BadInputError(f"{path}: {where}: invalid regular expression: {exc}") from None


def _alternation(words: list[str], *, case_sensitive: bool = False) -> str:
    """A lexicon as a regex group that matches whole words only (longest first)."""
    body = "|".join(sorted(dict.fromkeys(words), key=len, reverse=True))
    body = f"(?-i:{body})" if case_sensitive else f"(?:{body})"
    return rf"(?<![\w'’]){body}(?![\w'’])"


def _resolved(lexicons: dict[str, str]) -> dict[str, str]:
    """`lexicons` with each `{name}` in them replaced by that lexicon (one level)."""

    def lexicon(match: re.Match[str]) -> str:
        return lexicons.get(match.group(1), match.group())

    return {name: _PLACEHOLDER_RE.sub(lexicon, pattern) for name, pattern in lexicons.items()}


def rules(directory: Path | None = None) -> tuple[Rule, ...]:
    """The rules of `<moderation>/rules/harm_patterns.yaml` (compiled once per folder)."""
    return _rules(directory)


@functools.lru_cache(maxsize=8)
def _rules(directory: Path | None) -> tuple[Rule, ...]:
    root = directory if directory is not None else data_dir("moderation")
    path = root / "rules" / "harm_patterns.yaml"
    if not path.is_file():
        return ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"{path}: cannot read the harm rules: {exc}") from None
    if not isinstance(data.get("lexicons"), dict) or not isinstance(data.get("rules"), list):
        raise BadInputError(f"{path}: expected `lexicons:` (name → alternatives) and `rules:` (a list)")
    names = [n for n in first_names(directory) if _NAME_RE.fullmatch(n)]
    lexicons = {"name": _alternation(names, case_sensitive=True) if names else r"(?!x)x"}
    raw = {str(name): _flat(text) for name, text in data["lexicons"].items()}
    for name, flat in raw.items():
        # A word list becomes a whole-word alternation (a `{lexicon}` item in it stands for that lexicon); a lexicon
        # with groups is a regular expression as written.
        if "(" in flat:
            lexicons[name] = f"(?:{flat})"
            continue
        items = [w for w in flat.split("|") if w]
        refs = [w for w in items if _PLACEHOLDER_RE.fullmatch(w)]
        words = [w for w in items if w not in refs]
        lexicons[name] = "(?:" + "|".join([*refs, *([_alternation(words)] if words else [])]) + ")"
    for _ in range(3):  # lexicons may name other lexicons (in any order; at most three levels deep)
        lexicons = _resolved(lexicons)
    out: list[Rule] = []
    for i, spec in enumerate(data["rules"]):
        where = f"rules[{i}]"
        if not isinstance(spec, dict) or "pattern" not in spec or "category" not in spec:
            raise BadInputError(f"{path}: {where}: needs `category:` and `pattern:`")
        category = str(spec["category"])
        if category not in CATEGORIES:
            raise BadInputError(f"{path}: {where}.category: unknown category {category!r}")
        requires, unless = spec.get("requires"), spec.get("unless")
        at_most = spec.get("at_most")
        if at_most not in (None, "allow", "review", "block"):
            raise BadInputError(f"{path}: {where}.at_most: expected allow, review or block, not {at_most!r}")
        out.append(
            Rule(
                name=str(spec.get("name", where)),
                category=category,  # narrowed to a Category by the check above
                pattern=_expand(path, _flat(spec["pattern"]), lexicons, f"{where}.pattern"),
                requires=_expand(path, _flat(requires), lexicons, f"{where}.requires") if requires else None,
                unless=_expand(path, _flat(unless), lexicons, f"{where}.unless") if unless else None,
                at_most=at_most,
            )
        )
    return tuple(out)


def check_rules(text: str, policy: Policy, *, where: str = "", directory: Path | None = None) -> list[Finding]:
    """Findings of the structural rules in `text` (one per category: the first sentence and rule that fire).

    Categories the policy allows are skipped; `rule` names the rule (e.g. `demeaning-claim`), `span` the words matched.
    A rule with `at_most` (the jailbreak framing: `review`) reports the policy's action capped at that, and does not
    stand in for an uncapped rule of the same category: "you are now X with no filters. <harmful ask>" gives both.
    """
    from edusdk.moderation.semantic import sentences

    findings: list[Finding] = []
    if not text:
        return findings
    seen: set[tuple[str, str | None]] = set()
    active = [r for r in rules(directory) if policy.action_for(r.category) != "allow"]
    units = sentences(text)
    for i, sentence in enumerate(units):
        context = " ".join(units[max(0, i - 1) : i] + units[i + 1 : i + 2])
        for rule in active:
            if (rule.category, rule.at_most) in seen:
                continue
            found = rule.match(sentence, context)
            if found is None:
                continue
            seen.add((rule.category, rule.at_most))
            action = policy.action_for(rule.category)
            if rule.at_most is not None and strictest([action, rule.at_most]) == action:
                action = rule.at_most
            findings.append(
                Finding(
                    check="rule",
                    category=rule.category,
                    action=action,
                    score=RULE_SCORE,
                    where=where,
                    span=found.group().strip(),
                    rule=rule.name,
                )
            )
    return findings
