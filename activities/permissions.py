"""Permission changes: check a request, authorize decisions, remind, apply a grant or a revocation.

Everything is audited (`audit_events`, keyed by the change's workflow ID) and every grant and
revocation is a row of `grant_history`. Each activity says its idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.base import StoreActivities
from domain import texts
from domain.contracts.base import Account, Refusal
from domain.contracts.internal import (
    ApprovalPlan,
    ApprovalReminderInput,
    Authorization,
    AuthorizePermissionDecisionInput,
    ChangeInput,
    ChangeResult,
    HolderNotice,
    PermissionCheckInput,
)
from domain.contracts.permissions import (
    ChangeAction,
    PermissionStage,
)
from domain.permissions import (
    Change,
    after,
    decision_refusal,
    refusal,
    request_refusals,
)
from domain.roles import ROLE_TEXT_ZH, Role
from store import models
from store.permission_checks import PermissionChecks

log = logging.getLogger(__name__)


class PermissionActivities(StoreActivities):
    @property
    def _checks(self) -> PermissionChecks:
        return PermissionChecks(self._sessions)

    def methods(self) -> list[Callable[..., Any]]:
        """The activities, bound, for the worker."""
        return [
            self.check_request,
            self.authorize_decision,
            self.remind_approvers,
            self.apply_change,
            self.notify_holder,
        ]

    # --- before and while a request waits ------------------------------------------------------

    @activity.defn(name="check_permission_request")
    async def check_request(self, inp: PermissionCheckInput) -> ApprovalPlan:
        """Check the request against the accounts and find its approvers; audited once.

        Idempotency key: `<workflow ID>/requested` (the audit row)."""
        plan = await self._checks.plan(inp.request)
        async with self._sessions.begin() as session:
            await _audit_once(
                session,
                subject=inp.workflow_id,
                key=f"{inp.workflow_id}/requested",
                kind="permission_request",
                actor=inp.request.username,
                outcome=plan.refusals[0].code if plan.refusals else "requested",
                at=inp.at,
            )
        return plan

    @activity.defn(name="authorize_permission_decision")
    async def authorize_decision(self, inp: AuthorizePermissionDecisionInput) -> Authorization:
        """Does this decision count? The answer, either way, goes to the audit trail.

        Idempotency key: `<workflow ID>/decision/<decision ID>` (the audit row)."""
        decision, request = inp.decision, inp.request
        async with self._sessions.begin() as session:
            approver = await session.get(models.Account, decision.approver_id)
            holder = await session.get(models.Account, request.username)
            if inp.stage != PermissionStage.AWAITING_APPROVAL:
                refused: Refusal | None = refusal("decision.not_awaiting_approval")
            else:
                refused = decision_refusal(
                    approver,
                    holder=request.username,
                    holder_unit=holder.unit_code if holder else None,
                    change=Change(request.role, request.permission),
                    approvals=inp.approvals,
                )
            verdict = (
                Authorization(allowed=False, code=refused.code, message_zh=refused.message_zh)
                if refused
                else Authorization(
                    allowed=True, code="ok", message_zh=texts.APPROVAL_DECISION_RECORDED
                )
            )
            await _audit_once(
                session,
                subject=inp.workflow_id,
                key=f"{inp.workflow_id}/decision/{decision.decision_id}",
                kind="permission_decision" if verdict.allowed else "refused_permission_decision",
                actor=decision.approver_id,
                outcome=("approve" if decision.approve else "reject")
                if verdict.allowed
                else verdict.code,
                at=inp.at,
            )
        if not verdict.allowed:
            log.warning("permission decision refused code=%s", verdict.code)
        return verdict

    @activity.defn(name="remind_approvers")
    async def remind_approvers(self, inp: ApprovalReminderInput) -> None:
        """Remind the approvers (and, where the step says so, tell the holder whom to contact).

        Idempotency key: `inp.idempotency_key`/recipient/channel."""
        reminder = inp.reminder
        keys: list[str] = []
        async with self._sessions.begin() as session:
            recipients = (
                await session.scalars(
                    select(models.Account).where(models.Account.username.in_(inp.recipients))
                )
            ).all()
            subject, body = texts.APPROVAL_REMINDER
            body = body.format(workflow_id=inp.workflow_id, label=reminder.label)
            for account in recipients:
                keys += await self._notifier.queue_both(
                    session,
                    key=f"{inp.idempotency_key}/{account.username}",
                    phone=account.phone,
                    email=account.email,
                    subject=subject,
                    body=body,
                )
            holder = await session.get(models.Account, inp.holder)
            if reminder.tell_applicant and holder is not None:
                keys.append(f"{inp.idempotency_key}/holder/sms")
                names = texts.LIST_SEPARATOR.join(a.name for a in recipients)
                subject, body = texts.APPROVAL_PROGRESS
                await self._notifier.queue(
                    session,
                    key=keys[-1],
                    channel="sms",
                    recipient=holder.phone,
                    subject=subject,
                    body=body.format(contacts=names or texts.APPROVAL_CONTACTS_FALLBACK),
                )
            await _audit_once(
                session,
                subject=inp.workflow_id,
                key=inp.idempotency_key,
                kind="escalation" if reminder.escalation_level else "reminder",
                actor="system",
                outcome=reminder.label,
                at=reminder.at,
            )
        await self._notifier.deliver(keys)

    @activity.defn(name="notify_holder")
    async def notify_holder(self, notice: HolderNotice) -> None:
        """Tell an account holder by SMS and e-mail. Idempotency key: `notice.idempotency_key`."""
        async with self._sessions.begin() as session:
            holder = await session.get(models.Account, notice.username)
            if holder is None:
                return
            keys = await self._notifier.queue_both(
                session,
                key=notice.idempotency_key,
                phone=holder.phone,
                email=holder.email,
                subject=notice.subject,
                body=notice.body,
            )
        await self._notifier.deliver(keys)

    # --- the change itself ---------------------------------------------------------------------

    @activity.defn(name="apply_permission_change")
    async def apply_change(self, inp: ChangeInput) -> ChangeResult:
        """Grant or revoke, with its grant-history row, audit row and the holder's notice, in one
        transaction; the rules are checked again inside it.

        Idempotency key: `inp.idempotency_key` (the workflow ID). A retry, a killed worker or
        a replay finds the grant-history row it wrote and changes nothing more.
        """
        change = Change(inp.role, inp.permission)
        notice = f"{inp.idempotency_key}/{inp.action.value}"
        keys = [f"{notice}/sms", f"{notice}/email"]
        try:
            async with self._sessions.begin() as session:
                result = await self._done(session, inp.idempotency_key)
                if result is None:
                    result = await self._apply(session, inp, change, notice)
        except IntegrityError:
            # A concurrent attempt with the same key won; its row is the result.
            async with self._sessions() as session:
                result = await self._done(session, inp.idempotency_key)
            if result is None:
                raise
        if result.applied:
            await self._notifier.deliver(keys)
        return result

    @staticmethod
    async def _done(session: AsyncSession, key: str) -> ChangeResult | None:
        row = await session.scalar(
            select(models.GrantHistory).where(models.GrantHistory.idempotency_key == key)
        )
        if row is None:
            return None
        account = await session.get(models.Account, row.username)
        return ChangeResult(applied=True, account=_public(account) if account else None)

    async def _apply(
        self, session: AsyncSession, inp: ChangeInput, change: Change, notice: str
    ) -> ChangeResult:
        holder = await session.get(models.Account, inp.username)
        if inp.action is ChangeAction.GRANT:
            refusals = request_refusals(holder, change)
            refused = refusals[0] if refusals else None
        else:
            refused = await self._checks.revoke_refusal(session, inp.username, inp.by[0], change)
        kind = f"permission_{inp.action.value}"
        if refused is not None or holder is None:
            assert refused is not None
            await _audit_once(
                session,
                subject=inp.idempotency_key,
                key=f"{inp.idempotency_key}/refused",
                kind=f"refused_{kind}",
                actor=",".join(inp.by),
                outcome=refused.code,
                at=inp.at,
            )
            log.warning("%s refused code=%s", kind, refused.code)
            return ChangeResult(applied=False, refusal=refused)

        role, permissions = after(holder, change, inp.action)
        holder.role = role.value
        holder.permissions = permissions
        session.add(
            models.GrantHistory(
                idempotency_key=inp.idempotency_key,
                username=holder.username,
                action=inp.action.value,
                role=inp.role.value if inp.role else None,
                permission=inp.permission,
                scope=change.scope.value if change.scope else None,
                approved_by=list(inp.by),
                reason=inp.reason,
                source=inp.source,
                at=inp.at,
            )
        )
        await _audit_once(
            session,
            subject=inp.idempotency_key,
            key=f"{inp.idempotency_key}/applied",
            kind=kind,
            actor=",".join(inp.by),
            outcome=(change.role.value if change.role else change.permission) or "",
            at=inp.at,
        )
        granted = inp.action is ChangeAction.GRANT
        subject, body = texts.CHANGE_APPLIED
        body = body.format(
            verb=texts.CHANGE_GRANTED_VERB if granted else texts.CHANGE_REVOKED_VERB,
            change=change.text_zh,
            username=holder.username,
            role=ROLE_TEXT_ZH[role],
        )
        if not granted:
            body += texts.CHANGE_REVOKED_REASON.format(reason=inp.reason)
        await self._notifier.queue_both(
            session, key=notice, phone=holder.phone, email=holder.email, subject=subject, body=body
        )
        await session.flush()
        return ChangeResult(applied=True, account=_public(holder))


async def _audit_once(
    session: AsyncSession,
    *,
    subject: str,
    key: str,
    kind: str,
    actor: str,
    outcome: str,
    at: datetime,
) -> None:
    """One audit row per key; `subject` (the change's workflow ID) fills `registration_id`."""
    found = await session.scalar(
        select(models.AuditEvent.id).where(
            models.AuditEvent.registration_id == subject, models.AuditEvent.detail == key
        )
    )
    if found is None:
        session.add(
            models.AuditEvent(
                registration_id=subject,
                kind=kind,
                actor=actor[:64],
                outcome=outcome[:64],
                detail=key,
                at=at,
            )
        )


def _public(account: models.Account) -> Account:
    return Account(
        username=account.username,
        role=Role(account.role),
        unit_code=account.unit_code or "",
        permissions=list(account.permissions),
    )
