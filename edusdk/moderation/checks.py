"""All text checks together: the blocklist, the semantic classifier and the PII detector under one policy,
adding up to one `ModerationReport` (the strictest action over every finding).

Example:
    >>> report = moderate_text("My name is Emma Stone, email emma@example.com", policy_for_audience("grade 5"))
    >>> report.decision, report.redacted_text
    ('review', 'My name is [NAME], email [EMAIL]')
"""

from __future__ import annotations

import re
import unicodedata

from edusdk._errors import BadInputError
from edusdk.models.moderation import Finding, ModerationReport
from edusdk.models.script import Script
from edusdk.moderation import classifier, semantic
from edusdk.moderation.normalise import gloss, harm_reading
from edusdk.moderation.pii import CONTACT_KINDS, PiiSpan, find_pii, redact
from edusdk.moderation.policy import Policy
from edusdk.moderation.remote import RemoteModeration
from edusdk.moderation.rules import check_rules
from edusdk.moderation.text import check_text, script_texts

# Words in a free-form audience description → the policy pack that fits it (first match wins).
_AUDIENCES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"(?i)\b(corporate|employees?|workplace|staff|professional|company)\b"), "corporate"),
    (
        re.compile(r"(?i)\b(universit\w*|college|undergrad\w*|graduate|postgrad\w*|adults?|higher[ _-]?ed\w*)\b"),
        "higher_ed",
    ),
    (
        re.compile(
            r"(?i)\b(k-?12|grade|year|kindergarten|school|elementary|primary|middle|secondary|child\w*|"
            r"kids?|teens?|students?|pupils?)\b"
        ),
        "k12",
    ),
]


def policy_for_audience(audience: str | None, default: str | Policy = "k12") -> Policy:
    """The policy pack for an audience: a pack name ("higher_ed") or words ("grade 5", "university", "staff").

    Example:
        >>> policy_for_audience("grade 5").name, policy_for_audience("first-year university").name
        ('k12', 'higher_ed')
    """
    if audience is None or not audience.strip():
        return default if isinstance(default, Policy) else Policy.load(default)
    name = audience.strip()
    if name in Policy.available():
        return Policy.load(name)
    for pattern, pack in _AUDIENCES:
        if pattern.search(name):
            return Policy.load(pack)
    raise BadInputError(
        f"audience {audience!r}: cannot tell which policy pack fits it",
        hint=f"name a pack ({', '.join(Policy.available())}) or say e.g. 'grade 5', 'university', 'employees'",
    )


def mask(text: str) -> str:
    """`text` with all but its first character hidden, so findings and audit logs never hold the data itself.

    Example:
        >>> mask("emma@example.com")
        'e***************'
    """
    return text[:1] + "*" * (len(text) - 1)


def pii_findings(spans: list[PiiSpan], policy: Policy, *, where: str) -> list[Finding]:
    """One `pii` finding per detected span, the span masked (nothing when the policy allows `pii`)."""
    if policy.action_for("pii") == "allow":
        return []
    return [
        Finding(
            check="pii",
            category="pii",
            action=policy.action_for("pii"),
            where=where,
            span=mask(s.text),
            rule=s.kind,
            suggestion=f"[{s.kind}]",
        )
        for s in spans
    ]


def _use_semantic(policy: Policy, semantic_on: bool | None) -> bool:
    return policy.semantic if semantic_on is None else semantic_on


def _excused(finding: Finding, text: str, teaching: list[str], contextual: frozenset[str]) -> bool:
    """Whether a blocklisted *mention* is part of a lesson: its category is contextual (`violence`,
    `age_inappropriate`, `self-harm` — never one the policy blocks), and every sentence of `text` holding the term
    reads as teaching ("the assassination that shocked America", "the dangers of vaping")."""
    if finding.category not in contextual or finding.action == "block" or not teaching:
        return False
    needle = finding.span.casefold()
    holding = [s for s in semantic.sentences(text) if needle in s.casefold()]
    return bool(holding) and all(s in teaching for s in holding)


def _fold_accents(text: str) -> str:
    """`text` without combining accents ("Astérix" → "Asterix"), for blocklist terms written without them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _listed(text: str, policy: Policy, where: str) -> list[Finding]:
    """Blocklist findings in `text`, and in `text` with its accents folded when that differs (one per entry)."""
    found = check_text(text, policy, where=where)
    folded = _fold_accents(text)
    if folded != text:
        seen = {(f.category, f.rule) for f in found}
        found += [f for f in check_text(folded, policy, where=where) if (f.category, f.rule) not in seen]
    return found


def _rules_with_glosses(text: str, policy: Policy, where: str) -> list[Finding]:
    """Structural-rule findings in `text` and (round 8) in the English gloss of each of its sentences in another
    language (`normalise.gloss`): the rules' English patterns then read "wie kann ich Geldscheine fälschen" as "how
    can I counterfeit banknotes". One finding per (category, cap), the text as written first."""
    found = check_rules(text, policy, where=where)
    seen = {(f.category, f.action) for f in found}
    for sentence in semantic.sentences(text):
        english = gloss(sentence)
        if english is None:
            continue
        for finding in check_rules(english, policy, where=where):
            if (finding.category, finding.action) not in seen:
                seen.add((finding.category, finding.action))
                found.append(finding)
    return found


