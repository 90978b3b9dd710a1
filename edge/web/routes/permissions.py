"""Permission changes: `/api/v1/permissions`. The holder asks (as the logged-in account), the
approvers decide, an admin revokes; no one acts under a name taken from the payload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from domain.contracts.permissions import PermissionStatus
from domain.contracts.registration import DecisionResult
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.permissions import may_see_request
from edge.web.deps import CurrentStaff, Services
from edge.web.errors import responses
from edge.web.schemas import (
    PermissionDecisionBody,
    PermissionRequestBody,
    RequestStarted,
    RevocationBody,
    Revoked,
)

router = APIRouter(prefix="/api/v1/permissions", tags=["permissions"])

RequestWorkflowId = Annotated[str, Path(pattern=r"^permission-[a-z0-9_]{1,32}-[a-z0-9]{6,40}$")]


@router.post(
    "/requests", status_code=status.HTTP_201_CREATED, responses=responses(401, 403, 422, 503)
)
async def request_change(
    body: PermissionRequestBody, staff: CurrentStaff, edge: Services
) -> RequestStarted:
    """Ask for a role or one permission for one's own account; it goes to the right
    approvers. The same `request_id` twice is the same request."""
    permissions = await edge.permissions()
    workflow_id = await permissions.request(
        actor=staff.actor,
        reason=body.reason,
        role=body.role,
        permission=body.permission,
        request_id=body.request_id,
    )
    return RequestStarted(workflow_id=workflow_id)


@router.get("/requests/{workflow_id}", responses=responses(401, 403, 404, 503))
async def request_status(
    workflow_id: RequestWorkflowId, staff: CurrentStaff, edge: Services
) -> PermissionStatus:
    """Where a request stands; to its holder, its approvers and system admins."""
    found = await (await edge.permissions()).status(workflow_id)
    if not may_see_request(staff.account, found):
        refused("reviewer.not_authorized")
        raise EdgeRefused("reviewer.not_authorized")
    return found


@router.post("/requests/{workflow_id}/decision", responses=responses(401, 403, 404, 409, 422, 503))
async def decide(
    workflow_id: RequestWorkflowId,
    body: PermissionDecisionBody,
    staff: CurrentStaff,
    edge: Services,
) -> DecisionResult:
    """Approve or reject as the logged-in approver; a decision that does not count (not an
    approver, the holder themself, already decided) is refused with the workflow's code."""
    result = await (await edge.permissions()).decide(
        workflow_id, actor=staff.actor, approve=body.approve, comment=body.comment
    )
    if not result.accepted:
        refused(result.code)
        key = "decision.not_counted"
        if result.code.startswith(("approval.", "approver.", "reviewer.")):
            key = "reviewer.not_authorized"
        raise EdgeRefused(key, message_zh=result.message_zh, code=result.code)
    return result


@router.post("/revocations", responses=responses(401, 403, 422, 503))
async def revoke(body: RevocationBody, staff: CurrentStaff, edge: Services) -> Revoked:
    """Take a role or a single permission back, as the logged-in admin; audited, and the
    holder is told. Refused (nothing changed) when this admin may not."""
    result = await (await edge.permissions()).revoke(
        actor=staff.actor,
        username=body.username,
        reason=body.reason,
        role=body.role,
        permission=body.permission,
        revocation_id=body.revocation_id,
    )
    assert result.account is not None
    return Revoked(username=body.username, role=result.account.role)
