"""Checks of permission changes against the accounts: who may ask, who approves, who may revoke.

The permission activities run them inside the workflows; the edge and the CLI run the same ones
before they start a workflow, so a refused request starts nothing.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.contracts.base import Refusal
from domain.contracts.internal import ApprovalPlan
from domain.contracts.permissions import PermissionChangeRequest, RevokeRequest
from domain.permissions import Change, check_change, refusal, request_refusals, revoke_refusal
from domain.roles import Role
from store import models


class PermissionChecks:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @staticmethod
    async def active(session: AsyncSession, role: Role, unit_code: str | None = None) -> list[str]:
        query = select(models.Account.username).where(
            models.Account.active, models.Account.role == role
        )
        if unit_code is not None:
            query = query.where(models.Account.unit_code == unit_code)
        return list(await session.scalars(query.order_by(models.Account.username)))

    async def plan(self, request: PermissionChangeRequest) -> ApprovalPlan:
        """Refusals, or who decides: the client's pre-check and the workflow's first step."""
        refusals = check_change(request.role, request.permission)
        if refusals:
            return ApprovalPlan(refusals=refusals)
        change = Change(request.role, request.permission)
        async with self._sessions() as session:
            holder = await session.get(models.Account, request.username)
            refusals = request_refusals(holder, change)
            if refusals or holder is None:
                return ApprovalPlan(refusals=refusals)
            system_admins = [
                a for a in await self.active(session, Role.SYSTEM_ADMIN) if a != holder.username
            ]
            if change.approver_role is Role.SYSTEM_ADMIN:
                approvers = system_admins
            else:
                approvers = await self.active(session, Role.UNIT_ADMIN, holder.unit_code)
        if change.approvals_needed > 1 and len(system_admins) < change.approvals_needed:
            return ApprovalPlan(refusals=[refusal("approval.too_few_approvers")])
        return ApprovalPlan(
            approvers=[a for a in approvers if a != request.username],
            escalation_targets=system_admins,
            approvals_needed=change.approvals_needed,
        )

    async def check_revoke(self, request: RevokeRequest) -> Refusal | None:
        """The client's pre-check of a revocation; `apply_change` decides again, authoritatively."""
        refusals = check_change(request.role, request.permission)
        if refusals:
            return refusals[0]
        async with self._sessions() as session:
            return await self.revoke_refusal(
                session, request.username, request.by, Change(request.role, request.permission)
            )

    async def revoke_refusal(
        self, session: AsyncSession, username: str, by: str, change: Change
    ) -> Refusal | None:
        system_admins = await session.scalar(
            select(func.count())
            .select_from(models.Account)
            .where(models.Account.active, models.Account.role == Role.SYSTEM_ADMIN)
        )
        return revoke_refusal(
            await session.get(models.Account, by),
            await session.get(models.Account, username),
            change,
            system_admins=system_admins or 0,
        )
