"""The reviewer's pages: the inbox (待审核), an application (审核详情) and the decision, with a
confirmation step. Every page checks the review rule through the same services as
`/api/v1/review` (`edge.registrations`, `edge.inbox`); the photos are that API's, which checks
the rule on every request."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from domain import texts
from domain.contracts.base import hidden_character
from domain.contracts.registration import (
    REJECTION_TEXT_ZH,
    DecisionResult,
    RejectionReason,
    Stage,
)
from domain.permissions import may
from domain.review_rule import review_reach
from domain.roles import ROLE_TEXT_ZH, Role
from domain.workdays import SHANGHAI, WorkdayCalendar, load_overrides
from edge.inbox import UNIT_CODE, InboxFilter, Tab, decided_by, reviewer_inbox, tabs_for
from edge.messages import EdgeRefused
from edge.web.deps import CurrentStaff, Services, WorkflowId
from edge.web.pages import china_date, render
from edge.web.routes.staff_pages import notice
from edge.web.schemas import DecisionBody
from plumbing import search
from store.models import AuditEvent, Unit

router = APIRouter(prefix="/staff", include_in_schema=False)

# The application's fields as a reviewer reads them, in the form's order.
FIELD_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号码",
    "email": "电子邮箱",
    "unit_code": "单位代码",
    "unit_name": "单位名称",
    "username": "用户名",
    "requested_role": "申请角色",
    "id_card_front": "身份证人像面照片",
    "id_card_back": "身份证国徽面照片",
}
TAB_TEXT = {
    Tab.PENDING: "待审核",
    Tab.ESCALATED: "升级给我",
    Tab.ALL: "全部待审",
    Tab.DECIDED: "我已审核",
}
STAGE_TEXT = {
    Stage.VERIFYING: "核验中",
    Stage.AWAITING_PHONE_CODE: "待验证手机",
    Stage.AWAITING_SIGNATURE: "待电子签名",
    Stage.AWAITING_REVIEW: "待审核",
    Stage.AWAITING_CORRECTION: "待申请人更正",
    Stage.ASSIGNING_ROLE: "开通账号中",
    Stage.COMPLETED: "已通过",
    Stage.REJECTED_FINAL: "未通过",
    Stage.WITHDRAWN: "已撤回",
    Stage.EXPIRED: "已过期",
    Stage.FAILED: "处理失败,待运维处理",
}


@cache
def _calendar(path: Path) -> WorkdayCalendar:
    return WorkdayCalendar(load_overrides(path))


def calendar(settings: Settings) -> WorkdayCalendar:
    return _calendar(settings.workday_overrides_file)


def due(settings: Settings, deadline: datetime | None, now: datetime) -> dict[str, Any] | None:
    """The deadline as a reviewer reads it: a date, and working days left or overdue."""
    if deadline is None:
        return None
    if now >= deadline:
        return {"date": china_date(deadline), "text": "已超期", "overdue": True}
    today: date = now.astimezone(SHANGHAI).date()
    left = calendar(settings).workdays_between(today, deadline.astimezone(SHANGHAI).date())
    text = f"还剩 {left} 个工作日" if left else f"今天 {deadline.astimezone(SHANGHAI):%H:%M} 截止"
    return {"date": china_date(deadline), "text": text, "overdue": False}


def _filters(request: Request, tabs: list[Tab]) -> InboxFilter:
    query = request.query_params
    tab = Tab(query["tab"]) if query.get("tab") in {t.value for t in tabs} else tabs[0]
    unit = query.get("unit") or None
    role = query.get("role")
    rounds = query.get("round")
    return InboxFilter(
        tab=tab,
        unit_code=unit if unit and UNIT_CODE.match(unit) else None,
        role=Role(role) if role in (Role.USER.value, Role.UNIT_ADMIN.value) else None,
        resubmitted={"first": False, "resubmitted": True}.get(rounds or ""),
        overdue=query.get("overdue") == "1",
    )


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return int(text) if text.isdigit() and 0 < len(text) < 7 else 1


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    reach = review_reach(staff.account)
    tabs = tabs_for(reach)
    filters = _filters(request, tabs)
    temporal = await edge.temporal.get()
    page_number = _page_number(request)
    now = datetime.now(UTC)
    context: dict[str, Any] = {
        "staff": staff,
        "csrf_token": staff.csrf_token,
        "reach": reach,
        "tabs": [(tab, TAB_TEXT[tab]) for tab in tabs],
        "filters": filters,
        "notice": notice(request),
        "role_text": ROLE_TEXT_ZH,
        "stage_text": STAGE_TEXT,
    }
    if filters.tab == Tab.DECIDED:
        context["decided"] = await decided_by(temporal, edge.db, staff.username, page=page_number)
    else:
        found = await reviewer_inbox(temporal, staff.account, filters, page=page_number, now=now)
        context["page"] = found
        context["rows"] = [(item, due(edge.settings, item.deadline, now)) for item in found.items]
    if reach is not None and reach.everything:
        async with edge.db() as db:
            context["units"] = list(await db.scalars(select(Unit).order_by(Unit.name)))
    return render(request, "staff/inbox.html", context)


async def _application_context(
    staff: CurrentStaff, edge: Services, workflow_id: str
) -> dict[str, Any]:
    registrations = await edge.registrations()
    status = await registrations.check_reviewer(workflow_id, staff.account)
    view = await registrations.application(workflow_id)
    temporal = await edge.temporal.get()
    described = await temporal.get_workflow_handle(workflow_id).describe()
    deadline = described.typed_search_attributes.get(search.REVIEW_DEADLINE)
    async with edge.db() as db:
        audit = list(
            await db.scalars(
                select(AuditEvent)
                .where(AuditEvent.registration_id.startswith(f"{workflow_id}/"))
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        )
    values = view.model_dump()
    values["requested_role"] = ROLE_TEXT_ZH[view.requested_role]
    fields = [
        (name, label, values[name], name in view.changed_fields)
        for name, label in FIELD_LABELS.items()
        if not name.startswith("id_card_")
    ]
    now = datetime.now(UTC)
    return {
        "staff": staff,
        "csrf_token": staff.csrf_token,
        "workflow_id": workflow_id,
        "status": status,
        "stage_text": STAGE_TEXT[status.stage],
        "view": view,
        "role_name": ROLE_TEXT_ZH[view.requested_role],
        "fields": fields,
        "photo_changed": {
            side: f"id_card_{side}" in view.changed_fields for side in ("front", "back")
        },
        "labels": FIELD_LABELS,
        "changed_labels": [FIELD_LABELS.get(f, f) for f in view.changed_fields],
        "reasons": [(r.value, REJECTION_TEXT_ZH[r]) for r in RejectionReason],
        "reason_text": REJECTION_TEXT_ZH,
        "audit": audit,
        "due": due(edge.settings, deadline, now),
        "deadline": deadline,
        "deciding": status.stage == Stage.AWAITING_REVIEW,
        "temporal_ui": (
            f"{edge.settings.temporal_ui()}/namespaces/{edge.settings.temporal_namespace}"
            f"/workflows/{workflow_id}"
            if may(staff.account, "system:manage")
            else None
        ),
    }


@router.get("/applications/{workflow_id}", response_class=HTMLResponse)
async def application(
    request: Request, workflow_id: WorkflowId, staff: CurrentStaff, edge: Services
) -> Response:
    context = await _application_context(staff, edge, workflow_id)
    return render(request, "staff/application.html", context)


_DECISION_ID = re.compile(r"^[0-9a-f]{32}$")


async def _decision_form(request: Request) -> dict[str, Any]:
    form = await request.form()
    decision_id = str(form.get("decision_id") or "")
    return {
        "approve": form.get("decision") == "approve",
        "reason": str(form.get("reason") or "") or None,
        "fields": [str(f) for f in form.getlist("fields") if str(f) in FIELD_LABELS],
        "comment": str(form.get("comment") or "").strip(),
        "decision_id": decision_id if _DECISION_ID.match(decision_id) else "",
    }


def _decision_errors(typed: dict[str, Any]) -> dict[str, str]:
    """The decision form's mistakes, by field (the `DecisionBody` rules, in Chinese)."""
    errors = {}
    if not typed["approve"]:
        if typed["reason"] not in {r.value for r in RejectionReason}:
            errors["reason"] = "驳回须选择原因"
        if typed["reason"] == RejectionReason.OTHER and not typed["comment"]:
            errors["comment"] = "选择“其他原因”时请填写说明"
    if len(typed["comment"]) > 500:
        errors["comment"] = "说明最多500字"
    if hidden_character(typed["comment"], multiline=True) is not None:
        errors["comment"] = texts.CONTRACTS["text.hidden_character"].zh
    return errors


