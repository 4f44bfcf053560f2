"""`edusdk moderation …` commands (protected references, approvals) and the video branch of `edusdk moderate`.

Exit codes: 0 success · 1 refused by policy, tampered or unlabelled · 2 bad input.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from edusdk._cli_output import Output, json_option, print_findings
from edusdk._client import EduClient
from edusdk.models.moderation import ModerationReport
from edusdk.moderation.frames import check_video

# Provenance states that are fine to publish: signed and intact (trusted or not), or labelled AI-generated.
ACCEPTABLE_PROVENANCE = ("valid", "untrusted", "unsigned")


@click.group()
def moderation() -> None:
    """Moderation data: protected reference images and review approvals (EDUSDK_DB).

    \b
    Example:
      edusdk moderation references add logo.png --label "Brand X"
    """


@moderation.group()
def references() -> None:
    """Protected references: generated frames that look like one are flagged (copyright).

    \b
    Example:
      edusdk moderation references list --json
    """


@references.command("add")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--label", required=True, help="What the image is, e.g. 'Brand X logo'.")
@json_option
@click.pass_context
def references_add(ctx: click.Context, image: str, label: str, as_json: bool) -> None:
    """Register a protected image (its pHash and dHash go to the database).

    \b
    Example:
      edusdk moderation references add logo.png --label "Brand X"
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    with EduClient() as client:
        ref = client.moderation.references.add(image, label=label)
    data = ref.model_dump(mode="json")
    out.result(data, lambda: out.console.print(f"[green]✓[/] reference {ref.id}: {ref.label} (pHash {ref.phash})"))


@references.command("list")
@json_option
@click.pass_context
def references_list(ctx: click.Context, as_json: bool) -> None:
    """List the registered protected references.

    \b
    Example:
      edusdk moderation references list
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    with EduClient() as client:
        refs = client.moderation.references.list()

    def human() -> None:
        for ref in refs:
            out.console.print(f"{ref.id}\t{ref.label}\t{ref.phash}\t{ref.source}")

    out.result([r.model_dump(mode="json") for r in refs], human)


@moderation.command("approve")
@click.argument("lesson_id")
@click.option("--reviewer", required=True, help="Who approves (recorded in the audit log).")
@click.option("--note", default="", help="Why, for the audit log.")
@json_option
@click.pass_context
def approve(ctx: click.Context, lesson_id: str, reviewer: str, note: str, as_json: bool) -> None:
    """Approve a lesson held for review, so it becomes publishable.

    \b
    Example:
      edusdk moderation approve les_0123456789abcdef --reviewer ana@school.org
    """
    out = ctx.ensure_object(Output)
    out.as_json = as_json
    with EduClient() as client:
        entry = client.moderation.approve(lesson_id, reviewer=reviewer, note=note)
    out.result(
        entry.model_dump(mode="json"), lambda: out.console.print(f"[green]✓[/] {lesson_id} approved by {reviewer}")
    )


def moderate_video(out: Output, video: str, *, policy: str) -> NoReturn:
    """`edusdk moderate lesson.mp4`: verify provenance (C2PA or the AI label) and check sampled frames."""
    with EduClient(policy=policy) as client:
        provenance = client.moderation.verify_video(video)
        pol = client.moderation.policy
        findings = check_video(
            video, pol, references=client.moderation.references.list(), rate=max(pol.frame_rate, 0.5)
        )
    report = ModerationReport.from_findings(findings, policy=pol.name, policy_version=pol.version)
    ok = provenance["status"] in ACCEPTABLE_PROVENANCE and report.decision == "allow"

    def human() -> None:
        status = provenance["status"]
        colour = "green" if status in ACCEPTABLE_PROVENANCE else "red"
        out.console.print(f"provenance: [{colour}]{status}[/] " + (
            f"(lesson {provenance.get('lesson_id')}, signer {provenance.get('signer')})" if provenance.get("signer")
            else "")
        )  # fmt: skip
        if status == "tampered":
            out.console.print(f"  the video changed after signing: {', '.join(provenance.get('codes', []))}")
        out.console.print(f"frames: {report.decision} (policy {report.policy} v{report.policy_version})")
        print_findings(report)

    out.result({"provenance": provenance, "moderation": report.model_dump(mode="json")}, human)
    sys.exit(0 if ok else 1)
