"""An admin takes a role or a single permission back (say, the person left the unit).

No approval round: the admin's power to revoke is checked inside the change's own transaction.
It is a workflow rather than a direct database call so that the change and the holder's notice
are applied exactly once and retried until delivered, and so that it shows in the Temporal UI
beside the requests.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError
from temporalio import workflow

from workflows.common import ACTIVITY

with workflow.unsafe.imports_passed_through():
    from activities.permissions import PermissionActivities
    from domain.contracts.internal import ChangeInput, ChangeResult
    from domain.contracts.permissions import ChangeAction, RevokeRequest
    from domain.vouching import Senders, senders


@workflow.defn(failure_exception_types=[ValidationError])
class PermissionRevokeWorkflow:
    """One revocation. Workflow ID: `permission-<username>-revoke-<revocation id>`, which is
    also the idempotency key of the change. No messages; the result says whether it counted
    (`applied`) or why not (`refusal`: code and Chinese message).

    Who revokes is who the edge's assertion says: `by` must be that actor, or the workflow fails
    at once and changes nothing (workflows/vouching.py)."""

    STARTED_BY: ClassVar[tuple[str, Senders]] = ("revoke", senders("staff", names_actor="by"))

    @workflow.run
    async def run(self, request: RevokeRequest) -> ChangeResult:
        return await workflow.execute_activity_method(
            PermissionActivities.apply_change,
            ChangeInput(
                idempotency_key=workflow.info().workflow_id,
                action=ChangeAction.REVOKE,
                username=request.username,
                role=request.role,
                permission=request.permission,
                by=[request.by],
                reason=request.reason,
                source="revocation",
                at=workflow.now(),
            ),
            summary="revoke, audit and notify the holder",
            **ACTIVITY,
        )
