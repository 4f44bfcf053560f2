"""Moderation results: findings and the decision they add up to."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Decision = Literal["allow", "review", "block"]
_RANK: dict[Decision, int] = {"allow": 0, "review": 1, "block": 2}


def strictest(decisions: list[Decision]) -> Decision:
    """The strictest of several decisions (`allow` when there are none)."""
    return max(decisions, key=_RANK.__getitem__, default="allow")


class Finding(BaseModel):
    """One thing a check found, and why it matters."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(description="which check: blocklist, semantic, pii, copyright, frame …")
    category: str = Field(description="e.g. violence, sexual/minors, copyright, pii, age_inappropriate")
    action: Decision
    score: float = 1.0
    where: str = Field(default="", description="what was checked: 'shots[2].prompt', 'frame at 3.2 s' …")
    span: str = Field(default="", description="the offending text, or a description of the frame")
    rule: str = Field(default="", description="the rule or reference that matched")
    suggestion: str = ""


class ModerationReport(BaseModel):
    """The decision for a piece of content: the strictest action over all findings."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision = "allow"
    policy: str
    policy_version: str
    findings: list[Finding] = Field(default_factory=list)
    checked_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    redacted_text: str | None = None

    @classmethod
    def from_findings(cls, findings: list[Finding], *, policy: str, policy_version: str) -> ModerationReport:
        return cls(
            decision=strictest([f.action for f in findings]),
            policy=policy,
            policy_version=policy_version,
            findings=findings,
        )

    def merged(self, other: ModerationReport) -> ModerationReport:
        """Both reports' findings under the strictest decision."""
        return ModerationReport(
            decision=strictest([self.decision, other.decision]),
            policy=self.policy,
            policy_version=self.policy_version,
            findings=[*self.findings, *other.findings],
            redacted_text=self.redacted_text,
        )
