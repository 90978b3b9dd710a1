"""RegistrationWorkflow on the time-skipping test server, with the real activities and database."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from devtools.demo import read_sms_code
from devtools.samples import make_card
from domain.contracts.base import ApplicationRefused
from domain.contracts.registration import PhoneCodeOutcome, RejectionReason, ReviewDecision, Stage
from domain.roles import Role
from edge.intake import build_request
from store.documents import LocalDocumentStore
from store.models import Account, AuditEvent, OutboxMessage, RegistrationEnd, Signature
from store.seed import APPLICANTS, DEMO_INVITATION, HEALTH_CENTRE
from testkit import TODAY, count, eventually, form, outbox, reach, request
from testkit.harness import start_and_verify_phone

pytestmark = pytest.mark.asyncio


async def test_happy_path_creates_one_account_and_one_approval_notice(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    status = await ts.client.status(workflow_id)
    assert status.reviewers == ["admin_hospital"]
    assert status.masked_name == "张*"

    decision = await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert decision.accepted

    outcome = await ts.client.result(workflow_id)
    assert outcome.stage == Stage.COMPLETED
    assert outcome.account is not None and outcome.account.role == Role.USER
    await ts.keep_history(workflow_id, "happy_path")
    assert await count(ts.app, Account, Account.username == "zhangsan1990") == 1
    approvals = [
        m for m in await outbox(ts.app, APPLICANTS[0].phone) if m.subject == "审核通过通知"
    ]
    assert len(approvals) == 1 and "zhangsan1990" in approvals[0].body


async def test_a_happy_path_history_upserts_only_changes_and_ends_with_the_account(ts) -> None:
    """Events are #17's budget (70 on the dev server, which `make bench` counts): search
    attributes given at the start are not upserted again, no upsert repeats a value already
    set, and the account's transaction records the end instead of an activity of its own."""
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert (await ts.client.result(workflow_id)).stage == Stage.COMPLETED
    await ts.keep_history(workflow_id, "happy_path_lean")

    events = (await ts.env.client.get_workflow_handle(workflow_id).fetch_history()).events
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "record_end" not in scheduled and scheduled[-1] == "assign_role"
    seen: dict[str, bytes] = {}
    for event in events:
        if event.HasField("upsert_workflow_search_attributes_event_attributes"):
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            for name, payload in fields.indexed_fields.items():
                assert seen.get(name) != payload.data, f"{name} upserted again unchanged"
                seen[name] = payload.data
    assert "RegistrationStage" in seen and "UnitCode" not in seen  # the start's own
    started = events[0].workflow_execution_started_event_attributes
    async with ts.app.sessions() as session:
        end = await session.get(RegistrationEnd, f"{workflow_id}/{started.first_execution_run_id}")
    assert end is not None and end.stage == Stage.COMPLETED.value


async def test_start_is_idempotent_for_the_same_applicant(ts) -> None:
    first = await ts.client.start(request())
    second = await ts.client.start(request())
    assert first == second
    await reach(ts.client, first, Stage.AWAITING_PHONE_CODE)
    assert len(await outbox(ts.app, APPLICANTS[0].phone, "sms")) == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"unit_code": "91320000MA1MXXXX0X"}, "unit_code.checksum"),
        ({"unit_code": HEALTH_CENTRE[0]}, "unit.name_mismatch"),
        ({"username": "admin_hospital"}, "username.taken"),
        ({"name": "张四"}, "identity.mismatch"),
        ({"id_number": APPLICANTS[0].id_number[:-1] + "0"}, "id_number.checksum"),
        ({"password": "short"}, "password.length"),
        ({"notice_version": "2025-01"}, "consent.outdated"),
    ],
)
async def test_bad_applications_start_nothing(ts, overrides, code) -> None:
    with pytest.raises(ApplicationRefused) as refused:
        await ts.client.start(request(**overrides))
    assert code in [r.code for r in refused.value.refusals]
    assert all(r.message_zh for r in refused.value.refusals)
    with pytest.raises(RPCError) as missing:
        await ts.env.client.get_workflow_handle(
            ts.client.workflow_id(APPLICANTS[0].id_number)
        ).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert await count(ts.app, OutboxMessage) == 0


async def test_wrong_code_counts_attempts_and_expired_code_is_refused(ts) -> None:
    workflow_id = await ts.client.start(request())
    await reach(ts.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(ts.app.sessions, APPLICANTS[0].phone)
    wrong = "000000" if code != "000000" else "111111"

    answer = await ts.client.submit_phone_code(workflow_id, wrong)
    assert answer.outcome == PhoneCodeOutcome.WRONG and answer.attempts_left == 4

    # A malformed payload, as a careless integrator might send it: rejected, the workflow lives.
    handle = ts.env.client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update("submit_phone_code", {"code": "12ab56"})

    await ts.env.sleep(timedelta(minutes=6))
    answer = await ts.client.submit_phone_code(workflow_id, code)
    assert answer.outcome == PhoneCodeOutcome.EXPIRED

    resend = await ts.client.resend_phone_code(workflow_id)
    assert resend.sent
    fresh = await read_sms_code(ts.app.sessions, APPLICANTS[0].phone)
    answer = await ts.client.submit_phone_code(workflow_id, fresh)
    assert answer.outcome == PhoneCodeOutcome.ACCEPTED
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)


