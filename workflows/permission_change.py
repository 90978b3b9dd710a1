"""One permission change request, from the holder's ask to the change (seed step 六: ask for more).

The process reads top to bottom in `run`: check the request and find its approvers, wait for
their decision while working-day reminders go out and escalate (the system-admin role needs two
different system admins), then apply the change and tell the holder. A rejection ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import ValidationError
from temporalio import workflow

from workflows.common import ACTIVITY, china_time, keep_last

with workflow.unsafe.imports_passed_through():
    from activities.permissions import PermissionActivities
    from activities.review import REMINDER_BATCH, ReviewActivities
    from domain import texts
    from domain.contracts.base import Account, AuditEntry, Refusal
    from domain.contracts.internal import (
        ApprovalPlan,
        ApprovalReminderInput,
        AuthorizePermissionDecisionInput,
        ChangeInput,
        HolderNotice,
        PermissionCheckInput,
        Reminder,
        ReminderBatchInput,
    )
    from domain.contracts.permissions import (
        ChangeAction,
        PermissionChangeRequest,
        PermissionDecision,
        PermissionOutcome,
        PermissionStage,
        PermissionStatus,
    )
    from domain.contracts.registration import DecisionResult
    from domain.permissions import Change, refusal
    from domain.vouching import Senders, senders


# An input that does not validate (say, a role that does not exist) fails the workflow at once.
@workflow.defn(failure_exception_types=[ValidationError])
class PermissionChangeWorkflow:
    """One request for a role or a single permission. Workflow ID:
    `permission-<username>-<request id>`.

    Messages:
    - Update `decide`: an approver's approval or rejection. It counts only once an authorization
      activity confirms the approver (active, not the holder, allowed to grant this, and for the
      system-admin role not one who approved already); the answer says at once whether it
      counted and why not. One counted rejection ends the request. Decisions are authorized one
      at a time; one that arrives while the request is still being checked waits for the check.
    - Query `status`: the stage, approvers, approvals so far, next reminder, refusals and trail.

    The start and every decision carry the edge's assertion of who sent them: the holder asks,
    the approver decides (workflows/vouching.py refuses anything else).
    """

    STARTED_BY: ClassVar[tuple[str, Senders]] = (
        "request",
        senders("staff", names_actor="username"),
    )
    SENDERS: ClassVar[dict[str, Senders]] = {"decide": senders("staff", names_actor="approver_id")}

    @workflow.init
    def __init__(self, request: PermissionChangeRequest) -> None:
        self._request = request
        self._change = Change(request.role, request.permission)
        self._stage = PermissionStage.CHECKING
        self._plan = ApprovalPlan()
        self._reminders: list[Reminder] = []
        self._entered_approval_at = workflow.now()
        self._next_reminder: Reminder | None = None
        self._escalation = 0
        self._approvals: list[str] = []
        self._rejection: PermissionDecision | None = None
        self._decisions: dict[str, DecisionResult | None] = {}
        # Decisions are authorized one at a time, so that one approver cannot count twice.
        self._deciding = asyncio.Lock()
        self._refusals: list[Refusal] = []
        self._account: Account | None = None
        self._history: list[AuditEntry] = []

    @workflow.run
    async def run(self, request: PermissionChangeRequest) -> PermissionOutcome:
        self._plan = await workflow.execute_activity_method(
            PermissionActivities.check_request,
            PermissionCheckInput(workflow_id=self._id, request=request, at=workflow.now()),
            summary="check request and find approvers",
            **ACTIVITY,
        )
        if self._plan.refusals:
            self._refusals = self._plan.refusals
            return await self._finish(PermissionStage.REFUSED)

        if not await self._approved():
            return await self._finish(PermissionStage.REJECTED)

        self._set_stage(PermissionStage.APPLYING)
        result = await workflow.execute_activity_method(
            PermissionActivities.apply_change,
            ChangeInput(
                idempotency_key=self._id,
                action=ChangeAction.GRANT,
                username=request.username,
                role=request.role,
                permission=request.permission,
                by=self._approvals,
                reason=request.reason,
                source="permission_request",
                at=workflow.now(),
            ),
            summary="apply the change and notify the holder",
            **ACTIVITY,
        )
        if result.refusal is not None:  # the account changed while the request waited
            self._refusals = [result.refusal]
            return await self._finish(PermissionStage.REFUSED)
        self._account = result.account
        return await self._finish(PermissionStage.GRANTED)

    # --- the stages ----------------------------------------------------------------------------

    async def _approved(self) -> bool:
        """Wait for enough approvals, or one rejection, while reminders go out."""
        self._entered_approval_at = workflow.now()
        self._reminders = await self._more_reminders(0)
        self._set_stage(PermissionStage.AWAITING_APPROVAL)
        await self._remind(Reminder(at=workflow.now(), label="new request"), self._plan.approvers)
        step = 0
        while not self._decided():
            if step >= len(self._reminders):
                self._reminders += await self._more_reminders(step)
            reminder = self._reminders[step]
            self._next_reminder = reminder
            self._publish()
            if await self._wait_until(self._decided, reminder.at, reminder.label):
                break
            self._escalation = max(self._escalation, reminder.escalation_level)
            targets = self._plan.escalation_targets if self._escalation else self._plan.approvers
            await self._remind(reminder, targets)
            step += 1
        self._next_reminder = None
        return self._rejection is None

    async def _finish(self, stage: PermissionStage) -> PermissionOutcome:
        self._set_stage(stage)
        if stage == PermissionStage.REJECTED and self._rejection is not None:
            text = texts.CHANGE_REJECTED.format(
                change=self._change.text_zh, comment=self._rejection.comment
            )
            await self._notify_holder("rejected", text)
        elif stage == PermissionStage.REFUSED:
            reasons = ";".join(r.message_zh for r in self._refusals)
            text = texts.CHANGE_REFUSED.format(change=self._change.text_zh, reasons=reasons)
            await self._notify_holder("refused", text)
        # Let running handlers (a late decision) answer before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return PermissionOutcome(stage=stage, account=self._account, refusals=self._refusals)

    # --- handlers ------------------------------------------------------------------------------

    @workflow.update
    async def decide(self, decision: PermissionDecision) -> DecisionResult:
        """Count a decision once, and only if the approver may decide; audit it either way."""
        if decision.decision_id in self._decisions:
            earlier = self._decisions[decision.decision_id]
            return earlier or _answer(refusal("decision.in_progress"))
        self._decisions[decision.decision_id] = None
        # A decision that arrives while the request is still being checked waits for the check.
        await workflow.wait_condition(lambda: self._stage != PermissionStage.CHECKING)
        async with self._deciding:
            authorization = await workflow.execute_activity_method(
                PermissionActivities.authorize_decision,
                AuthorizePermissionDecisionInput(
                    workflow_id=self._id,
                    request=self._request,
                    stage=self._stage,
                    approvals=self._approvals,
                    decision=decision,
                    at=workflow.now(),
                ),
                summary="authorize approver decision",
                **ACTIVITY,
            )
            if authorization.allowed and self._decided():
                result = _answer(refusal("decision.superseded"))
            else:
                result = DecisionResult(
                    accepted=authorization.allowed,
                    code=authorization.code,
                    message_zh=authorization.message_zh,
                )
            if result.accepted and decision.approve:
                self._approvals = [*self._approvals, decision.approver_id]
            elif result.accepted:
                self._rejection = decision
        self._record(
            "decision" if result.accepted else "refused_decision",
            decision.approver_id,
            ("approve" if decision.approve else "reject") if result.accepted else result.code,
        )
        self._decisions[decision.decision_id] = result
        keep_last(self._decisions, KEPT_DECISIONS)
        self._publish()
        return result

    @decide.validator
    def _validate_decide(self, decision: PermissionDecision) -> None:
        if decision is None:  # JSON null is not decoded into the model
            raise ValueError("a decision is required")

    @workflow.query
    def status(self) -> PermissionStatus:
        return PermissionStatus(
            stage=self._stage,
            username=self._request.username,
            role=self._request.role,
            permission=self._request.permission,
            reason=self._request.reason,
            approvers=self._plan.approvers,
            escalation_targets=self._plan.escalation_targets,
            approvals=self._approvals,
            approvals_needed=self._plan.approvals_needed,
            next_reminder_at=self._next_reminder.at if self._next_reminder else None,
            escalation_level=self._escalation,
            refusals=self._refusals,
            account=self._account,
            history=self._history,
        )

    # --- helpers -------------------------------------------------------------------------------

    @property
    def _id(self) -> str:
        return workflow.info().workflow_id

    def _decided(self) -> bool:
        return self._rejection is not None or len(self._approvals) >= self._plan.approvals_needed

    def _set_stage(self, stage: PermissionStage) -> None:
        self._stage = stage
        workflow.logger.info("permission change stage %s", stage.value)
        self._publish()

    def _publish(self) -> None:
        """What operators read in the UI: Markdown details (no search attributes needed)."""
        lines = [
            f"**Stage** `{self._stage.value}`",
            f"**Asks for** {self._change.role or self._change.permission}",
        ]
        if self._stage == PermissionStage.AWAITING_APPROVAL:
            deciders = self._plan.escalation_targets if self._escalation else self._plan.approvers
            lines.append("**Waiting for** " + ", ".join(deciders or ["(none active)"]))
            lines.append(f"**Approvals** {len(self._approvals)}/{self._plan.approvals_needed}")
        if self._next_reminder is not None:
            at = china_time(self._next_reminder.at)
            lines.append(f"**Next reminder** {at} (UTC+8), {self._next_reminder.label}")
        if self._refusals:
            lines.append("**Refused** " + "; ".join(r.code for r in self._refusals))
        workflow.set_current_details("\n\n".join(lines))

    def _record(self, kind: str, actor: str, outcome: str) -> None:
        self._history.append(AuditEntry(at=workflow.now(), kind=kind, actor=actor, outcome=outcome))

    async def _wait_until(self, done: Callable[[], bool], at: datetime, summary: str) -> bool:
        """Wait for `done` until the instant `at`; False when the time came first."""
        try:
            await workflow.wait_condition(
                done,
                timeout=max(at - workflow.now(), timedelta(seconds=1)),
                timeout_summary=summary,
            )
        except TimeoutError:
            return False
        return True

    async def _more_reminders(self, first: int) -> list[Reminder]:
        """Working-day reminder instants, placed by the review activity (the same calendar and
        policy as a registration's review)."""
        return await workflow.execute_activity_method(
            ReviewActivities.plan_reminders,
            ReminderBatchInput(
                entered_review_at=self._entered_approval_at, first=first, count=REMINDER_BATCH
            ),
            summary="place working-day reminders",
            **ACTIVITY,
        )

    async def _remind(self, reminder: Reminder, recipients: list[str]) -> None:
        await workflow.execute_activity_method(
            PermissionActivities.remind_approvers,
            ApprovalReminderInput(
                workflow_id=self._id,
                idempotency_key=f"{self._id}/{reminder.label.replace(' ', '-')}",
                reminder=reminder,
                recipients=recipients,
                holder=self._request.username,
            ),
            summary=reminder.label,
            **ACTIVITY,
        )
        self._record(
            "escalation" if reminder.escalation_level else "reminder", "system", reminder.label
        )

    async def _notify_holder(self, step: str, text: str) -> None:
        await workflow.execute_activity_method(
            PermissionActivities.notify_holder,
            HolderNotice(
                idempotency_key=f"{self._id}/{step}",
                username=self._request.username,
                subject=texts.CHANGE_RESULT_SUBJECT,
                body=texts.SMS_PREFIX + text,
            ),
            summary=f"notify holder: {step}",
            **ACTIVITY,
        )


# Decisions remembered for idempotency: a repeated decision ID among them gets its first answer.
KEPT_DECISIONS = 50


def _answer(refused: Refusal) -> DecisionResult:
    return DecisionResult(accepted=False, code=refused.code, message_zh=refused.message_zh)