def _body(typed: dict[str, Any]) -> DecisionBody:
    approve = typed["approve"]
    return DecisionBody(
        approve=approve,
        reason=None if approve else RejectionReason(typed["reason"]),
        comment=typed["comment"],
        fields=[] if approve else typed["fields"],
        decision_id=typed["decision_id"] or None,
    )


@router.post("/applications/{workflow_id}/confirm", response_class=HTMLResponse)
async def confirm(
    request: Request, workflow_id: WorkflowId, staff: CurrentStaff, edge: Services
) -> Response:
    """The decision as it will be sent, to confirm or go back: nothing is sent yet."""
    typed = await _decision_form(request)
    errors = _decision_errors(typed)
    if errors:
        context = await _application_context(staff, edge, workflow_id)
        context.update(errors=errors, typed=typed)
        return render(request, "staff/application.html", context, status_code=422)
    body = _body(typed)
    context = await _application_context(staff, edge, workflow_id)
    context.update(
        body=body,
        decision_id=uuid.uuid4().hex,
        field_texts=[FIELD_LABELS[f] for f in body.fields],
    )
    return render(request, "staff/confirm.html", context)


@router.post("/applications/{workflow_id}/decision", response_class=HTMLResponse)
async def decide(
    request: Request, workflow_id: WorkflowId, staff: CurrentStaff, edge: Services
) -> Response:
    """Send the confirmed decision (the `decide` Update) and show its answer at once. The same
    decision ID again, say a reload, gets the same answer: it counts once."""
    typed = await _decision_form(request)
    if _decision_errors(typed):
        raise EdgeRefused("request.invalid")
    body = _body(typed)
    registrations = await edge.registrations()
    status = await registrations.check_reviewer(workflow_id, staff.account)
    try:
        result = await registrations.decide(
            workflow_id,
            actor=staff.actor,
            approve=body.approve,
            reason=body.reason,
            comment=body.comment,
            fields=body.fields,
            decision_id=body.decision_id or uuid.uuid4().hex,
        )
    except RPCError as exc:
        # A colleague's decision came first and the registration has ended since.
        if exc.status != RPCStatusCode.NOT_FOUND or status.stage == Stage.AWAITING_REVIEW:
            raise
        superseded = texts.REVIEW["decision.superseded"]
        result = DecisionResult(
            accepted=False, code="decision.superseded", message_zh=superseded.zh
        )
    return render(
        request,
        "staff/decided.html",
        {
            "staff": staff,
            "csrf_token": staff.csrf_token,
            "workflow_id": workflow_id,
            "body": body,
            "result": result,
        },
        status_code=200 if result.accepted else 409,
    )
