"""The moderation audit log and the protected-reference registry, in the analytics database.

Two tables of their own (created on first use, beside the analytics tables, on the same engine):
- `moderation_decision`: who/what/when/decision/policy version for every render, check and approval;
- `protected_reference`: perceptual hashes of operator-registered images (logos, characters, licensed footage).

A lesson whose latest render decision is `review` is publishable only after an `approve` entry.

Example:
    >>> log = AuditLog(client.analytics.engine)
    >>> log.record(report, subject="les_1234", actor="render")
    >>> log.approve("les_1234", reviewer="ana@school.org")
    >>> log.publishable("les_1234")
    True
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, Text
from sqlmodel import Field, Session, SQLModel, col, select

from edusdk._db import create_tables
from edusdk._errors import BadInputError
from edusdk.models.moderation import ModerationReport


class ModerationDecisionRecord(SQLModel, table=True):
    """One audit entry: a decision on a lesson or a text, or a reviewer's approval."""

    __tablename__ = "moderation_decision"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(index=True, max_length=128, description="lesson id, or 'text' for free text")
    kind: str = Field(max_length=16, description="render | frames | check | approve")
    actor: str = Field(max_length=200, description="who or what decided: 'render', a reviewer's name")
    decision: str = Field(max_length=16)
    policy: str = Field(max_length=64)
    policy_version: str = Field(max_length=32)
    findings: str = Field(default="[]", sa_type=Text, description="the findings as JSON")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ProtectedReferenceRecord(SQLModel, table=True):
    """A registered protected image: its label and two perceptual hashes (hex)."""

    __tablename__ = "protected_reference"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(max_length=200)
    source: str = Field(default="", max_length=500)
    phash: str = Field(max_length=64)
    dhash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


_TABLES = [ModerationDecisionRecord.__table__, ProtectedReferenceRecord.__table__]  # type: ignore[attr-defined]


class AuditLog:
    """Moderation decisions and protected references on a SQLAlchemy engine (the analytics store's)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ready = False
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if not self._ready:
            with self._lock:
                create_tables(self._engine, _TABLES)
                self._ready = True
        return self._engine

    def record(self, report: ModerationReport, *, subject: str, actor: str, kind: str = "render") -> int:
        """Store `report`'s decision; returns the entry id."""
        entry = ModerationDecisionRecord(
            subject=subject, kind=kind, actor=actor, decision=report.decision, policy=report.policy,
            policy_version=report.policy_version,
            findings=json.dumps([f.model_dump(mode="json") for f in report.findings], ensure_ascii=False),
        )  # fmt: skip
        with Session(self.engine) as session:
            session.add(entry)
            session.commit()
            assert entry.id is not None
            return entry.id

    def history(self, subject: str) -> list[ModerationDecisionRecord]:
        """Every entry about `subject`, oldest first."""
        with Session(self.engine) as session:
            query = select(ModerationDecisionRecord).where(ModerationDecisionRecord.subject == subject)
            return list(session.exec(query.order_by(col(ModerationDecisionRecord.id))).all())

    def approve(self, subject: str, *, reviewer: str, note: str = "") -> ModerationDecisionRecord:
        """Record a reviewer's approval of a lesson held for `review`; a `block` cannot be approved."""
        if not reviewer.strip():
            raise BadInputError("reviewer: must name who approves")
        decisions = [e for e in self.history(subject) if e.kind != "approve"]
        if not decisions:
            raise BadInputError(f"lesson {subject!r}: no moderation decision recorded; render it first")
        latest = decisions[-1]
        if latest.decision == "block":
            raise BadInputError(f"lesson {subject!r} was blocked by policy {latest.policy!r}; it cannot be approved")
        entry = ModerationDecisionRecord(
            subject=subject, kind="approve", actor=reviewer.strip(), decision="allow", policy=latest.policy,
            policy_version=latest.policy_version, findings=json.dumps([{"note": note}] if note else []),
        )  # fmt: skip
        with Session(self.engine) as session:
            session.add(entry)
            session.commit()
            session.refresh(entry)
            return entry

    def publishable(self, subject: str) -> bool:
        """True when the latest decision is `allow`, or a `review` followed by an approval."""
        entries = self.history(subject)
        last_decision = next((e for e in reversed(entries) if e.kind != "approve"), None)
        if last_decision is None or last_decision.decision == "block":
            return False
        if last_decision.decision == "allow":
            return True
        return any(e.kind == "approve" and (e.id or 0) > (last_decision.id or 0) for e in entries)

    def add_reference(self, *, label: str, phash: str, dhash: str, source: str = "") -> ProtectedReferenceRecord:
        """Register a protected reference's hashes."""
        if not label.strip():
            raise BadInputError("label: must not be empty")
        entry = ProtectedReferenceRecord(label=label.strip(), phash=phash, dhash=dhash, source=source)
        with Session(self.engine) as session:
            session.add(entry)
            session.commit()
            session.refresh(entry)
            return entry

    def references(self) -> list[ProtectedReferenceRecord]:
        """Every registered reference."""
        with Session(self.engine) as session:
            return list(session.exec(select(ProtectedReferenceRecord).order_by(col(ProtectedReferenceRecord.id))).all())
