"""Permission changes through the edge: ask for a role or a permission, approve or reject one,
revoke, always as the account the edge authenticated (the one place the edge reaches the
permission workflows)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError

from config import Settings
from domain.assertions import Actor, AssertionSigner
from domain.contracts.internal import ChangeResult
from domain.contracts.permissions import PermissionStatus
from domain.contracts.registration import DecisionResult
from domain.roles import Role
from edge.registrations import update_refusal
from starter.permission_client import PermissionClient
from store.models import Account
from store.permission_checks import PermissionChecks


class Permissions:
    def __init__(
        self,
        settings: Settings,
        db: async_sessionmaker[AsyncSession],
        signer: AssertionSigner,
        temporal: Client,
    ) -> None:
        # It signs each start and decision for the account it names: the actor, always.
        self._client = PermissionClient(
            temporal,
            task_queue=settings.task_queue,
            checker=PermissionChecks(db),
            signer=signer,
            ttl=timedelta(seconds=settings.assertion_ttl_seconds),
        )

    async def request(
        self,
        *,
        actor: Actor,
        reason: str,
        role: str | None,
        permission: str | None,
        request_id: str | None,
    ) -> str:
        """Ask, as the holder `actor`, for a role or one permission; returns the workflow ID."""
        return await self._client.request_change(
            username=actor.id,
            reason=reason,
            role=role,
            permission=permission,
            request_id=request_id,
        )

    async def status(self, workflow_id: str) -> PermissionStatus:
        return await self._client.status(workflow_id)

    async def decide(
        self, workflow_id: str, *, actor: Actor, approve: bool, comment: str
    ) -> DecisionResult:
        try:
            return await self._client.decide(
                workflow_id, approver_id=actor.id, approve=approve, comment=comment
            )
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None

    async def revoke(
        self,
        *,
        actor: Actor,
        username: str,
        reason: str,
        role: str | None,
        permission: str | None,
        revocation_id: str | None,
    ) -> ChangeResult:
        return await self._client.revoke(
            username=username,
            by=actor.id,
            reason=reason,
            role=role,
            permission=permission,
            revocation_id=revocation_id,
        )


def may_see_request(account: Account, status: PermissionStatus) -> bool:
    """The holder, the approvers and the escalation targets, and system admins."""
    return (
        account.username == status.username
        or account.username in status.approvers
        or account.username in status.escalation_targets
        or account.role == Role.SYSTEM_ADMIN.value
    )