async def test_resend_honours_the_cooldown(ts) -> None:
    workflow_id = await ts.client.start(request())
    await reach(ts.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    resend = await ts.client.resend_phone_code(workflow_id)
    assert not resend.sent and 0 < resend.retry_after_seconds <= 60
    assert len(await outbox(ts.app, APPLICANTS[0].phone, "sms")) == 1


async def test_reminders_and_escalation_fire_while_nobody_decides(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)

    # Skip from one reminder instant to the next (working days: how many calendar days that
    # is depends on the date the test server started at) until the escalation went out.
    for _ in range(3):
        status = await ts.client.status(workflow_id)
        assert status.next_reminder_at is not None
        await ts.env.sleep(status.next_reminder_at - await ts.env.get_current_time())
        await ts.env.sleep(timedelta(minutes=1))

    async def escalated() -> bool:
        return (await ts.client.status(workflow_id)).escalation_level == 1

    await eventually(escalated)
    labels = [e.outcome for e in (await _audit(ts.app)) if e.kind in ("reminder", "escalation")]
    assert labels[:4] == [
        "new application",
        "working-day 1 reminder",
        "working-day 2 reminder",
        "working-day 3 escalation",
    ]
    # Day 2 tells the applicant whom to contact; day 3 goes to the system admins.
    applicant_sms = [m.body for m in await outbox(ts.app, APPLICANTS[0].phone, "sms")]
    assert any("王建国" in body for body in applicant_sms)
    assert await outbox(ts.app, "13900000003", "sms")  # sysadmin's phone

    status = await ts.client.status(workflow_id)
    assert status.next_reminder_at is not None
    await ts.client.decide(workflow_id, reviewer_id="sysadmin", approve=True)
    assert (await ts.client.result(workflow_id)).stage == Stage.COMPLETED
    await ts.keep_history(workflow_id, "escalation")


async def test_two_rejections_loop_through_correction_and_still_complete(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    result = await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.INFORMATION_MISMATCH,
        fields=["email"],
        comment="请填写单位邮箱",
    )
    assert result.accepted
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    status = await ts.client.status(workflow_id)
    assert status.refusals[0].fields == ["email"]
    assert "信息不符" in status.refusals[0].message_zh

    resubmitted = await ts.client.resubmit(
        workflow_id, request(email="zhangsan@hospital.example.cn")
    )
    assert resubmitted.accepted and resubmitted.round == 2
    # The phone number did not change, so no second SMS code: straight back to review.
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    status = await ts.client.status(workflow_id)
    assert status.round == 2 and status.changed_fields == ["email"]

    # A second rejection, a new phone number this time: the new number is verified again.
    await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.OTHER,
        fields=["phone"],
    )
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    corrected = request(email="zhangsan@hospital.example.cn", phone="13700000009")
    assert (await ts.client.resubmit(workflow_id, corrected)).round == 3
    await reach(ts.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(ts.app.sessions, "13700000009")
    assert (await ts.client.submit_phone_code(workflow_id, code)).outcome == "accepted"
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    assert (await ts.client.status(workflow_id)).changed_fields == ["phone"]

    await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    outcome = await ts.client.result(workflow_id)
    assert outcome.stage == Stage.COMPLETED
    async with ts.app.sessions() as session:
        account = await session.get(Account, "zhangsan1990")
    assert account is not None and account.email == "zhangsan@hospital.example.cn"
    assert account.phone == "13700000009"
    await ts.keep_history(workflow_id, "two_rejection_rounds")


async def test_final_rejection_ends_the_registration(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.NOT_AN_EMPLOYEE,
    )
    assert (await ts.client.result(workflow_id)).stage == Stage.REJECTED_FINAL
    assert await count(ts.app, Account, Account.username == "zhangsan1990") == 0


async def test_withdraw_while_waiting_for_review(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    await ts.client.withdraw(workflow_id, "changed my mind")
    assert (await ts.client.result(workflow_id)).stage == Stage.WITHDRAWN
    assert [e.kind for e in await _audit(ts.app)][-1] == "withdrawal"
    await ts.keep_history(workflow_id, "withdrawal")


async def test_correction_window_expires(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.MATERIALS_INCOMPLETE,
    )
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    # Skip past the 30-day window first: a single result() long-poll across that much skipped
    # time comes back empty from the test server.
    await ts.env.sleep(timedelta(days=31))
    assert (await ts.client.result(workflow_id)).stage == Stage.EXPIRED
    expired = [m for m in await outbox(ts.app, APPLICANTS[0].phone, "sms") if "过期" in m.body]
    assert len(expired) == 1
    await ts.keep_history(workflow_id, "expiry")


async def test_decisions_that_do_not_count_change_nothing_and_are_audited(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)

    other_unit = await ts.client.decide(workflow_id, reviewer_id="admin_centre", approve=True)
    unknown = await ts.client.decide(workflow_id, reviewer_id="nobody", approve=True)
    assert (other_unit.code, unknown.code) == ("reviewer.not_authorized", "reviewer.inactive")
    assert (await ts.client.status(workflow_id)).stage == Stage.AWAITING_REVIEW

    # A malformed signal is dropped; the workflow carries on.
    handle = ts.env.client.get_workflow_handle(workflow_id)
    await handle.signal("review_decision", {"reviewer_id": "admin_hospital", "approve": "maybe"})

    first = await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.OTHER,
        decision_id="d-1",
    )
    again = await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.OTHER,
        decision_id="d-1",
    )
    assert first == again and first.accepted
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    kinds = [(e.kind, e.actor) for e in await _audit(ts.app)]
    assert ("refused_decision", "admin_centre") in kinds
    assert ("refused_decision", "nobody") in kinds
    assert kinds.count(("decision", "admin_hospital")) == 1

    with pytest.raises(ValueError):
        ReviewDecision(decision_id="x", reviewer_id="admin_hospital", approve=False)
    await ts.client.withdraw(workflow_id)
    assert (await ts.client.result(workflow_id)).stage == Stage.WITHDRAWN


