"""`python -m starter account …` (the user center) and `python -m starter permission …` (through
the edge, as the person who logged in: `python -m starter login`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from config import Settings
from domain import texts
from domain.contracts.views import AccountView
from domain.permissions import check_change
from domain.roles import SCOPE_TEXT_ZH
from edge.accounts import account_view
from starter.edge_client import call
from starter.permission_client import ChangeRefused
from starter.shell import console, notes, print_refusals, run
from store.db import make_engine, make_sessions

account = typer.Typer(no_args_is_help=True, help="The user center: role, permissions, grants.")
permissions = typer.Typer(
    no_args_is_help=True, help="Ask for a role or a permission, decide, revoke."
)


def _check(role: str | None, permission: str | None) -> None:
    """Refuse a made-up role or permission before connecting to anything."""
    refusals = check_change(role, permission)
    if refusals:
        print_refusals(ChangeRefused(refusals))
        raise typer.Exit(2)


@account.command()
def show(username: str) -> None:
    """An account's role, its permissions and their scope, and its grant history (masked)."""

    async def main(settings: Settings) -> AccountView | None:
        engine = make_engine(settings.database_url, settings.data_key)
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
    reason: Annotated[str, typer.Option()],
    role: Role = None,
    permission: Permission = None,
    request_id: Annotated[str | None, typer.Option(help="idempotent: the same ID, once")] = None,
) -> None:
    """Ask, for your own account (the login's), for a role or one permission; it goes to the
    right approvers. Its workflow ID alone goes to stdout: `REQUEST=$(… permission request …)`."""
    _check(role, permission)
    body = {"reason": reason, "role": role, "permission": permission, "request_id": request_id}
    started = call(Settings(), "POST", "/api/v1/permissions/requests", json_body=body)
    notes.print("permission request started:")
    print(started["workflow_id"])


@permissions.command()
def status(workflow_id: str) -> None:
    """Where a request stands: stage, approvers, approvals so far, next reminder."""
    found = call(Settings(), "GET", f"/api/v1/permissions/requests/{workflow_id}")
    console.print_json(data=found)


def _decide(workflow_id: str, approve: bool, comment: str) -> None:
    result = call(
        Settings(),
        "POST",
        f"/api/v1/permissions/requests/{workflow_id}/decision",
        json_body={"approve": approve, "comment": comment},
    )
    console.print(f"{result['code']}: {result['message_zh']}")


@permissions.command()
def approve(workflow_id: str, comment: str = "") -> None:
    """Approve, as the logged-in approver (answers at once whether it counted)."""
    _decide(workflow_id, True, comment)


@permissions.command()
def reject(workflow_id: str, comment: Annotated[str, typer.Option()] = "") -> None:
    """Reject; the holder is told, with the comment."""
    _decide(workflow_id, False, comment)


@permissions.command()
def revoke(
    username: Annotated[str, typer.Option(help="whose role or permission")],
    reason: Annotated[str, typer.Option()],
    role: Role = None,
    permission: Permission = None,
    revocation_id: Annotated[str | None, typer.Option(help="idempotent: the same ID, once")] = None,
) -> None:
    """Take a role or a single permission back, as the logged-in admin; audited, and the holder
    is told."""
    _check(role, permission)
    body = {
        "username": username,
        "reason": reason,
        "role": role,
        "permission": permission,
        "revocation_id": revocation_id,
    }
    result = call(Settings(), "POST", "/api/v1/permissions/revocations", json_body=body)
    console.print(f"revoked: {username} is now {result['role']}")
