"""`python -m starter account …` (the user center) and `python -m starter permission …`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from config import Settings
from domain import texts
from domain.contracts.views import AccountView
from domain.permissions import check_change
from domain.roles import SCOPE_TEXT_ZH
from edge.accounts import account_view
from starter.permission_client import ChangeRefused, PermissionClient
from starter.shell import console, run, signer
from store.db import make_engine, make_sessions
from store.permission_checks import PermissionChecks

account = typer.Typer(no_args_is_help=True, help="The user center: role, permissions, grants.")
permissions = typer.Typer(
    no_args_is_help=True, help="Ask for a role or a permission, decide, revoke."
)


async def _client(settings: Settings) -> PermissionClient:
    from plumbing.connect import connect

    sessions = make_sessions(make_engine(settings.database_url))
    return PermissionClient(
        await connect(settings),
        task_queue=settings.task_queue,
        checker=PermissionChecks(sessions),
        signer=signer(settings),
        ttl=timedelta(seconds=settings.assertion_ttl_seconds),
    )


def _check(role: str | None, permission: str | None) -> None:
    """Refuse a made-up role or permission before connecting to anything."""
    refusals = check_change(role, permission)
    if refusals:
        raise ChangeRefused(refusals)


@account.command()
def show(username: str) -> None:
    """An account's role, its permissions and their scope, and its grant history (masked)."""

    async def main(settings: Settings) -> AccountView | None:
        engine = make_engine(settings.database_url)
        try:
            return await account_view(make_sessions(engine), username, data_key=settings.data_key)
        finally:
            await engine.dispose()

    view = run(main)
    if view is None:
        console.print(f"[red]account.unknown[/red] {texts.PERMISSIONS['account.unknown'].zh}")
        raise typer.Exit(2)
    console.print(
        f"[bold]{view.username}[/bold] {view.masked_name} · 身份证 {view.masked_id_number}"
        f" · 手机 {view.masked_phone} · 单位 {view.unit_code or '-'}"
        f" · 角色 {view.role_zh} ({view.role.value}) · {'active' if view.active else '已停用'}"
    )
    held = Table("permission", "scope", "权限", "from", title="permissions")
    for item in view.permissions:
        held.add_row(item.permission, item.scope.value, item.text_zh, item.source)
    console.print(held)
    grants = Table("at", "action", "role / permission", "scope", "by", "source", "reason")
    grants.title = "grant history"
    for row in view.grants:
        grants.add_row(
            row.at.isoformat(timespec="seconds"),
            row.action.value,
            (row.role.value if row.role else row.permission) or "",
            SCOPE_TEXT_ZH[row.scope] if row.scope else "",
            ", ".join(row.approved_by),
            row.source,
            row.reason,
        )
    console.print(grants)


Role = Annotated[str | None, typer.Option(help="unit_admin or system_admin")]
Permission = Annotated[str | None, typer.Option(help="a single permission, e.g. unit_data:manage")]


@permissions.command()
def request(
    username: Annotated[str, typer.Option(help="the account that asks")],
    reason: Annotated[str, typer.Option()],
    role: Role = None,
    permission: Permission = None,
    request_id: Annotated[str | None, typer.Option(help="idempotent: the same ID, once")] = None,
) -> None:
    """Ask for a role or one permission; it goes to the right approvers (workflow ID printed)."""

    async def main(settings: Settings) -> str:
        _check(role, permission)
        client = await _client(settings)
        return await client.request_change(
            username=username,
            role=role,
            permission=permission,
            reason=reason,
            request_id=request_id,
        )

    console.print(f"permission request started: [bold]{run(main)}[/bold]")


@permissions.command()
def status(workflow_id: str) -> None:
    """Where a request stands: stage, approvers, approvals so far, next reminder."""

    async def main(settings: Settings) -> str:
        return (await (await _client(settings)).status(workflow_id)).model_dump_json(indent=2)

    console.print_json(run(main))


def _decide(workflow_id: str, approver: str, approve: bool, comment: str) -> None:
    async def main(settings: Settings) -> str:
        client = await _client(settings)
        result = await client.decide(
            workflow_id, approver_id=approver, approve=approve, comment=comment
        )
        return f"{result.code}: {result.message_zh}"

    console.print(run(main))


Approver = Annotated[str, typer.Option("--approver", help="your username")]


@permissions.command()
def approve(workflow_id: str, approver: Approver, comment: str = "") -> None:
    """Approve (the `decide` Update: answers at once whether it counted)."""
    _decide(workflow_id, approver, True, comment)


@permissions.command()
def reject(
    workflow_id: str, approver: Approver, comment: Annotated[str, typer.Option()] = ""
) -> None:
    """Reject; the holder is told, with the comment."""
    _decide(workflow_id, approver, False, comment)


@permissions.command()
def revoke(
    username: Annotated[str, typer.Option(help="whose role or permission")],
    by: Annotated[str, typer.Option(help="the admin who revokes (you)")],
    reason: Annotated[str, typer.Option()],
    role: Role = None,
    permission: Permission = None,
    revocation_id: Annotated[str | None, typer.Option(help="idempotent: the same ID, once")] = None,
) -> None:
    """Take a role or a single permission back; audited, and the holder is told."""

    async def main(settings: Settings) -> str:
        _check(role, permission)
        client = await _client(settings)
        result = await client.revoke(
            username=username,
            role=role,
            permission=permission,
            by=by,
            reason=reason,
            revocation_id=revocation_id,
        )
        assert result.account is not None
        return f"revoked: {username} is now {result.account.role.value}"

    console.print(run(main))
