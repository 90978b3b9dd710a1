"""The reviewer's side: `/api/v1/review`. The inbox, an application (only to someone the review
rule allows) with its photos, and the decision, all as the logged-in staff member."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from domain.contracts.registration import DecisionResult
from domain.roles import Role
from edge.inbox import InboxFilter, Tab, reviewer_inbox
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.web.deps import CurrentStaff, Services, WorkflowId
from edge.web.errors import responses
from edge.web.schemas import DecisionBody, InboxPageView, ReviewedApplication

router = APIRouter(prefix="/api/v1/review", tags=["review"])


@router.get("/inbox", responses=responses(401, 422, 503))
async def inbox(
    staff: CurrentStaff,
    edge: Services,
    tab: Annotated[Literal["pending", "escalated", "all"], Query()] = "pending",
    unit_code: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    role: Role | None = None,
    resubmitted: bool | None = None,
    overdue: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> InboxPageView:
    """Registrations this account may decide, the earliest deadline first (applicants masked).
    `unit_code` and `role` filter a system admin's inbox; `tab=escalated|all` is theirs too."""
    temporal = await edge.temporal.get()
    filters = InboxFilter(Tab(tab), unit_code, role, resubmitted, overdue)
    found = await reviewer_inbox(temporal, staff.account, filters, page=page, page_size=page_size)
    return InboxPageView(
        items=found.items,
        total=found.total,
        page=found.page,
        pages=found.pages,
    )


@router.get("/{workflow_id}", responses=responses(401, 403, 404, 503))
async def application(
    workflow_id: WorkflowId, staff: CurrentStaff, edge: Services
) -> ReviewedApplication:
    """The full application with what changed since the previous round: only to a reviewer
    of this registration."""
    registrations = await edge.registrations()
    status = await registrations.check_reviewer(workflow_id, staff.account)
    view = await registrations.application(workflow_id)
    return ReviewedApplication(workflow_id=workflow_id, stage=status.stage, **view.model_dump())


@router.get(
    "/{workflow_id}/photos/{side}",
    responses={200: {"content": {"image/jpeg": {}}}, **responses(401, 403, 404, 503)},
    response_class=Response,
)
async def photo(
    workflow_id: WorkflowId,
    side: Annotated[Literal["front", "back"], Path()],
    staff: CurrentStaff,
    edge: Services,
) -> Response:
    """An ID-card photo of the application, to its reviewers only."""
    registrations = await edge.registrations()
    await registrations.check_may_review(workflow_id, staff.account)
    view = await registrations.application(workflow_id)
    ref = view.id_card_front if side == "front" else view.id_card_back
    try:
        data = await registrations.documents.get(ref)
    except FileNotFoundError:
        refused("request.not_found")
        raise EdgeRefused("request.not_found") from None
    return Response(data, media_type="image/jpeg")


@router.post("/{workflow_id}/decision", responses=responses(401, 403, 404, 409, 422, 503))
async def decide(
    workflow_id: WorkflowId, body: DecisionBody, staff: CurrentStaff, edge: Services
) -> DecisionResult:
    """Approve, or reject with a reason, as the logged-in reviewer. The review rule is checked
    here first (403, nothing sent) and again by the workflow on the signed actor; a decision
    that does not count (another already did, a wrong round) is a 409 with the workflow's
    code."""
    registrations = await edge.registrations()
    await registrations.check_may_review(workflow_id, staff.account)
    result = await registrations.decide(
        workflow_id,
        actor=staff.actor,
        approve=body.approve,
        reason=body.reason,
        comment=body.comment,
        fields=body.fields,
        decision_id=body.decision_id or uuid.uuid4().hex,
    )
    if not result.accepted:
        refused(result.code)
        key = (
            "reviewer.not_authorized"
            if result.code.startswith("reviewer.")
            else "decision.not_counted"
        )
        raise EdgeRefused(key, message_zh=result.message_zh, code=result.code)
    return result
