"""`python -m starter review …`: the unit admin's and system admin's side of the process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from config import Settings
from domain import texts
from domain.contracts.registration import RejectionReason
from domain.keys import applicant_key_of
from domain.review_rule import ReviewTarget, review_refusal
from edge.inbox import InboxItem, reviewer_inbox
from starter.client import RegistrationClient
from starter.shell import connect_client, console, run
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.models import Account

review = typer.Typer(no_args_is_help=True, help="Review registrations (unit and system admins).")
Reviewer = Annotated[str, typer.Option("--reviewer", help="your username")]


async def _reviewer(settings: Settings, username: str) -> Account:
    engine = make_engine(settings.database_url)
    async with make_sessions(engine)() as session:
        account = await session.get(Account, username)
    await engine.dispose()
    if account is None or not account.active:
        raise typer.BadParameter(f"{username} is not an active account", param_hint="--reviewer")
    return account


@review.command()
def inbox(reviewer: Reviewer) -> None:
    """Registrations you may decide, the oldest deadline first (applicants masked)."""

    async def main(settings: Settings) -> list[InboxItem]:
        client = await connect_client(settings)
        return await reviewer_inbox(client.temporal, await _reviewer(settings, reviewer))

    items = run(main)
    now = datetime.now(UTC)
    table = Table("registration", "applicant", "round", "waiting", "escalation", "next reminder")
    for item in items:
        waiting = now - item.started_at
        table.add_row(
            item.workflow_id,
            item.summary,
            str(item.round),
            f"{waiting.days}d {waiting.seconds // 3600}h",
            str(item.escalation_level),
            item.due_at.isoformat(timespec="minutes") if item.due_at else "-",
        )
    console.print(table if items else "inbox empty")


@review.command()
def show(workflow_id: str, reviewer: Reviewer) -> None:
    """The full application, with photo paths and what changed since the previous round."""

    async def main(settings: Settings) -> None:
        account = await _reviewer(settings, reviewer)
        client = await connect_client(settings)
        status = await client.status(workflow_id)
        target = ReviewTarget(
            status.unit_code, status.requested_role, applicant_key_of(workflow_id)
        )
        if refused := review_refusal(account, target):
            console.print(f"[red]{refused}[/red] {texts.CLI_MAY_NOT_VIEW}")
            raise typer.Exit(2)
        application = await client.application(workflow_id)
        store = LocalDocumentStore(settings.document_dir)
        table = Table("field", "value", "changed", title=f"{workflow_id} · round {status.round}")
        for field, value in application.model_dump(exclude={"changed_fields", "round"}).items():
            if field.startswith("id_card_"):
                value = f"{value}\n{store.path(value)}"
            changed = "*" if field in application.changed_fields else ""
            table.add_row(field, str(value), changed)
        console.print(table)

    run(main)


def _decide(
    workflow_id: str,
    reviewer: str,
    *,
    approve: bool,
    reason: RejectionReason | None = None,
    comment: str = "",
    fields: list[str] | None = None,
) -> None:
    async def main(settings: Settings) -> str:
        client: RegistrationClient = await connect_client(settings)
        result = await client.decide(
            workflow_id,
            reviewer_id=reviewer,
            approve=approve,
            reason=reason,
            comment=comment,
            fields=fields,
        )
        return f"{result.code}: {result.message_zh}"

    console.print(run(main))


@review.command()
def approve(workflow_id: str, reviewer: Reviewer) -> None:
    """Approve (the `decide` Update: a decision that does not count is answered at once)."""
    _decide(workflow_id, reviewer, approve=True)


@review.command()
def reject(
    workflow_id: str,
    reviewer: Reviewer,
    reason: Annotated[RejectionReason, typer.Option()],
    fields: Annotated[list[str] | None, typer.Option("--field", help="a field at fault")] = None,
    comment: Annotated[str, typer.Option()] = "",
) -> None:
    """Reject with a reason; the applicant corrects and resubmits (unless the reason is final)."""
    _decide(
        workflow_id, reviewer, approve=False, reason=reason, fields=fields or [], comment=comment
    )
