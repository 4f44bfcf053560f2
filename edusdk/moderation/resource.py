"""`client.moderation`: text and script checks under the client's policy pack, approvals and protected references.

Example:
    >>> report = client.moderation.check_text("My name is Emma Stone", audience="grade 5")
    >>> report.decision, report.redacted_text
    ('review', 'My name is [NAME]')
    >>> client.moderation.approve("les_0123456789abcdef", reviewer="ana@school.org")
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from edusdk._errors import PolicyRefusedError
from edusdk.models.engine import Clip
from edusdk.models.moderation import ModerationReport
from edusdk.models.script import Script
from edusdk.moderation.audit import AuditLog, ModerationDecisionRecord, ProtectedReferenceRecord
from edusdk.moderation.checks import moderate_script, moderate_text, policy_for_audience
from edusdk.moderation.frames import check_video
from edusdk.moderation.pii import find_pii, redact
from edusdk.moderation.policy import Policy
from edusdk.moderation.provenance import SigningConfig, sign_or_label, verify
from edusdk.moderation.remote import RemoteModeration


class ReferencesResource:
    """`client.moderation.references`: protected images whose look generated frames must not reproduce."""

    def __init__(self, audit: Callable[[], AuditLog]) -> None:
        self._audit = audit

    def add(self, image: str | Path, *, label: str) -> ProtectedReferenceRecord:
        """Register `image` (a logo, a character still) under `label`; its pHash and dHash go to the database."""
        from edusdk.moderation.frames import image_hashes

        phash, dhash = image_hashes(image)
        return self._audit().add_reference(label=label, phash=phash, dhash=dhash, source=str(image))

    def list(self) -> list[ProtectedReferenceRecord]:
        """Every registered reference."""
        return self._audit().references()


class ModerationResource:
    """`client.moderation`: checks under the client's policy pack (or the pack an audience implies)."""

    def __init__(self, policy: str | Policy, engine: Callable[[], Engine] | None = None) -> None:
        self.policy = policy if isinstance(policy, Policy) else Policy.load(policy)
        self._engine = engine
        # The operator's C2PA certificate (EDUSDK_C2PA_CERT/KEY); None → videos are labelled, not signed.
        self.signing: SigningConfig | None = SigningConfig.from_env()
        # An optional OpenAI-shaped `/v1/moderations` provider (EDUSDK_MODERATION_URL), in addition to local checks.
        self.remote: RemoteModeration | None = RemoteModeration.from_env()
        self.videos = VideoChecks(self)

    @property
    def has_database(self) -> bool:
        return self._engine is not None

    @functools.cached_property
    def audit(self) -> AuditLog:
        """The audit log in the client's analytics database."""
        if self._engine is None:
            raise RuntimeError("this moderation resource has no database; use EduClient().moderation")
        return AuditLog(self._engine())

    @functools.cached_property
    def references(self) -> ReferencesResource:
        return ReferencesResource(lambda: self.audit)

    def check_text(self, text: str, *, audience: str | None = None, where: str = "text") -> ModerationReport:
        """Check one text (a prompt, student input …): decision, findings and `redacted_text` (PII replaced).

        `audience` ("grade 5", "university", "employees" or a pack name) picks the policy pack; by default the
        client's.
        """
        return moderate_text(text, policy_for_audience(audience, self.policy), where=where, remote=self.remote)

    def redact(self, text: str, *, kinds: frozenset[str] | None = None) -> str:
        """`text` with its personal data (of `kinds`, default all) replaced: what may leave the process.

        Example:
            >>> client.moderation.redact("Emma Stone draws a leaf, emma@example.com")
            '[NAME] draws a leaf, [EMAIL]'
        """
        return redact(text, find_pii(text, kinds=kinds))

    def check_script(self, script: Script) -> ModerationReport:
        """Check every text of a script: title, prompts, narration and on-screen text."""
        return moderate_script(script, self.policy, remote=self.remote)

    def record(self, report: ModerationReport, *, subject: str, actor: str, kind: str = "render") -> int:
        """Store a decision in the audit log."""
        return self.audit.record(report, subject=subject, actor=actor, kind=kind)

    def approve(self, lesson_id: str, *, reviewer: str, note: str = "") -> ModerationDecisionRecord:
        """Approve a lesson held for review (recorded in the audit log); a blocked lesson cannot be approved."""
        return self.audit.approve(lesson_id, reviewer=reviewer, note=note)

    def verify_video(self, video: str | Path, *, trust_anchors: str | Path | None = None) -> dict[str, Any]:
        """Verify a lesson video's provenance (C2PA manifest or plain AI label); see `provenance.verify`."""
        anchors = trust_anchors or (self.signing.trust_anchors if self.signing else None)
        return verify(video, trust_anchors=anchors)

    def publishable(self, lesson_id: str) -> bool:
        """Whether the lesson may be published: allowed, or reviewed and approved."""
        return self.audit.publishable(lesson_id)


class VideoChecks:
    """Frame checks and provenance for `lessons.render` (kept here so the render pipeline stays a few calls)."""

    def __init__(self, resource: ModerationResource) -> None:
        self._resource = resource

    def check_clips(self, clips: Sequence[Clip]) -> ModerationReport:
        """Frame checks on each generated clip at the policy's `frame_rate`; raises PolicyRefusedError on block."""
        policy = self._resource.policy
        findings = []
        if policy.frame_rate > 0:
            references = self._resource.references.list() if self._resource.has_database else []
            # Storyboard clips are drawn from the outline's own text and images, not generated by a model:
            # the final-video check covers them, so they are not decoded twice.
            for clip in (c for c in clips if c.engine != "storyboard"):
                findings += check_video(clip.path, policy, references=references, rate=policy.frame_rate,
                                        where=f"clip {clip.shot_id}")  # fmt: skip
        report = ModerationReport.from_findings(findings, policy=policy.name, policy_version=policy.version)
        _refuse_if_blocked(report, "a generated clip")
        return report

    def finish(
        self, video: Path, *, lesson_id: str, title: str, extra: Path | None = None
    ) -> tuple[ModerationReport, dict[str, Any]]:
        """Frame checks on the final video, then sign it (C2PA) or label it AI-generated.

        On `block` the video (and `extra`, e.g. its captions) is deleted and PolicyRefusedError raised.
        """
        policy = self._resource.policy
        findings = []
        if policy.frame_rate > 0:
            references = self._resource.references.list() if self._resource.has_database else []
            findings = check_video(video, policy, references=references, rate=policy.frame_rate, where="final video")
        report = ModerationReport.from_findings(findings, policy=policy.name, policy_version=policy.version)
        if report.decision == "block":
            video.unlink(missing_ok=True)
            if extra is not None:
                extra.unlink(missing_ok=True)
        _refuse_if_blocked(report, "the final video")
        provenance = sign_or_label(video, lesson_id=lesson_id, config=self._resource.signing, title=title)
        return report, provenance


def _refuse_if_blocked(report: ModerationReport, what: str) -> None:
    if report.decision == "block":
        first = report.findings[0]
        raise PolicyRefusedError(
            f"policy {report.policy!r} blocked {what}: {first.category} at {first.where} ({first.span})", report
        )
