"""Permission changes through the edge: ask for a role or a permission, approve or reject one,
revoke, always as the account the edge authenticated (the one place the edge reaches the
permission workflows)."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowUpdateFailedError

from config import Settings
from domain.assertions import Actor, AssertionSigner
from domain.contracts.internal import ChangeResult
from domain.contracts.permissions import PermissionStage, PermissionStatus
from domain.contracts.registration import DecisionResult
from domain.permissions import Change, decision_refusal
from domain.roles import Role
from edge.registrations import update_refusal
from starter.permission_client import CHANGE_WORKFLOW, PREFIX, PermissionClient
from store.models import Account
from store.permission_checks import PermissionChecks

_USERNAME = re.compile(r"^[a-z0-9_]{1,32}$")
# A status query answers in milliseconds when the worker is there.
_STATUS_SECONDS = 5
log = logging.getLogger(__name__)


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
        self._temporal = temporal
        self._db = db
        self._task_queue = settings.task_queue

    async def _statuses(self, query: str) -> list[tuple[str, PermissionStatus]]:
        """The requests the query finds on this system's task queue, with their status; one
        whose status cannot be read now (its worker busy or gone) is left out, not waited for."""
        query += f' AND TaskQueue="{self._task_queue}"'
        ids = [e.id async for e in self._temporal.list_workflows(query)]
        found = await asyncio.gather(
            *(asyncio.wait_for(self._client.status(i), _STATUS_SECONDS) for i in ids),
            return_exceptions=True,
        )
        statuses = []
        for workflow_id, status in zip(ids, found, strict=True):
            if isinstance(status, PermissionStatus):
                statuses.append((workflow_id, status))
            else:
                log.warning("permission request status unread: %s", type(status).__name__)
        return statuses

    async def requests_of(self, username: str) -> list[tuple[str, PermissionStatus]]:
        """The account's own requests, running or done (as long as visibility keeps them)."""
        if not _USERNAME.match(username):
            return []
        query = f'WorkflowType="{CHANGE_WORKFLOW}" AND WorkflowId STARTS_WITH "{PREFIX}{username}-"'
        return [(i, s) for i, s in await self._statuses(query) if s.username == username]

    async def to_decide(self, account: Account) -> list[tuple[str, PermissionStatus]]:
        """Requests awaiting approval whose decision by `account` would count (the permission
        rule, `domain.permissions.decision_refusal`), the four-eyes state in each status.

        Requests are few beside registrations: one status query each."""
        query = f'WorkflowType="{CHANGE_WORKFLOW}" AND ExecutionStatus="Running"'
        waiting = [
            (i, s)
            for i, s in await self._statuses(query)
            if s.stage == PermissionStage.AWAITING_APPROVAL
        ]
        async with self._db() as session:
            holders = {
                a.username: a
                for a in await session.scalars(
                    select(Account).where(Account.username.in_({s.username for _, s in waiting}))
                )
            }
        return [
            (i, s)
            for i, s in waiting
            if decision_refusal(
                account,
                holder=s.username,
                holder_unit=h.unit_code if (h := holders.get(s.username)) else None,
                change=Change(s.role, s.permission),
                approvals=s.approvals,
            )
            is None
        ]

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
