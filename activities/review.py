"""Review: who decides, when reminders go out, whether a decision counts. Everything is audited."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.base import StoreActivities
from domain import texts
from domain.contracts.internal import (
    AuditInput,
    Authorization,
    AuthorizeDecisionInput,
    Reminder,
    ReminderBatchInput,
    ReminderInput,
    ReviewPlan,
    ReviewPlanInput,
)
from domain.contracts.registration import Stage
from domain.reminders import place_reminders, reminder_steps
from domain.review_rule import (
    ReviewTarget,
    responsible_reviewers,
    review_reach,
    review_refusal,
)
from domain.roles import Role
from domain.workdays import WorkdayCalendar, load_overrides
from store.db import insert_new
from store.models import Account, AuditEvent

log = logging.getLogger(__name__)
# What the review rule reads of an account (`domain.review_rule.Reviewer`).
REVIEWER_COLUMNS = (
    Account.username,
    Account.unit_code,
    Account.role,
    Account.permissions,
    Account.active,
    Account.applicant_key,
)
# Reminders placed per activity call: the policy's steps and a working week of repeats.
REMINDER_BATCH = 8


class ReviewActivities(StoreActivities):
    @staticmethod
    async def _candidates(session: AsyncSession, unit_code: str) -> list[Any]:
        """Every active account the review rule could let decide: the unit's and the system's
        (the rule's columns only: no sealed column is opened for it)."""
        query = select(*REVIEWER_COLUMNS).where(
            Account.active, (Account.unit_code == unit_code) | (Account.role == Role.SYSTEM_ADMIN)
        )
        # Rows: each has the attributes of a `domain.review_rule.Reviewer`.
        return list(await session.execute(query.order_by(Account.username)))

    @activity.defn(name="plan_review")
    async def plan_review(self, inp: ReviewPlanInput) -> ReviewPlan:
        """Reviewers and the first reminder instants.

        Computed here, not in the workflow, and so recorded in history: a calendar upgrade or an
        edited overrides file changes new plans, never the replay of a running one.
        """
        # Not the applicant's own key: nobody holds an account for it yet.
        target = ReviewTarget(inp.unit_code, inp.requested_role, applicant_key="")
        async with self._sessions() as session:
            candidates = await self._candidates(session, inp.unit_code)
        reviewers = [a.username for a in responsible_reviewers(candidates, target)]
        escalation = [a.username for a in candidates if (r := review_reach(a)) and r.everything]
        batch = ReminderBatchInput(
            entered_review_at=inp.entered_review_at, first=0, count=REMINDER_BATCH
        )
        return ReviewPlan(
            reviewers=reviewers,
            escalation_targets=escalation,
            reminders=await self.plan_reminders(batch),
        )

    @activity.defn(name="plan_reminders")
    async def plan_reminders(self, inp: ReminderBatchInput) -> list[Reminder]:
        """More reminder instants, for a review that outlasts the first batch."""
        steps = reminder_steps(
            self._settings.review_policy, inp.first, inp.count, self._settings.review_repeat_days
        )
        calendar = WorkdayCalendar(load_overrides(self._settings.workday_overrides_file))
        return place_reminders(inp.entered_review_at, steps, calendar)

    @activity.defn(name="send_reminder")
    async def send_reminder(self, inp: ReminderInput) -> None:
        """Remind by SMS and e-mail. Idempotency key: `inp.idempotency_key`/recipient/channel."""
        reminder = inp.reminder
        kind = "escalation" if reminder.escalation_level else "reminder"
        keys = []
        async with self._sessions.begin() as session:
            recipients = (
                await session.execute(
                    select(Account.username, Account.name, Account.phone, Account.email).where(
                        Account.username.in_(inp.recipients)
                    )
                )
            ).all()
            subject, body = texts.REVIEW_REMINDER
            body = body.format(round=inp.round, label=reminder.label)
            for account in recipients:
                keys += await self._notifier.queue_both(
                    session,
                    key=f"{inp.idempotency_key}/{account.username}",
                    phone=account.phone,
                    email=account.email,
                    subject=subject,
                    body=body,
                )
            if reminder.tell_applicant:
                key = f"{inp.idempotency_key}/applicant/sms"
                keys.append(key)
                names = texts.LIST_SEPARATOR.join(a.name for a in recipients)
                subject, body = texts.REVIEW_PROGRESS
                await self._notifier.queue(
                    session,
                    key=key,
                    channel="sms",
                    recipient=inp.applicant_phone,
                    subject=subject,
                    body=body.format(contacts=names or texts.REVIEW_CONTACTS_FALLBACK),
                )
            # Keyed by the reminder (unique): a retry writes no second row.
            await _audit_once(
                session,
                registration_id=inp.registration_id,
                kind=kind,
                actor="system",
                outcome=reminder.label,
                detail=inp.idempotency_key,
                at=datetime.now(UTC),
                idempotency_key=inp.idempotency_key,
            )
        await self._notifier.deliver(keys)

    @activity.defn(name="authorize_decision")
    async def authorize_decision(self, inp: AuthorizeDecisionInput) -> Authorization:
        """Does this decision count? The answer, either way, is written to the audit trail."""
        decision = inp.decision
        async with self._sessions.begin() as session:
            reviewer = (
                await session.execute(
                    select(*REVIEWER_COLUMNS).where(Account.username == decision.reviewer_id)
                )
            ).first()
            target = ReviewTarget(inp.unit_code, inp.requested_role, inp.applicant_key)
            if inp.stage != Stage.AWAITING_REVIEW:
                verdict = _refuse("decision.not_awaiting_review")
            elif refused := review_refusal(reviewer, target):
                verdict = _refuse(refused)
            else:
                verdict = Authorization(allowed=True, code="ok", message_zh=texts.DECISION_RECORDED)
            # Keyed per decision: a retry of an attempt that committed writes no second row.
            await _audit_once(
                session,
                registration_id=inp.registration_id,
                kind="decision" if verdict.allowed else "refused_decision",
                actor=decision.reviewer_id,
                outcome=("approve" if decision.approve else "reject")
                if verdict.allowed
                else verdict.code,
                detail=decision.decision_id,
                at=inp.at,
                idempotency_key=f"{inp.registration_id}/decision/{decision.decision_id}",
            )
        if not verdict.allowed:
            log.warning("decision refused code=%s reviewer=%s", verdict.code, decision.reviewer_id)
        return verdict

    @activity.defn(name="record_audit")
    async def record_audit(self, inp: AuditInput) -> None:
        """Append to the audit trail what no other activity records (withdrawals)."""
        async with self._sessions.begin() as session:
            await _audit_once(
                session,
                registration_id=inp.registration_id,
                kind=inp.kind,
                actor=inp.actor,
                outcome=inp.outcome,
                detail=inp.detail,
                at=inp.at,
                # The instant is the workflow's, the same for every attempt of one call.
                idempotency_key=f"{inp.registration_id}/{inp.kind}/{inp.at.isoformat()}",
            )


async def _audit_once(session: AsyncSession, **row: Any) -> None:
    """Append an audit row unless one with its idempotency key exists: one statement, which a
    concurrent attempt of the same call cannot race (the key is unique)."""
    await session.execute(insert_new(session, AuditEvent).values(**row))


def _refuse(code: str) -> Authorization:
    return Authorization(allowed=False, code=code, message_zh=texts.REVIEW[code].zh)
