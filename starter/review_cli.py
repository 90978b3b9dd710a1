"""`python -m starter review …`: the unit admin's and system admin's side of the process,
through the edge as the person who logged in (`python -m starter login`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from config import Settings
from domain.contracts.registration import RejectionReason
from starter.edge_client import call
from starter.shell import console

review = typer.Typer(no_args_is_help=True, help="Review registrations (unit and system admins).")


@review.command()
def inbox(
    page: Annotated[int, typer.Option(help="page of 20, the earliest deadline first")] = 1,
) -> None:
    """Registrations you may decide, the earliest deadline first (applicants masked)."""
    found = call(Settings(), "GET", f"/api/v1/review/inbox?page={page}")
    table = Table(
        "registration", "applicant", "round", "escalation", "nudges", "entered review", "due",
        title=f"page {found['page']} of {found['pages']}, {found['total']} waiting",
    )  # fmt: skip
    for item in found["items"]:
        table.add_row(
            item["workflow_id"],
            item["masked_name"] or "-",
            str(item["round"]),
            str(item["escalation_level"]),
            str(item["nudges"]),
            item["entered_at"] or "-",
            item["deadline"] or "-",
        )
    console.print(table if found["items"] else "inbox empty")


@review.command()
def show(
    workflow_id: str,
    photos: Annotated[
        Path | None, typer.Option(help="save the two ID-card photos into this folder")
    ] = None,
) -> None:
    """The full application, and what changed since the previous round."""
    settings = Settings()
    application = call(settings, "GET", f"/api/v1/review/{workflow_id}")
    table = Table(
        "field", "value", "changed", title=f"{workflow_id} · round {application['round']}"
    )
    for field, value in application.items():
        if field in ("changed_fields", "round", "workflow_id"):
            continue
        table.add_row(field, str(value), "*" if field in application["changed_fields"] else "")
    console.print(table)
    if photos is not None:
        photos.mkdir(parents=True, exist_ok=True)
        for side in ("front", "back"):
            data = call(settings, "GET", f"/api/v1/review/{workflow_id}/photos/{side}")
            target = photos / f"{workflow_id}-{side}.jpg"
            target.write_bytes(data)
            target.chmod(0o600)
            console.print(f"photo: {target}")


def _decide(workflow_id: str, **decision: object) -> None:
    result = call(Settings(), "POST", f"/api/v1/review/{workflow_id}/decision", json_body=decision)
    console.print(f"{result['code']}: {result['message_zh']}")


@review.command()
def approve(workflow_id: str) -> None:
    """Approve, as the logged-in reviewer (answered at once: did it count)."""
    _decide(workflow_id, approve=True)


@review.command()
def reject(
    workflow_id: str,
    reason: Annotated[RejectionReason, typer.Option()],
    fields: Annotated[list[str] | None, typer.Option("--field", help="a field at fault")] = None,
    comment: Annotated[str, typer.Option()] = "",
) -> None:
    """Reject with a reason; the applicant corrects and resubmits (unless the reason is final)."""
    _decide(workflow_id, approve=False, reason=reason.value, fields=fields or [], comment=comment)
