"""A registration counts only the messages the edge vouched for: forged signals are dropped
without running anything, forged Updates are rejected before they reach history, and a start
only the workflow itself may make is refused from outside."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from pydantic import BaseModel
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from devtools.demo import read_sms_code
from domain.assertions import ActorKind, AssertionSigner, new_signing_key, parse_signing_key
from domain.contracts.base import Vouched
from domain.contracts.internal import CarriedState, Continuation, RegistrationInput
from domain.contracts.registration import (
    PhoneCodeAnswer,
    RejectionReason,
    Resubmission,
    ReviewDecision,
    Signature,
    Stage,
    Withdrawal,
)
from domain.vouching import applicant_actor
from starter.client import WORKFLOW_TYPE
from store.models import Account, AuditEvent, OutboxMessage
from store.seed import APPLICANTS
from testkit import count, eventually, reach, request
from testkit.harness import (
    SIGNER,
    TIME_SKIPPING_TTL,
    converter,
    registration_client,
    start_and_verify_phone,
)
from worker import build_worker
from workflows.common import keep_last
from workflows.permission_change import PermissionChangeWorkflow
from workflows.permission_revoke import PermissionRevokeWorkflow
from workflows.registration import RegistrationWorkflow

ROGUE = parse_signing_key(new_signing_key("rogue")[0])
IMPOSTOR = parse_signing_key(new_signing_key("test1")[0])  # the trusted key's ID, another key


def decision(reviewer: str = "admin_hospital", **changes: object) -> ReviewDecision:
    return ReviewDecision(
        decision_id=uuid.uuid4().hex, reviewer_id=reviewer, approve=True, **changes
    )


def signed(
    payload: BaseModel,
    workflow_id: str,
    message: str,
    *,
    actor: str = "admin_hospital",
    kind: ActorKind = "staff",
    signer: AssertionSigner = SIGNER,
    round: int | None = 1,
    now: datetime,
    ttl: timedelta = timedelta(minutes=5),
):
    assertion = signer.sign(
        actor=actor,
        actor_kind=kind,
        workflow_id=workflow_id,
        message=message,
        payload=payload,
        now=now,
        ttl=ttl,
        round=round,
    )
    return payload.model_copy(update={"assertion": assertion})


def from_applicant(payload: BaseModel, workflow_id: str, message: str, **options):
    options.setdefault("actor", applicant_actor(workflow_id))
    return signed(payload, workflow_id, message, kind="applicant", **options)


async def scheduled(env, workflow_id: str, activity: str | None = None) -> int:
    """Activities this run scheduled (all, or those of one type)."""
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    return sum(
        1
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and activity in (None, event.activity_task_scheduled_event_attributes.activity_type.name)
    )


async def accepted_updates(env, workflow_id: str) -> int:
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    return sum(1 for event in history.events if event.event_type == accepted)


async def refused_update(handle, name: str, payload: object = None) -> str:
    """The refusal code of an Update its validator rejected."""
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        if payload is None:
            await handle.execute_update(name)
        else:
            await handle.execute_update(name, payload)
    cause = rejected.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NotVouched"
    return cause.message.partition(":")[0]


async def test_forged_decision_signals_are_dropped_and_run_nothing(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    handle = ts.env.client.get_workflow_handle(workflow_id)
    before = await scheduled(ts.env, workflow_id)
    now = await ts.env.get_current_time()
    message = "review_decision"
    forgeries = [
        decision(),  # the raw client, as in the issue: whatever name the payload carries
        signed(decision(), workflow_id, message, signer=ROGUE, now=now),
        signed(decision(), workflow_id, message, signer=IMPOSTOR, now=now),
        # The edge vouched for admin_centre; the payload names the hospital's admin.
        signed(decision(), workflow_id, message, actor="admin_centre", now=now),
        signed(decision(), workflow_id, message, round=2, now=now),
        signed(decision(), workflow_id, "decide", now=now),
        signed(decision(), workflow_id + "0", message, now=now),
        # Signed three days ago: past even the grace a late signal has.
        signed(decision(), workflow_id, message, now=now - timedelta(days=3)),
    ]
    for forged in forgeries:
        await handle.signal(message, forged)
    # Nor may anyone but the applicant withdraw.
    await handle.signal("withdraw", Withdrawal())
    await handle.signal("withdraw", signed(Withdrawal(), workflow_id, "withdraw", now=now))

    # A query is answered after the signals before it were handled.
    status = await ts.client.status(workflow_id)
    assert status.stage == Stage.AWAITING_REVIEW
    assert [e.kind for e in status.history if e.kind in ("decision", "refused_decision")] == []
    assert await scheduled(ts.env, workflow_id) == before
    assert await count(ts.app, Account, Account.username == "zhangsan1990") == 0
    assert await count(ts.app, AuditEvent, AuditEvent.kind.in_(("decision", "withdrawal"))) == 0

    # The reviewer the edge authenticated, by the same signal: it counts.
    await ts.client.send_decision(workflow_id, decision())
    assert (await ts.client.result(workflow_id)).stage == Stage.COMPLETED
    assert await scheduled(ts.env, workflow_id, "authorize_decision") == 1
    await ts.keep_history(workflow_id, "signed_decision")


async def test_a_signed_decision_names_who_decides_and_the_review_rule_still_applies(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    # Vouched for, but the admin of another unit: authorize_decision refuses, and audits it.
    refused = await ts.client.decide(workflow_id, reviewer_id="admin_centre", approve=True)
    assert (refused.accepted, refused.code) == (False, "reviewer.not_authorized")
    assert await scheduled(ts.env, workflow_id, "authorize_decision") == 1
    refusals = AuditEvent.kind == "refused_decision", AuditEvent.actor == "admin_centre"
    assert await count(ts.app, AuditEvent, *refusals) == 1
    assert (await ts.client.status(workflow_id)).stage == Stage.AWAITING_REVIEW
    approved = await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert approved.accepted
    assert (await ts.client.result(workflow_id)).stage == Stage.COMPLETED


async def test_every_update_refuses_a_forgery_before_anything_reaches_history(dev) -> None:
    workflow_id = await dev.client.start(request())
    await reach(dev.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(dev.app.sessions, APPLICANTS[0].phone)
    handle = dev.env.client.get_workflow_handle(workflow_id)
    now = await dev.env.get_current_time()

    # The right SMS code, but not from the applicant's session: the phone stays unverified.
    answer = PhoneCodeAnswer(code=code)
    assert await refused_update(handle, "submit_phone_code", answer) == "assertion.missing"
    as_staff = signed(answer, workflow_id, "submit_phone_code", now=now)
    assert await refused_update(handle, "submit_phone_code", as_staff) == (
        "assertion.wrong_actor_kind"
    )
    # Another registration's session.
    other = applicant_actor(workflow_id + "0")
    elsewhere = from_applicant(answer, workflow_id, "submit_phone_code", actor=other, now=now)
    assert await refused_update(handle, "submit_phone_code", elsewhere) == "assertion.wrong_actor"
    # An Update is checked when it arrives: no grace.
    stale = from_applicant(answer, workflow_id, "submit_phone_code", now=now - timedelta(minutes=6))
    assert await refused_update(handle, "submit_phone_code", stale) == "assertion.expired"

    # The check comes before the stage's: a forgery learns nothing of where the registration is.
    forged = {
        "resend_phone_code": None,
        "sign": Signature(application_digest="0" * 64, signature_ref="pad"),
        "decide": decision(),
        "nudge": Vouched(),
        "resubmit": Resubmission(request=request()),
    }
    for name, payload in forged.items():
        assert await refused_update(handle, name, payload) == "assertion.missing", name
    rogue = signed(decision(), workflow_id, "decide", signer=ROGUE, now=now)
    assert await refused_update(handle, "decide", rogue) == "assertion.unknown_key"

    assert (await dev.client.status(workflow_id)).stage == Stage.AWAITING_PHONE_CODE
    assert await accepted_updates(dev.env, workflow_id) == 0
    assert await scheduled(dev.env, workflow_id, "check_phone_code") == 0
    sms = OutboxMessage.channel == "sms", OutboxMessage.recipient_hmac == APPLICANTS[0].phone
    assert await count(dev.app, OutboxMessage, *sms) == 1  # no resend

    assert (await dev.client.submit_phone_code(workflow_id, code)).outcome == "accepted"
    assert await accepted_updates(dev.env, workflow_id) == 1


async def test_a_correction_and_a_withdrawal_come_from_the_applicant_only(dev) -> None:
    workflow_id = await start_and_verify_phone(dev)
    await reach(dev.client, workflow_id, Stage.AWAITING_REVIEW)
    rejected = await dev.client.decide(
        workflow_id, reviewer_id="admin_hospital", approve=False, reason=RejectionReason.OTHER
    )
    assert rejected.accepted
    await reach(dev.client, workflow_id, Stage.AWAITING_CORRECTION)
    handle = dev.env.client.get_workflow_handle(workflow_id)
    now = await dev.env.get_current_time()
    accepted = await accepted_updates(dev.env, workflow_id)

    corrected = Resubmission(request=request(email="zhangsan@hospital.example.cn"))
    assert await refused_update(handle, "resubmit", corrected) == "assertion.missing"
    # Vouched for the reviewer: only the applicant corrects.
    as_reviewer = signed(corrected, workflow_id, "resubmit", now=now)
    assert await refused_update(handle, "resubmit", as_reviewer) == "assertion.wrong_actor_kind"
    await handle.signal("withdraw", signed(Withdrawal(), workflow_id, "withdraw", now=now))
    await handle.signal("withdraw", Withdrawal(reason="forged"))

    status = await dev.client.status(workflow_id)
    assert (status.stage, status.round) == (Stage.AWAITING_CORRECTION, 1)
    assert await accepted_updates(dev.env, workflow_id) == accepted
    assert await count(dev.app, AuditEvent, AuditEvent.kind == "withdrawal") == 0

    # The applicant's own withdrawal, read a few hours late (no worker ran): it still counts.
    late = from_applicant(Withdrawal(), workflow_id, "withdraw", now=now - timedelta(hours=6))
    await handle.signal("withdraw", late)
    assert (await dev.client.result(workflow_id)).stage == Stage.WITHDRAWN


async def test_a_continuation_from_outside_fails_at_once(ts) -> None:
    forged = request()
    workflow_id = ts.client.workflow_id(forged.id_number)
    # It claims the phone verified and the application signed, to skip both steps.
    carried = CarriedState(round=1, verified_phone=forged.phone, signed_digest="0" * 64)
    handle = await ts.env.client.start_workflow(
        WORKFLOW_TYPE,
        RegistrationInput(Continuation(request=forged, carried=carried)),
        id=workflow_id,
        task_queue=ts.app.settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ForgedContinuation"
    assert cause.non_retryable
    assert await scheduled(ts.env, workflow_id) == 0
    assert await count(ts.app, OutboxMessage) == 0


async def test_a_dropped_signal_is_counted_by_message_and_code(time_env, app) -> None:
    buffer = MetricBuffer(10_000)
    metered = await Client.connect(
        time_env.client.service_client.config.target_host,
        data_converter=converter(),
        runtime=Runtime(telemetry=TelemetryConfig(metrics=buffer)),
    )
    client = registration_client(time_env, app, TIME_SKIPPING_TTL)
    seen: list[dict[str, object]] = []

    async def counted() -> bool:
        seen.extend(
            dict(u.attributes)
            for u in buffer.retrieve_updates()
            if u.metric.name == "jshr_forged_messages"
        )
        return bool(seen)

    async with build_worker(metered, app.settings, app.sessions):
        workflow_id = await client.start(request())
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        handle = time_env.client.get_workflow_handle(workflow_id)
        await handle.signal("withdraw", Withdrawal())
        await eventually(counted)
        await handle.terminate("test finished")
    assert seen[0]["message"] == "withdraw" and seen[0]["code"] == "assertion.missing"


def test_every_message_of_every_workflow_says_who_may_send_it() -> None:
    for cls in (RegistrationWorkflow, PermissionChangeWorkflow, PermissionRevokeWorkflow):
        definition = workflow._Definition.must_from_class(cls)
        messages = set(definition.signals) | set(definition.updates)
        assert messages == set(getattr(cls, "SENDERS", {})), cls.__name__
        # Validators are where Updates are checked: one without would go unchecked.
        assert all(update.validator for update in definition.updates.values()), cls.__name__
    assert PermissionChangeWorkflow.STARTED_BY[0] == "request"
    assert PermissionRevokeWorkflow.STARTED_BY[0] == "revoke"


def test_only_the_latest_answers_are_kept() -> None:
    answers: dict[str, int | None] = {f"d{i}": i for i in range(60)}
    answers["pending"] = None
    keep_last(answers, 50)
    assert list(answers) == [f"d{i}" for i in range(10, 60)] + ["pending"]
