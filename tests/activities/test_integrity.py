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

from activities.phone import PhoneActivities
from activities.review import ReviewActivities
from domain.contracts.internal import (
    AuditInput,
    AuthorizeDecisionInput,
    CheckPhoneCodeInput,
    SendPhoneCodeInput,
)
from domain.contracts.registration import PhoneCodeOutcome, ReviewDecision, Stage
from domain.roles import Role
from notify.outbox import Notifier
from store.models import AuditEvent, PhoneCode
from store.seed import PEOPLE_HOSPITAL
from testkit import count, outbox

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