async def test_nudge_reminds_once_a_day(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    first = await ts.client.nudge(workflow_id)
    second = await ts.client.nudge(workflow_id)
    assert first.sent and not second.sent
    assert second.next_allowed_at is not None
    nudges = [e for e in await _audit(ts.app) if e.outcome.startswith("nudge")]
    assert len(nudges) == 1
    await ts.client.withdraw(workflow_id)
    await ts.client.result(workflow_id)


async def test_unit_admin_application_needs_signature_and_a_system_admin(ts) -> None:
    person = APPLICANTS[1]
    workflow_id = await start_and_verify_phone(
        ts,
        person,
        requested_role=Role.UNIT_ADMIN,
        invitation_code=DEMO_INVITATION,
        unit_code=HEALTH_CENTRE[0],
        unit_name=HEALTH_CENTRE[1],
    )
    await reach(ts.client, workflow_id, Stage.AWAITING_SIGNATURE)
    handle = ts.env.client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "sign", {"application_digest": "0" * 64, "signature_ref": "pad"}
        )
    assert (await ts.client.sign(workflow_id, "pad-1")).accepted
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    assert (await ts.client.status(workflow_id)).reviewers == ["sysadmin"]
    refused = await ts.client.decide(workflow_id, reviewer_id="admin_centre", approve=True)
    assert not refused.accepted
    await ts.client.decide(workflow_id, reviewer_id="sysadmin", approve=True)
    outcome = await ts.client.result(workflow_id)
    assert outcome.account is not None and outcome.account.role == Role.UNIT_ADMIN
    assert await count(ts.app, Signature) == 1
    await ts.keep_history(workflow_id, "unit_admin_signature")


async def _audit(app) -> list[AuditEvent]:
    async with app.sessions() as session:
        return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@pytest.mark.parametrize("case", ["inactive", "is_applicant"])
async def test_an_admin_who_may_not_decide_is_refused(ts, case) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    async with ts.app.sessions.begin() as session:
        admin = await session.get(Account, "admin_hospital")
        assert admin is not None
        if case == "inactive":
            admin.active = False
        else:  # the admin's own registration, in effect
            admin.applicant_key = workflow_id.removeprefix("registration-")
    result = await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    expected = {"inactive": "reviewer.inactive", "is_applicant": "reviewer.is_applicant"}[case]
    assert (result.accepted, result.code) == (False, expected)
    assert (await ts.client.status(workflow_id)).stage == Stage.AWAITING_REVIEW
    await ts.client.withdraw(workflow_id)
    await ts.client.result(workflow_id)


def other_photo(side: str) -> bytes:
    """A photo no other test stores: the same card drawn at another size."""
    out = io.BytesIO()
    make_card(size=(1100, 693), side=side).save(out, "JPEG", quality=90)
    return out.getvalue()


async def test_a_refused_correction_writes_no_photo_an_accepted_one_does(ts) -> None:
    """Photos of a correction are stored only once the `resubmit` Update was accepted."""
    workflow_id = await start_and_verify_phone(ts)
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    front, back = (other_photo(side) for side in ("front", "back"))
    corrected = build_request(form(id_card_front=front, id_card_back=back), today=TODAY)
    documents = LocalDocumentStore(ts.app.settings.document_dir)
    refs = list(corrected.documents)

    with pytest.raises(WorkflowUpdateFailedError):  # not awaiting a correction
        await ts.client.resubmit(workflow_id, corrected.request, corrected.documents)
    assert [await documents.exists(ref) for ref in refs] == [False, False]

    await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.PHOTO_UNCLEAR,
        fields=["id_card_front"],
    )
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    assert (
        await ts.client.resubmit(workflow_id, corrected.request, corrected.documents)
    ).round == 2
    assert [await documents.exists(ref) for ref in refs] == [True, True]
    # The verification found them: the correction goes on to review, not back to correction.
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
