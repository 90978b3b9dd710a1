"""Activities under concurrency and retries: nothing counted twice, nothing lost.

Each test calls the activity methods directly, on the real SQLite file of the `app` fixture, the
way Temporal calls them when attempts overlap or a committed attempt is retried.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from activities.accounts import AccountActivities
from activities.phone import PhoneActivities
from activities.review import ReviewActivities
from domain.contracts.internal import (
    AssignRoleInput,
    AuditInput,
    AuthorizeDecisionInput,
    CheckPhoneCodeInput,
    Reminder,
    ReminderInput,
    SendPhoneCodeInput,
)
from domain.contracts.registration import PhoneCodeOutcome, ReviewDecision, Stage
from domain.keys import applicant_key
from domain.roles import Role
from notify.outbox import Notifier
from store.models import Account, AuditEvent, GrantHistory, OutboxMessage, PhoneCode
from store.seed import APPLICANTS, PEOPLE_HOSPITAL
from testkit import count, outbox, request

pytestmark = pytest.mark.asyncio

AT = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


async def _sent_code(app) -> tuple[PhoneActivities, str, str]:
    """A code sent for a registration of its own (tests/store reruns these on a shared
    PostgreSQL database): the activities, the registration ID and the code."""
    registration = f"registration-{uuid.uuid4().hex}/run-1"
    number = f"139{secrets.randbelow(10**8):08d}"
    phone = PhoneActivities(app.sessions, app.settings, Notifier(app.sessions, app.settings))
    sent = await phone.send_phone_code(
        SendPhoneCodeInput(
            registration_id=registration,
            phone=number,
            idempotency_key=f"{registration}/phone-code-1",
            at=AT,
        )
    )
    assert sent.sent
    (sms,) = await outbox(app, number, "sms")
    match = re.search(r"\d{6}", sms.body)
    assert match is not None
    return phone, registration, match.group()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_concurrent_wrong_guesses_spend_one_attempt_each_and_lock(app) -> None:
    phone, registration, code = await _sent_code(app)
    guesses = [
        CheckPhoneCodeInput(
            registration_id=registration,
            code=_wrong(code),
            at=AT + timedelta(seconds=1),
            idempotency_key=f"{registration}/update-{n}",
        )
        for n in range(10)
    ]
    answers = await asyncio.gather(*(phone.check_phone_code(g) for g in guesses))
    outcomes = [a.outcome for a in answers]
    allowed = app.settings.phone_code_max_attempts
    assert outcomes.count(PhoneCodeOutcome.WRONG) == allowed - 1
    assert outcomes.count(PhoneCodeOutcome.LOCKED) == 10 - (allowed - 1)
    async with app.sessions() as session:
        row = await session.scalar(
            select(PhoneCode).where(PhoneCode.registration_id == registration)
        )
    assert row is not None and row.attempts_left == 0 and row.used
    late = await phone.check_phone_code(
        CheckPhoneCodeInput(registration_id=registration, code=code, at=AT + timedelta(seconds=2))
    )
    assert late.outcome == PhoneCodeOutcome.LOCKED  # the right code, too late: ask for a new one


async def test_a_retried_check_answers_what_its_first_attempt_did(app) -> None:
    phone, registration, code = await _sent_code(app)
    check = CheckPhoneCodeInput(
        registration_id=registration,
        code=code,
        at=AT + timedelta(seconds=1),
        idempotency_key=f"{registration}/update-1",
    )
    first = await phone.check_phone_code(check)
    retried = await phone.check_phone_code(check)
    assert first.outcome == retried.outcome == PhoneCodeOutcome.ACCEPTED
    wrong = check.model_copy(update={"code": _wrong(code), "idempotency_key": "other/update-2"})
    assert (await phone.check_phone_code(wrong)).outcome == PhoneCodeOutcome.EXPIRED


async def test_a_retried_wrong_guess_spends_one_attempt(app) -> None:
    phone, registration, code = await _sent_code(app)
    check = CheckPhoneCodeInput(
        registration_id=registration,
        code=_wrong(code),
        at=AT + timedelta(seconds=1),
        idempotency_key=f"{registration}/update-1",
    )
    first = await phone.check_phone_code(check)
    retried = await phone.check_phone_code(check)
    assert first == retried
    assert first.attempts_left == app.settings.phone_code_max_attempts - 1


async def test_a_retried_authorization_writes_one_audit_row(app) -> None:
    registration = f"registration-{uuid.uuid4().hex}/run-1"
    review = ReviewActivities(app.sessions, app.settings, Notifier(app.sessions, app.settings))
    check = AuthorizeDecisionInput(
        registration_id=registration,
        applicant_key="k" * 64,
        unit_code=PEOPLE_HOSPITAL[0],
        requested_role=Role.USER,
        stage=Stage.AWAITING_REVIEW,
        decision=ReviewDecision(decision_id="d-1", reviewer_id="admin_hospital", approve=True),
        at=AT,
    )
    first, retried = [await review.authorize_decision(check) for _ in range(2)]
    assert first == retried and first.allowed
    withdrawal = AuditInput(
        registration_id=registration, kind="withdrawal", actor="applicant", outcome="x", at=AT
    )
    for _ in range(2):
        await review.record_audit(withdrawal)
    assert await count(app, AuditEvent, AuditEvent.registration_id == registration) == 2


async def test_a_retried_send_texts_once_and_a_resend_replaces_the_code(app) -> None:
    phone, registration, first_code = await _sent_code(app)
    number = (await outbox(app))[-1].recipient
    retry = SendPhoneCodeInput(
        registration_id=registration,
        phone=number,
        idempotency_key=f"{registration}/phone-code-1",
        at=AT,
    )
    assert (await phone.send_phone_code(retry)).sent
    assert len(await outbox(app, number, "sms")) == 1
    assert await count(app, PhoneCode, PhoneCode.registration_id == registration) == 1
    later = AT + timedelta(seconds=app.settings.phone_code_resend_cooldown_seconds + 1)
    resend = retry.model_copy(
        update={"idempotency_key": f"{registration}/phone-code-2", "at": later}
    )
    assert (await phone.send_phone_code(resend)).sent
    messages = await outbox(app, number, "sms")
    assert len(messages) == 2 and all(m.delivered_at is not None for m in messages)
    match = re.search(r"\d{6}", messages[-1].body)
    assert match is not None
    second_code = match.group()
    if second_code != first_code:  # one in a million: the same six digits again
        stale = CheckPhoneCodeInput(registration_id=registration, code=first_code, at=later)
        assert (await phone.check_phone_code(stale)).outcome == PhoneCodeOutcome.WRONG
    fresh = CheckPhoneCodeInput(registration_id=registration, code=second_code, at=later)
    assert (await phone.check_phone_code(fresh)).outcome == PhoneCodeOutcome.ACCEPTED
    async with app.sessions() as session:
        used = list(
            await session.scalars(
                select(PhoneCode.used)
                .where(PhoneCode.registration_id == registration)
                .order_by(PhoneCode.sent_at)
            )
        )
    assert used == [True, True]


async def test_retried_and_concurrent_provisioning_makes_one_account(app) -> None:
    registration = f"registration-{uuid.uuid4().hex}/run-1"
    applicant = request(
        APPLICANTS[1],
        username=f"u{secrets.token_hex(6)}",
        phone=f"139{secrets.randbelow(10**8):08d}",
    )
    accounts = AccountActivities(app.sessions, app.settings, Notifier(app.sessions, app.settings))
    provision = AssignRoleInput(
        registration_id=registration,
        applicant_key=applicant_key(app.settings.applicant_key_secret, applicant.id_number),
        request=applicant,
        approved_by="admin_hospital",
        at=AT,
    )
    made = await asyncio.gather(*(accounts.assign_role(provision) for _ in range(3)))
    made.append(await accounts.assign_role(provision))
    assert all(account == made[0] for account in made)
    assert made[0].username == applicant.username and made[0].role == Role.USER
    assert await count(app, Account, Account.registration_id == registration) == 1
    assert await count(app, GrantHistory, GrantHistory.username == applicant.username) == 1
    notices = await count(
        app, OutboxMessage, OutboxMessage.idempotency_key.startswith(registration)
    )
    assert notices == 2  # the approval, by SMS and by e-mail


async def test_a_retried_reminder_texts_and_audits_once(app) -> None:
    registration = f"registration-{uuid.uuid4().hex}/run-1"
    review = ReviewActivities(app.sessions, app.settings, Notifier(app.sessions, app.settings))
    remind = ReminderInput(
        registration_id=registration,
        idempotency_key=f"{registration}/round-1/new-application",
        reminder=Reminder(at=AT, label="new-application", tell_applicant=True),
        recipients=["admin_hospital"],
        applicant_phone="13900000000",
        round=1,
    )
    for _ in range(2):
        await review.send_reminder(remind)
    audited = await count(app, AuditEvent, AuditEvent.registration_id == registration)
    messages = await count(
        app, OutboxMessage, OutboxMessage.idempotency_key.startswith(registration)
    )
    assert (audited, messages) == (1, 3)  # the reviewer's SMS and e-mail, the applicant's SMS
