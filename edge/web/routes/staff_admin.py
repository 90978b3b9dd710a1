"""The user center (用户中心, seed 六) of every account, and the admins' pages: permission and role
requests to decide (four eyes for the system-admin role), unit-admin invitation codes, and
revocations. Each acts as the logged-in account through `edge.permissions` and
`edge.invitations`; who may do what is theirs and the workflows' to decide, not a page's."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from domain.contracts.base import ApplicationRefused
from domain.permissions import Change, may
from domain.roles import (
    PERMISSION_TEXT_ZH,
    REQUESTABLE_ROLES,
    ROLE_TEXT_ZH,
    SINGLE_GRANTS,
    Role,
)
from edge.accounts import account_view
from edge.invitations import Invitations
from edge.messages import EdgeRefused
from edge.web.deps import CurrentStaff, Services
from edge.web.pages import render
from edge.web.routes.staff_pages import form_fields, notice
from store.models import Unit

router = APIRouter(prefix="/staff", include_in_schema=False)

_REQUEST_ID = re.compile(r"^permission-[a-z0-9_]{1,32}-[a-z0-9]{6,40}$")
CHANGES = [(f"role:{role.value}", f"角色:{ROLE_TEXT_ZH[role]}") for role in REQUESTABLE_ROLES] + [
    (f"permission:{name}", f"权限:{PERMISSION_TEXT_ZH[name]}(本单位)") for name in SINGLE_GRANTS
]
PERMISSION_STAGE_TEXT = {
    "checking": "检查中",
    "awaiting_approval": "待审批",
    "applying": "授予中",
    "granted": "已授予",
    "rejected": "未批准",
    "refused": "未受理",
}


def _change(value: str) -> tuple[str | None, str | None]:
    kind, _, name = value.partition(":")
    return (
        (name, None) if kind == "role" else (None, name) if kind == "permission" else (None, None)
    )


def _refusal_errors(refusals: list[Any], default: str) -> dict[str, str]:
    return {
        (r.fields[0] if r.fields and r.fields[0] in ("reason", "username") else default): (
            r.message_zh
        )
        for r in refusals
    }


def change_text(role: str | None, permission: str | None) -> str:
    return Change(Role(role) if role else None, permission).text_zh


async def _me_context(staff: CurrentStaff, edge: Services) -> dict[str, Any]:
    view = await account_view(edge.db, staff.username, data_key=edge.settings.data_key)
    if view is None:
        raise EdgeRefused("account.inactive")
    try:
        mine: list[Any] | None = await (await edge.permissions()).requests_of(staff.username)
    except EdgeRefused as exc:
        if exc.code != "workflow.unavailable":
            raise
        mine = None  # the account is the database's: shown even while Temporal is away
    return {
        "staff": staff,
        "csrf_token": staff.csrf_token,
        "view": view,
        "requests": mine,
        "changes": CHANGES,
        "change_text": change_text,
        "stage_text": PERMISSION_STAGE_TEXT,
        "is_admin": may(staff.account, "unit_data:manage", target_unit=staff.account.unit_code),
        "is_system_admin": may(staff.account, "system:manage"),
    }


@router.get("/me", response_class=HTMLResponse)
async def user_center(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    context = await _me_context(staff, edge)
    context["notice"] = notice(request)
    return render(request, "staff/me.html", context)


@router.post("/me/requests", response_class=HTMLResponse)
async def ask(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    """Ask for a role or one permission: starts the permission-change workflow."""
    typed = await form_fields(request, "change", "reason")
    role, permission = _change(typed["change"])
    errors: dict[str, str] = {}
    if not typed["reason"].strip():
        errors["reason"] = "请说明申请理由"
    if role is None and permission is None:
        errors["change"] = "请选择要申请的角色或权限"
    if not errors:
        try:
            await (await edge.permissions()).request(
                actor=staff.actor,
                reason=typed["reason"].strip()[:500],
                role=role,
                permission=permission,
                request_id=None,
            )
        except ApplicationRefused as exc:
            errors = _refusal_errors(exc.refusals, "change")
        else:
            return RedirectResponse("/staff/me?notice=requested", status_code=303)
    context = await _me_context(staff, edge)
    context.update(errors=errors, typed=typed)
    return render(request, "staff/me.html", context, status_code=422)


@router.get("/requests", response_class=HTMLResponse)
async def requests_page(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    waiting = await (await edge.permissions()).to_decide(staff.account)
    return render(
        request,
        "staff/requests.html",
        {
            "staff": staff,
            "csrf_token": staff.csrf_token,
            "requests": waiting,
            "change_text": change_text,
            "stage_text": PERMISSION_STAGE_TEXT,
        },
    )


@router.post("/requests/decision", response_class=HTMLResponse)
async def decide_request(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    """Approve or reject a request (its ID in the form, not the URL: it names the holder)."""
    typed = await form_fields(request, "request", "decision", "comment")
    if not _REQUEST_ID.match(typed["request"]) or typed["decision"] not in ("approve", "reject"):
        raise EdgeRefused("request.invalid")
    permissions = await edge.permissions()
    result = await permissions.decide(
        typed["request"],
        actor=staff.actor,
        approve=typed["decision"] == "approve",
        comment=typed["comment"].strip()[:500],
    )
    status = await permissions.status(typed["request"])
    return render(
        request,
        "staff/request_decided.html",
        {
            "staff": staff,
            "csrf_token": staff.csrf_token,
            "result": result,
            "status": status,
            "change_text": change_text,
            "stage_text": PERMISSION_STAGE_TEXT,
        },
        status_code=200 if result.accepted else 409,
    )


async def _invitations_context(staff: CurrentStaff, edge: Services) -> dict[str, Any]:
    invitations = Invitations(edge.settings, edge.db)
    rows = await invitations.list(staff.account)
    async with edge.db() as db:
        units = list(await db.scalars(select(Unit).where(Unit.active).order_by(Unit.name)))
    return {"staff": staff, "csrf_token": staff.csrf_token, "invitations": rows, "units": units}


@router.get("/admin/invitations", response_class=HTMLResponse)
async def invitations_page(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    return render(request, "staff/invitations.html", await _invitations_context(staff, edge))


@router.post("/admin/invitations", response_class=HTMLResponse)
async def issue_invitation(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    """Issue a code for a unit and show it, this once (only its hash is kept)."""
    typed = await form_fields(request, "unit_code")
    invitations = Invitations(edge.settings, edge.db)
    try:
        code = await invitations.issue(staff.account, typed["unit_code"])
    except EdgeRefused as exc:
        if exc.code != "invitation.unit_unknown":
            raise
        context = await _invitations_context(staff, edge)
        context["errors"] = {"unit_code": exc.message_zh}
        return render(request, "staff/invitations.html", context, status_code=422)
    context = await _invitations_context(staff, edge)
    context.update(new_code=code, new_unit=typed["unit_code"])
    return render(request, "staff/invitations.html", context)


@router.post("/admin/invitations/revoke")
async def revoke_invitation(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    typed = await form_fields(request, "invitation")
    await Invitations(edge.settings, edge.db).revoke(staff.account, typed["invitation"])
    return RedirectResponse("/staff/admin/invitations", status_code=303)


def _revoke_context(staff: CurrentStaff, **extra: Any) -> dict[str, Any]:
    return {
        "staff": staff,
        "csrf_token": staff.csrf_token,
        "changes": CHANGES,
        **extra,
    }


@router.get("/admin/revoke", response_class=HTMLResponse)
async def revoke_page(request: Request, staff: CurrentStaff) -> Response:
    return render(request, "staff/revoke.html", _revoke_context(staff))


@router.post("/admin/revoke", response_class=HTMLResponse)
async def revoke(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    """Take a role or a single permission back, with a reason; the workflow checks the admin."""
    typed = await form_fields(request, "username", "change", "reason")
    role, permission = _change(typed["change"])
    errors: dict[str, str] = {}
    if not typed["username"].strip():
        errors["username"] = "请填写账号用户名"
    if role is None and permission is None:
        errors["change"] = "请选择要撤销的角色或权限"
    if not typed["reason"].strip():
        errors["reason"] = "请填写撤销原因"
    if not errors:
        try:
            result = await (await edge.permissions()).revoke(
                actor=staff.actor,
                username=typed["username"].strip().lower(),
                reason=typed["reason"].strip()[:500],
                role=role,
                permission=permission,
                revocation_id=None,
            )
        except ApplicationRefused as exc:
            errors = _refusal_errors(exc.refusals, "change")
        else:
            done = f"已撤销 {typed['username'].strip()} 的{change_text(role, permission)}"
            role_now = ROLE_TEXT_ZH.get(result.account.role) if result.account else None
            return render(
                request,
                "staff/revoke.html",
                _revoke_context(staff, done=done, role_now=role_now),
            )
    return render(
        request,
        "staff/revoke.html",
        _revoke_context(staff, errors=errors, typed=typed),
        status_code=422,
    )