def moderate_texts(
    texts: list[tuple[str, str]],
    policy: Policy,
    *,
    use_semantic: bool | None = None,
    pii_kinds: frozenset[str] | None = None,
    remote: RemoteModeration | None = None,
    learned: bool = True,
) -> list[ModerationReport]:
    """One report per `(where, text)`: blocklist + structural rules (`rules.check_rules`: demeaning claims about a
    group, targeted insults, requests to harm) + semantic (one batch for all texts) + PII with redaction, plus an
    optional remote `/v1/moderations` provider (sent the redacted texts).

    A blocklisted mention in a contextual category (`violence`, `age_inappropriate`, `self-harm`; never one the
    policy blocks) is dropped when the semantic check reads its sentence as teaching about the topic with no
    request in it: "Macbeth's guilt after murdering King Duncan" passes, "how do I murder him" does not.

    `pii_kinds` limits which personal data is looked for (default: all, as for student-written text). `learned`:
    run the learned classifier (`classifier`, trained on requests and student text); False leaves the exemplar layer
    unbacked, as for authored scripts (`moderate_script`).
    """
    # Harm checks read the text with obfuscation undone ("s3x", "k i l l"), text-speak and masked words written out
    # ("ur", "rn", "sl*t": `normalise.textspeak`, round 10) and polysemous harm words in a benign sense written
    # neutrally ("kill a process" → "stop a process": `normalise.benign_senses`); PII reads it as written.
    plain = [(where, harm_reading(text)) for where, text in texts]
    blocklisted = [_listed(text, policy, where) for where, text in plain]
    if _use_semantic(policy, use_semantic):
        contextual = semantic.exemplars().contextual
        mentions = [any(f.category in contextual and f.action != "block" for f in found) for found in blocklisted]
        # The learned classifier (`classifier`: MiniLM + e5 heads fitted on labelled prompts) reports on its own; a
        # nearest-exemplar finding (`semantic`) counts only where the classifier does not read its sentence as plainly
        # benign (`classifier.BACKING`), so the exemplar layer runs only on the texts where one could (or where a
        # blocklisted mention needs its teaching context). A category it already names is not reported twice.
        verdicts = classifier.check_texts(plain, policy) if learned else classifier.Verdicts.empty(len(plain))
        open_ = [m or not s for m, s in zip(mentions, verdicts.settled, strict=True)]
        analysed = iter(
            semantic.analyse_texts(
                [t for t, o in zip(plain, open_, strict=True) if o],
                policy,
                context_for=[m for m, o in zip(mentions, open_, strict=True) if o],
            )
        )
        analyses = [next(analysed) if o else semantic.Analysis([], []) for o in open_]
        teaching = [a.teaching for a in analyses]
        sem = []
        for analysis, learned_found in zip(analyses, verdicts.findings, strict=True):
            kept = [f for f in analysis.findings if verdicts.backs(f)]
            named = {f.category for f in kept}
            sem.append(kept + [f for f in learned_found if f.category not in named])
    else:
        sem, teaching, contextual = [[] for _ in texts], [[] for _ in texts], frozenset()
    if remote is not None:
        sem = [a + b for a, b in zip(sem, remote.check_texts(texts, policy), strict=True)]
    reports = []
    for (where, text), (_, clear), found, semantic_found, lesson in zip(
        texts, plain, blocklisted, sem, teaching, strict=True
    ):
        spans = find_pii(text, kinds=pii_kinds)
        listed = [f for f in found if not _excused(f, clear, lesson, contextual)]
        structural = _rules_with_glosses(clear, policy, where)
        findings = [*listed, *structural, *semantic_found, *pii_findings(spans, policy, where=where)]
        report = ModerationReport.from_findings(findings, policy=policy.name, policy_version=policy.version)
        report.redacted_text = redact(text, spans)
        reports.append(report)
    return reports


def moderate_text(
    text: str,
    policy: Policy,
    *,
    where: str = "text",
    use_semantic: bool | None = None,
    remote: RemoteModeration | None = None,
) -> ModerationReport:
    """Check one text (a prompt, narration, student input); `redacted_text` has its personal data replaced.

    Example:
        >>> moderate_text("how to make a bomb at home", Policy.load("k12")).decision
        'block'
    """
    return moderate_texts([(where, text)], policy, use_semantic=use_semantic, remote=remote)[0]


def moderate_script(
    script: Script, policy: Policy, *, use_semantic: bool | None = None, remote: RemoteModeration | None = None
) -> ModerationReport:
    """Check every text of a script (title, bible, prompts, narration, on-screen text) in one batch.

    Example:
        >>> moderate_script(script, Policy.load("k12")).decision
        'allow'
    """
    # Authored lessons name historical and fictional people on purpose: only contact data and IDs count here.
    # The learned classifier is trained on requests and student text; shot descriptions, narration and on-screen text
    # are another language ("Wide shot of a medieval scribe copying a manuscript" read as graphic violence, a recurring
    # cast description as a protected character: 17 of the 181 units of the example scripts), so scripts are judged
    # by the exemplar layer, blocklists, rules and PII, as before round 11.
    reports = moderate_texts(
        script_texts(script), policy, use_semantic=use_semantic, pii_kinds=CONTACT_KINDS, remote=remote, learned=False
    )
    findings = [f for r in reports for f in r.findings]
    return ModerationReport.from_findings(findings, policy=policy.name, policy_version=policy.version)
