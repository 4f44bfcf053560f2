"""Moderation: policy packs (k12, higher_ed, …) and the checks that apply them to text and scripts.

Example:
    >>> from edusdk.moderation import Policy, check_script
    >>> report = check_script(script, Policy.load("k12"))
    >>> report.decision
    'allow'
"""

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
    "script_texts",
]
