"""Moderation: policy packs (k12, higher_ed, corporate …) and the checks that apply them: blocklists and the
MiniLM semantic classifier (`checks`, `semantic`), personal data (`pii`), frames (`frames`), C2PA provenance
(`provenance`) and the audit log (`audit`).

Example:
    >>> from edusdk.moderation import Policy, moderate_script
    >>> report = moderate_script(script, Policy.load("k12"))
    >>> report.decision
    'allow'
"""

from edusdk.moderation.checks import moderate_script, moderate_text, moderate_texts, policy_for_audience
from edusdk.moderation.pii import find_pii, redact
from edusdk.moderation.policy import (
    CATEGORIES,
    Blocklist,
    BlocklistEntry,
    Category,
    CategoryRule,
    Policy,
)
from edusdk.moderation.text import check_script, check_text, script_texts

__all__ = [
    "CATEGORIES",
    "Blocklist",
    "BlocklistEntry",
    "Category",
    "CategoryRule",
    "Policy",
    "check_script",
    "check_text",
    "find_pii",
    "moderate_script",
    "moderate_text",
    "moderate_texts",
    "policy_for_audience",
    "redact",
    "script_texts",
]
