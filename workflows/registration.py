"""One applicant's registration, from the application form to an account (seed steps 二 to 六).

The process reads top to bottom in `run`: verify the application, confirm the phone, collect the
e-signature where the policy asks for one, wait for the unit admin's decision while reminders go
out, then assign the role. A rejection loops back through correction to verification.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.common import ACTIVITY, CHINA, china_time, keep_last

with workflow.unsafe.imports_passed_through():
    from activities.accounts import INVITATION_TAKEN, USERNAME_TAKEN, AccountActivities
    from activities.notifications import NotificationActivities
    from activities.phone import PhoneActivities
    from activities.retention import RetentionActivities
    from activities.review import ReviewActivities
    from activities.verification import VerificationActivities
    from domain import texts
    from domain.contracts.base import Account, AuditEntry, Refusal, Vouched
    from domain.contracts.internal import (
        ApplicantNotice,
        AssignRoleInput,
        AuditInput,
        AuthorizeDecisionInput,
        CarriedState,
        CheckPhoneCodeInput,
        Continuation,
        ProcessPolicy,
        RecordEndInput,
        RecordSignatureInput,
        RegistrationInput,
        ReleaseInvitationInput,
        Reminder,
        ReminderBatchInput,
        ReminderInput,
        ReviewPlan,
        ReviewPlanInput,
        SendPhoneCodeInput,
        VerificationInput,
        changed_fields,
    )
    from domain.contracts.registration import (
        REJECTION_TEXT_ZH,
        ApplicationView,
        DecisionResult,
        NudgeResult,
        PhoneCodeAnswer,
        PhoneCodeOutcome,
        PhoneCodeResult,
        RegistrationOutcome,
        RegistrationRequest,
        RegistrationStatus,
        Rejection,
        ResendResult,
        Resubmission,
        ResubmitResult,
        ReviewDecision,
        Signature,
        SignResult,
        Stage,
        Withdrawal,
    )
    from domain.keys import applicant_key_of
    from domain.roles import Role
    from domain.rules import mask_name
    from domain.vouching import Senders, senders
    from plumbing import search


def _china_day(instant: datetime) -> date:
    return instant.astimezone(CHINA).date()


def _next_china_midnight(instant: datetime) -> datetime:
    return datetime.combine(_china_day(instant) + timedelta(days=1), time(), CHINA)


# Decisions remembered for idempotency (carried into the next run): a repeated decision ID among
# them gets its first answer. One repeated after it was forgotten is judged afresh, and its
# assertion must still be valid for the current round.
KEPT_DECISIONS = 50
# Running registrations that started before these search attributes existed keep the commands
# their history recorded: the inbox shows them without a deadline until their next run.
INBOX_ATTRIBUTES = "inbox-search-attributes"
# A username, phone or invitation taken between verification and approval: to correction.
TAKEN_TO_CORRECTION = "taken-since-verification-to-correction"
TAKEN_SINCE_VERIFICATION = (USERNAME_TAKEN, INVITATION_TAKEN)
# An activity that gave up after its bounded retries ends the registration as `failed`.
RETRIES_EXHAUSTED = "bounded-retries-failed-stage"
RELEASE_INVITATION = "release-invitation-at-end"
# Registrations from before it never recorded their end: the retention purge counts from it.
RECORD_END = "record-end-for-retention"
# Fewer history events: a search attribute is upserted only when its value changes (the start's
# own count), the first reminder's instant goes out with the review stage, and the account's
# transaction records a completed registration's end (no record_end activity after it).
LEAN_HISTORY = "lean-history"


def _count(name: str, description: str, **labels: str) -> None:
    # The SDK's meter skips recording while a workflow replays, so nothing counts twice.
    workflow.metric_meter().create_counter(name, description).add(1, labels)


def _update_id() -> str:
    info = workflow.current_update_info()
    assert info is not None  # called from an Update handler
    return info.id


def _refused(code: str) -> DecisionResult:
    return DecisionResult(accepted=False, code=code, message_zh=texts.REVIEW[code].zh)


class _Ended(Exception):
    """The registration ended while waiting: withdrawn, expired or finally rejected."""

    def __init__(self, stage: Stage) -> None:
        super().__init__(stage.value)
        self.stage = stage


# An input that does not validate (an integrator's malformed JSON) fails the workflow at once
# with the validation errors, instead of retrying a workflow task that can never succeed.
@workflow.defn(failure_exception_types=[ValidationError])
class RegistrationWorkflow:
    """The registration of one applicant. Workflow ID: `registration-<applicant key>`.

    Messages:
    - Update `submit_phone_code`: the SMS code; answers accepted / wrong (attempts left) / expired.
    - Update `resend_phone_code`: a new SMS code, subject to a cooldown and an hourly cap.
    - Update `sign`: the e-signature over the application digest, where the policy asks for one.
    - Signal `review_decision` / Update `decide`: the reviewer's approval or rejection; it counts
      only once an authorization activity confirms the reviewer. The Update says why it did not.
    - Update `nudge`: the applicant urges the reviewers; at most once a day.
    - Update `resubmit`: the corrected application after a rejection or failed check.
    - Signal `withdraw`: the applicant gives up; ends the registration from any waiting stage.
    - Query `status`: the stage, round, reviewers, next reminder, refusals and audit trail.
    - Query `application`: the full application, for the reviewer's CLI (it checks who asks).

    Every message but the queries carries the edge's assertion of who sent it, for this round;
    `SENDERS` says who may send which, and an unvouched one never reaches its handler.
    """

    SENDERS: ClassVar[dict[str, Senders]] = {
        "submit_phone_code": senders("applicant", "service", per_round=True),
        "resend_phone_code": senders("applicant", "service", per_round=True),
        "sign": senders("applicant", per_round=True),
        "review_decision": senders("staff", names_actor="reviewer_id", per_round=True),
        "decide": senders("staff", names_actor="reviewer_id", per_round=True),
        "nudge": senders("applicant", "service", per_round=True),
        "resubmit": senders("applicant", "service", per_round=True),
        "withdraw": senders("applicant", per_round=True),
    }

    @workflow.init
    def __init__(self, input: RegistrationInput) -> None:
        given = input.root
        carried = given.carried if isinstance(given, Continuation) else CarriedState(round=1)
        self._request = given.request if isinstance(given, Continuation) else given
        self._stage = Stage.VERIFYING
        self._round = carried.round
        self._policy: ProcessPolicy | None = None
        self._refusals: list[Refusal] = []
        self._digest = ""
        self._verified_phone = carried.verified_phone
        self._codes_sent = carried.codes_sent
        self._retry_after = 0
        self._signed_digest = carried.signed_digest
        self._plan: ReviewPlan | None = None
        self._entered_review_at = workflow.now()
        self._next_reminder: Reminder | None = None
        self._escalation = 0
        self._decision: ReviewDecision | None = None
        self._decisions: dict[str, DecisionResult | None] = dict(carried.decisions)
        self._last_nudge_at = carried.last_nudge_at
        self._nudges = carried.nudges
        self._changed_fields = carried.changed_fields
        self._correction: RegistrationRequest | None = None
        self._withdrawn = False
        self._account: Account | None = None
        self._failed_step = ""
        self._history = list(carried.history)
        self._rejections = list(carried.rejections)

    @workflow.run
    async def run(self, input: RegistrationInput) -> RegistrationOutcome:
        if isinstance(input.root, Continuation) and not workflow.info().continued_run_id:
            # Only this workflow continues itself; a Continuation from outside would claim a
            # verified phone and a signature that nobody gave.
            raise ApplicationError(
                "a Continuation is accepted only from an earlier run of this registration",
                type="ForgedContinuation",
                non_retryable=True,
            )
        try:
            while True:
                if (
                    await self._passes_checks()
                    and await self._approved_in_review()
                    and await self._account_created()
                ):
                    return await self._finish(Stage.COMPLETED)
                await self._await_correction()
        except _Ended as ended:
            return await self._finish(ended.stage)
        except ActivityError as err:
            # Retries are bounded (workflows/common.py); before they were, nothing got here.
            if not workflow.patched(RETRIES_EXHAUSTED):
                raise
            cause = err.cause
            kind = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
            self._failed_step = f"{err.activity_type}: {kind}"
            self._record("failed", "system", self._failed_step)
            workflow.logger.error("registration failed in %s", self._failed_step)
            return await self._finish(Stage.FAILED)

    # --- the stages ----------------------------------------------------------------------------

    async def _passes_checks(self) -> bool:
        """Verification, phone code and e-signature. False: the applicant must correct."""
        self._set_stage(Stage.VERIFYING)
        verification = await workflow.execute_activity_method(
            VerificationActivities.verify_application,
            VerificationInput(
                registration_id=self._registration_id,
                applicant_key=applicant_key_of(workflow.info().workflow_id),
                request=self._request,
                at=workflow.now(),
            ),
            summary="verify application (unit, real name, uniqueness)",
            **ACTIVITY,
        )
        self._policy = verification.policy
        self._digest = verification.application_digest
        self._refusals = verification.refusals
        if self._refusals:
            return False

        if self._verified_phone != self._request.phone:
            await self._send_phone_code()
            self._set_stage(Stage.AWAITING_PHONE_CODE)
            await self._wait(
                lambda: self._verified_phone == self._request.phone,
                timeout=timedelta(seconds=self._policy.phone_step_timeout_seconds),
                on_timeout=Stage.EXPIRED,
                summary="phone step expires",
            )

        if verification.requires_signature and self._signed_digest != self._digest:
            self._set_stage(Stage.AWAITING_SIGNATURE)
            await self._wait(
                lambda: self._signed_digest == self._digest,
                timeout=timedelta(seconds=self._policy.phone_step_timeout_seconds),
                on_timeout=Stage.EXPIRED,
                summary="signature step expires",
            )
        return True

    async def _approved_in_review(self) -> bool:
        """Wait for the reviewer's decision while reminders go out. False: rejected, correctable."""
        self._decision = None
        self._entered_review_at = workflow.now()
        self._plan = await workflow.execute_activity_method(
            ReviewActivities.plan_review,
            ReviewPlanInput(
                registration_id=self._registration_id,
                unit_code=self._request.unit_code,
                requested_role=self._request.requested_role,
                entered_review_at=self._entered_review_at,
            ),
            summary="find reviewers and place reminders",
            **ACTIVITY,
        )
        if self._plan.reminders and workflow.patched(LEAN_HISTORY):
            self._next_reminder = self._plan.reminders[0]  # published with the stage
        self._set_stage(Stage.AWAITING_REVIEW)
        await self._remind(
            Reminder(at=workflow.now(), label="new application"), self._plan.reviewers
        )
        step = 0
        while self._decision is None:
            reminder = await self._reminder(step)
            self._next_reminder = reminder
            self._publish()
            if await self._wait_until(
                lambda: self._decision is not None, reminder.at, reminder.label
            ):
                continue  # decided: the loop ends, with the decision known not to be None
            self._escalation = max(self._escalation, reminder.escalation_level)
            targets = self._plan.escalation_targets if self._escalation else self._plan.reviewers
            await self._remind(reminder, targets)
            step += 1
        self._next_reminder = None

        decision = self._decision
        if decision.approve:
            return True
        assert decision.reason is not None
        reason = decision.reason
        self._rejections.append(
            Rejection(
                round=self._round,
                at=workflow.now(),
                reviewer=decision.reviewer_id,
                reason=reason,
                fields=decision.fields,
                comment=decision.comment,
            )
        )
        self._refusals = [
            Refusal(
                code=f"review.{reason.value}",
                fields=decision.fields,
                message_zh=texts.REJECTED.zh.format(
                    reason=REJECTION_TEXT_ZH[reason], comment=decision.comment
                ),
                message_en=texts.REJECTED.en.format(reason=reason.value),
            )
        ]
        assert self._policy is not None
        if decision.reason.is_final or self._round >= self._policy.max_review_rounds:
            raise _Ended(Stage.REJECTED_FINAL)
        return False

    async def _account_created(self) -> bool:
        """The account, with its role. False: the username, phone or invitation was taken
        since verification, and the applicant must correct."""
        self._set_stage(Stage.ASSIGNING_ROLE)
        try:
            self._account = await workflow.execute_activity_method(
                AccountActivities.assign_role,
                AssignRoleInput(
                    registration_id=self._registration_id,
                    applicant_key=applicant_key_of(workflow.info().workflow_id),
                    request=self._request,
                    approved_by=self._decision.reviewer_id if self._decision else "",
                    at=workflow.now(),
                ),
                summary="assign role and create account",
                **ACTIVITY,
            )
        except ActivityError as err:
            cause = err.cause
            if not (
                isinstance(cause, ApplicationError)
                and cause.type in TAKEN_SINCE_VERIFICATION
                and cause.details
                # Before this, the workflow failed here: its histories keep failing.
                and workflow.patched(TAKEN_TO_CORRECTION)
            ):
                raise
            self._refusals = [Refusal.model_validate(cause.details[0])]
            self._record("account_refused", "system", self._refusals[0].code)
            return False
        return True

    async def _await_correction(self) -> None:
        """Tell the applicant what is wrong and wait for the corrected application."""
        self._set_stage(Stage.AWAITING_CORRECTION)
        self._correction = None
        subject, body = texts.CORRECTION_NEEDED
        reasons = ";".join(r.message_zh for r in self._refusals)
        await self._notify_applicant(
            f"correction-{self._round}", subject, body.format(reasons=reasons)
        )
        assert self._policy is not None
        await self._wait(
            lambda: self._correction is not None,
            timeout=timedelta(seconds=self._policy.correction_window_seconds),
            on_timeout=Stage.EXPIRED,
            summary="correction window closes",
        )
        assert self._correction is not None
        self._changed_fields = changed_fields(self._request, self._correction)
        self._request = self._correction
        self._round += 1
        if self._policy.continue_as_new_between_rounds:
            # A fresh run per round keeps the history small however many rounds it takes.
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(
                RegistrationInput(Continuation(request=self._request, carried=self._carried()))
            )

    def _carried(self) -> CarriedState:
        return CarriedState(
            round=self._round,
            verified_phone=self._verified_phone,
            signed_digest=self._signed_digest,
            codes_sent=self._codes_sent,
            nudges=self._nudges,
            last_nudge_at=self._last_nudge_at,
            decisions={k: v for k, v in self._decisions.items() if v is not None},
            changed_fields=self._changed_fields,
            history=self._history,
            rejections=self._rejections,
        )

    async def _finish(self, stage: Stage) -> RegistrationOutcome:
        self._set_stage(stage)
        self._next_reminder = None
        if stage == Stage.WITHDRAWN:
            await workflow.execute_activity_method(
                ReviewActivities.record_audit,
                AuditInput(
                    registration_id=self._registration_id,
                    kind="withdrawal",
                    actor="applicant",
                    outcome="withdrawn",
                    at=workflow.now(),
                ),
                summary="audit withdrawal",
                **ACTIVITY,
            )
        if (
            stage in (Stage.WITHDRAWN, Stage.EXPIRED, Stage.REJECTED_FINAL)
            and self._request.requested_role == Role.UNIT_ADMIN
            # Invitations are claimed at verification since this: give an unused one back.
            and workflow.patched(RELEASE_INVITATION)
        ):
            await workflow.execute_activity_method(
                VerificationActivities.release_invitation,
                ReleaseInvitationInput(registration_id=self._registration_id),
                summary="give the invitation back",
                **ACTIVITY,
            )
        if stage in (Stage.REJECTED_FINAL, Stage.EXPIRED):
            text = {Stage.REJECTED_FINAL: texts.REJECTED_FINAL, Stage.EXPIRED: texts.EXPIRED}
            await self._notify_applicant(stage.value, *text[stage])
        recorded_with_account = stage == Stage.COMPLETED and workflow.patched(LEAN_HISTORY)
        if not recorded_with_account and workflow.patched(RECORD_END):
            await workflow.execute_activity_method(
                RetentionActivities.record_end,
                RecordEndInput(
                    registration_id=self._registration_id, stage=stage.value, at=workflow.now()
                ),
                summary="record the end (retention)",
                **ACTIVITY,
            )
        # Let running handlers (a late decision, a nudge) answer before the workflow closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return RegistrationOutcome(stage=stage, account=self._account, refusals=self._refusals)

    # --- handlers ------------------------------------------------------------------------------

    @workflow.update
    async def submit_phone_code(self, answer: PhoneCodeAnswer) -> PhoneCodeResult:
        result = await workflow.execute_activity_method(
            PhoneActivities.check_phone_code,
            CheckPhoneCodeInput(
                registration_id=self._registration_id,
                code=answer.code,
                at=workflow.now(),
                idempotency_key=f"{self._registration_id}/{_update_id()}",
            ),
            summary="check SMS code",
            **ACTIVITY,
        )
        if result.outcome == PhoneCodeOutcome.ACCEPTED:
            self._verified_phone = self._request.phone
        return result

    @submit_phone_code.validator
    def _validate_submit_phone_code(self, answer: PhoneCodeAnswer) -> None:
        self._require_stage(Stage.AWAITING_PHONE_CODE)
        if answer is None:  # JSON null is not decoded into the model
            raise ValueError("a code is required")

    # The argument is optional: histories from before assertions carry none.
    @workflow.update
    async def resend_phone_code(self, vouched: Vouched | None = None) -> ResendResult:
        sent = await self._send_phone_code()
        if sent:
            return ResendResult(sent=True, message_zh=texts.PHONE_CODE_RESENT)
        return ResendResult(
            sent=False,
            retry_after_seconds=self._retry_after,
            message_zh=texts.PHONE_CODE_TOO_SOON.format(seconds=self._retry_after),
        )

    @resend_phone_code.validator
    def _validate_resend_phone_code(self, vouched: Vouched | None = None) -> None:
        self._require_stage(Stage.AWAITING_PHONE_CODE)

    @workflow.update
    async def sign(self, signature: Signature) -> SignResult:
        await workflow.execute_activity_method(
            VerificationActivities.record_signature,
            RecordSignatureInput(
                registration_id=self._registration_id, signature=signature, at=workflow.now()
            ),
            summary="keep e-signature as evidence",
            **ACTIVITY,
        )
        self._signed_digest = signature.application_digest
        return SignResult(accepted=True, message_zh=texts.SIGNATURE_ACCEPTED)

    @sign.validator
    def _validate_sign(self, signature: Signature) -> None:
        self._require_stage(Stage.AWAITING_SIGNATURE)
        if signature.application_digest != self._digest:
            raise ValueError(texts.OUTDATED_SIGNATURE)

    @workflow.signal
    async def review_decision(self, decision: ReviewDecision) -> None:
        if decision is None:  # a JSON null reaches the handler undecoded: drop it
            workflow.logger.warning("review_decision without a payload dropped")
            return
        try:
            await self._apply_decision(decision)
        except ActivityError as err:
            # A signal has nobody to answer: the failure would fail the whole registration.
            workflow.logger.error("review_decision not judged: %s", err.activity_type)

    @workflow.update
    async def decide(self, decision: ReviewDecision) -> DecisionResult:
        return await self._apply_decision(decision)

    @decide.validator
    def _validate_decide(self, decision: ReviewDecision) -> None:
        if decision is None:
            raise ValueError("a decision is required")

    @workflow.update
    async def nudge(self, vouched: Vouched | None = None) -> NudgeResult:
        """Remind the reviewers now; once a day (China's calendar day, which has no DST)."""
        assert self._plan is not None
        now = workflow.now()
        if self._last_nudge_at is not None and _china_day(now) == _china_day(self._last_nudge_at):
            return NudgeResult(
                sent=False,
                message_zh=texts.NUDGE_TOO_SOON,
                next_allowed_at=_next_china_midnight(now),
            )
        self._last_nudge_at = now
        self._nudges += 1
        await self._remind(Reminder(at=now, label=f"nudge {self._nudges}"), self._plan.reviewers)
        if workflow.patched(INBOX_ATTRIBUTES):
            self._publish()  # the inbox's "nudged" badge
        return NudgeResult(
            sent=True, message_zh=texts.NUDGE_SENT, next_allowed_at=_next_china_midnight(now)
        )

    @nudge.validator
    def _validate_nudge(self, vouched: Vouched | None = None) -> None:
        self._require_stage(Stage.AWAITING_REVIEW)

    @workflow.update
    async def resubmit(self, resubmission: Resubmission) -> ResubmitResult:
        self._correction = resubmission.request
        self._record("resubmission", "applicant", f"round {self._round + 1}")
        return ResubmitResult(accepted=True, round=self._round + 1, message_zh=texts.RESUBMITTED)

    @resubmit.validator
    def _validate_resubmit(self, resubmission: Resubmission) -> None:
        self._require_stage(Stage.AWAITING_CORRECTION)
        if self._correction is not None:
            raise ValueError("a correction was already submitted for this round")
        if resubmission.request.id_number != self._request.id_number:
            raise ValueError(texts.ID_NUMBER_FIXED)

    @workflow.signal
    def withdraw(self, withdrawal: Withdrawal) -> None:
        if withdrawal is None:  # a JSON null reaches the handler undecoded: drop it
            workflow.logger.warning("withdraw without a payload dropped")
            return
        if self._stage in (Stage.ASSIGNING_ROLE, Stage.COMPLETED) or self._withdrawn:
            workflow.logger.info("withdraw ignored in stage %s", self._stage.value)
            return
        self._withdrawn = True
        self._record("withdrawal", "applicant", "withdrawn")

    @workflow.query
    def status(self) -> RegistrationStatus:
        return RegistrationStatus(
            stage=self._stage,
            round=self._round,
            masked_name=mask_name(self._request.name),
            unit_code=self._request.unit_code,
            requested_role=self._request.requested_role,
            refusals=self._refusals,
            reviewers=self._plan.reviewers if self._plan else [],
            next_reminder_at=self._next_reminder.at if self._next_reminder else None,
            escalation_level=self._escalation,
            application_digest=self._digest,
            changed_fields=self._changed_fields,
            account=self._account,
            history=self._history,
            rejections=self._rejections,
        )

    @workflow.query
    def application(self) -> ApplicationView:
        return ApplicationView.of(
            self._request, round=self._round, changed_fields=self._changed_fields
        )

    # --- helpers -------------------------------------------------------------------------------

    def vouching_round(self) -> int:
        """The round every message's assertion must name."""
        return self._round

    @property
    def _registration_id(self) -> str:
        # Stable across continue-as-new, distinct from an earlier registration of the same person.
        info = workflow.info()
        return f"{info.workflow_id}/{info.first_execution_run_id}"

    def _require_stage(self, stage: Stage) -> None:
        if self._stage != stage:
            raise ValueError(f"registration is {self._stage.value}, not {stage.value}")

    def _set_stage(self, stage: Stage) -> None:
        self._stage = stage
        _count("jshr_registration_stage_entered", "registrations entering each stage", stage=stage)
        workflow.logger.info("stage %s round %d", stage.value, self._round)
        self._publish()

    def _publish(self) -> None:
        """What operators see: search attributes for finding it, Markdown details for reading it."""
        workflow.set_current_details(self._details())
        updates: list[SearchAttributeUpdate[Any]] = [
            search.STAGE.value_set(self._stage.value),
            search.UNIT_CODE.value_set(self._request.unit_code),
            search.REQUESTED_ROLE.value_set(self._request.requested_role.value),
            search.APPLICANT_KEY.value_set(applicant_key_of(workflow.info().workflow_id)),
            search.REVIEW_ROUND.value_set(self._round),
            search.ESCALATION_LEVEL.value_set(self._escalation),
        ]
        if self._next_reminder is not None:
            updates.append(search.REVIEW_DUE_AT.value_set(self._next_reminder.at))
        else:
            updates.append(search.REVIEW_DUE_AT.value_unset())
        if workflow.patched(INBOX_ATTRIBUTES):
            updates += self._inbox_attributes()
        if workflow.patched(LEAN_HISTORY):
            current = workflow.info().typed_search_attributes
            updates = [u for u in updates if current.get(u.key) != u.value]
            if not updates:
                return
        workflow.upsert_search_attributes(updates)

    def _inbox_attributes(self) -> list[SearchAttributeUpdate[Any]]:
        """What a reviewer's inbox row shows; the review's two instants only while it waits."""
        entered = due = None
        if self._stage == Stage.AWAITING_REVIEW and self._plan is not None:
            entered = self._entered_review_at
            # Due when the policy escalates: the end of the seed's "1-3 working days".
            due = next((r.at for r in self._plan.reminders if r.escalation_level), None)
        return [
            search.NUDGE_COUNT.value_set(self._nudges),
            search.REVIEW_ENTERED_AT.value_set(entered)
            if entered
            else search.REVIEW_ENTERED_AT.value_unset(),
            search.REVIEW_DEADLINE.value_set(due) if due else search.REVIEW_DEADLINE.value_unset(),
        ]

    def _details(self) -> str:
        waiting_for = {
            Stage.AWAITING_PHONE_CODE: "the applicant: the SMS code",
            Stage.AWAITING_SIGNATURE: "the applicant: the e-signature",
            Stage.AWAITING_CORRECTION: "the applicant: a corrected application",
        }.get(self._stage)
        if self._stage == Stage.AWAITING_REVIEW and self._plan is not None:
            deciders = self._plan.escalation_targets if self._escalation else self._plan.reviewers
            waiting_for = "reviewers: " + ", ".join(deciders or ["(none active)"])
        lines = [
            f"**Stage** `{self._stage.value}`, round {self._round}",
            f"**Applicant** {mask_name(self._request.name)} · unit `{self._request.unit_code}`"
            f" · role `{self._request.requested_role.value}`",
        ]
        if waiting_for:
            lines.append(f"**Waiting for** {waiting_for}")
        if self._next_reminder is not None:
            at = china_time(self._next_reminder.at)
            lines.append(f"**Next reminder** {at} (UTC+8), {self._next_reminder.label}")
        if self._escalation:
            lines.append(f"**Escalation level** {self._escalation}")
        if self._failed_step:
            lines.append(f"**Failed after retries** `{self._failed_step}`: see the event history")
        if self._changed_fields:
            lines.append(f"**Changed since last round** {', '.join(self._changed_fields)}")
        if self._refusals and self._stage == Stage.AWAITING_CORRECTION:
            lines.append("**To correct** " + "; ".join(r.code for r in self._refusals))
        return "\n\n".join(lines)

    def _record(self, kind: str, actor: str, outcome: str) -> None:
        self._history.append(AuditEntry(at=workflow.now(), kind=kind, actor=actor, outcome=outcome))

    async def _wait(
        self, done: Callable[[], bool], *, timeout: timedelta, on_timeout: Stage, summary: str
    ) -> None:
        """Wait for `done`; the timeout ends the registration as `on_timeout`."""
        if not await self._wait_until(done, workflow.now() + timeout, summary):
            raise _Ended(on_timeout)

    async def _wait_until(self, done: Callable[[], bool], at: datetime, summary: str) -> bool:
        """Wait for `done` until the instant `at`; False when the time came first.

        A withdrawal ends the registration from any wait.
        """
        try:
            await workflow.wait_condition(
                lambda: done() or self._withdrawn,
                timeout=max(at - workflow.now(), timedelta(seconds=1)),
                timeout_summary=summary,
            )
        except TimeoutError:
            return False
        if self._withdrawn:
            raise _Ended(Stage.WITHDRAWN)
        return True

    async def _reminder(self, step: int) -> Reminder:
        """The plan's reminders in order, fetching the next batch when a review outlasts them."""
        assert self._plan is not None
        if step >= len(self._plan.reminders):
            more = await workflow.execute_activity_method(
                ReviewActivities.plan_reminders,
                ReminderBatchInput(
                    entered_review_at=self._entered_review_at,
                    first=step,
                    count=len(self._plan.reminders),
                ),
                summary="place more working-day reminders",
                **ACTIVITY,
            )
            self._plan = self._plan.model_copy(update={"reminders": [*self._plan.reminders, *more]})
        return self._plan.reminders[step]

    async def _remind(self, reminder: Reminder, recipients: list[str]) -> None:
        label = reminder.label.replace(" ", "-")
        await workflow.execute_activity_method(
            ReviewActivities.send_reminder,
            ReminderInput(
                registration_id=self._registration_id,
                idempotency_key=f"{self._registration_id}/round-{self._round}/{label}",
                reminder=reminder,
                recipients=recipients,
                applicant_phone=self._request.phone,
                round=self._round,
            ),
            summary=reminder.label,
            **ACTIVITY,
        )
        kind = "escalation" if reminder.escalation_level else "reminder"
        self._record(kind, "system", reminder.label)
        _count("jshr_review_reminders_sent", "review reminders and escalations sent", kind=kind)

    async def _send_phone_code(self) -> bool:
        self._codes_sent += 1
        result = await workflow.execute_activity_method(
            PhoneActivities.send_phone_code,
            SendPhoneCodeInput(
                registration_id=self._registration_id,
                phone=self._request.phone,
                idempotency_key=f"{self._registration_id}/phone-code-{self._codes_sent}",
                at=workflow.now(),
            ),
            summary="send SMS code",
            **ACTIVITY,
        )
        self._retry_after = result.retry_after_seconds
        return result.sent

    async def _apply_decision(self, decision: ReviewDecision) -> DecisionResult:
        """Count a decision once, and only if the reviewer may decide; audit it either way."""
        if decision.decision_id in self._decisions:
            earlier = self._decisions[decision.decision_id]
            return earlier or _refused("decision.in_progress")
        self._decisions[decision.decision_id] = None
        try:
            authorization = await workflow.execute_activity_method(
                ReviewActivities.authorize_decision,
                AuthorizeDecisionInput(
                    registration_id=self._registration_id,
                    applicant_key=applicant_key_of(workflow.info().workflow_id),
                    unit_code=self._request.unit_code,
                    requested_role=self._request.requested_role,
                    stage=self._stage,
                    decision=decision,
                    at=workflow.now(),
                ),
                summary="authorize reviewer decision",
                **ACTIVITY,
            )
        except ActivityError:
            # Not judged: the same decision may be sent again (the Update's caller sees why).
            del self._decisions[decision.decision_id]
            raise
        if authorization.allowed and (
            self._stage != Stage.AWAITING_REVIEW or self._decision is not None
        ):
            result = _refused("decision.superseded")
        else:
            result = DecisionResult(
                accepted=authorization.allowed,
                code=authorization.code,
                message_zh=authorization.message_zh,
            )
        if result.accepted:
            self._decision = decision
            workflow.metric_meter().create_histogram_float(
                "jshr_time_to_decision", "from entering review to a counted decision", "s"
            ).record((workflow.now() - self._entered_review_at).total_seconds())
        else:
            _count("jshr_decisions_refused", "decisions that did not count", code=result.code)
        self._record(
            "decision" if result.accepted else "refused_decision",
            decision.reviewer_id,
            ("approve" if decision.approve else "reject") if result.accepted else result.code,
        )
        self._decisions[decision.decision_id] = result
        keep_last(self._decisions, KEPT_DECISIONS)
        return result

    async def _notify_applicant(self, step: str, subject: str, body: str) -> None:
        await workflow.execute_activity_method(
            NotificationActivities.notify_applicant,
            ApplicantNotice(
                idempotency_key=f"{self._registration_id}/{step}",
                phone=self._request.phone,
                email=str(self._request.email),
                subject=subject,
                body=texts.SMS_PREFIX + body,
            ),
            summary=f"notify applicant: {step}",
            **ACTIVITY,
        )
