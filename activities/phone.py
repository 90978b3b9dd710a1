"""Phone verification: a 6-digit SMS code, kept only as an HMAC, with expiry and attempts."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities.base import StoreActivities
from domain import texts
from domain.contracts.internal import CheckPhoneCodeInput, SendPhoneCodeInput, SendPhoneCodeResult
from domain.contracts.registration import PhoneCodeOutcome, PhoneCodeResult
from domain.keys import keyed_hash
from store.models import PhoneCode, PhoneCodeAnswer


class PhoneActivities(StoreActivities):
    def _code_hmac(self, registration_id: str, code: str) -> str:
        return keyed_hash(self._settings.phone_code_secret, f"{registration_id}:{code}")

    @activity.defn(name="send_phone_code")
    async def send_phone_code(self, inp: SendPhoneCodeInput) -> SendPhoneCodeResult:
        """Generate, store (hashed) and text a new code. Idempotency key: `inp.idempotency_key`.

        The code row and its SMS are written in one transaction, so a retry after a crash finds
        both or neither: never a stored code whose SMS was lost, never two SMS for one key.
        """
        settings = self._settings
        async with self._sessions.begin() as session:
            # One look answers all three: a retry finds its own code among the phone's last
            # hour (same input, so same phone and `sent_at` = `inp.at`), a new send its limits
            # there, and whether this registration has a live code the new one must replace.
            same_phone = PhoneCode.phone == inp.phone
            sent = (
                await session.execute(
                    select(
                        PhoneCode.idempotency_key,
                        PhoneCode.sent_at,
                        PhoneCode.registration_id,
                        PhoneCode.used,
                        same_phone.label("same_phone"),
                    )
                    .where(
                        or_(
                            and_(same_phone, PhoneCode.sent_at > inp.at - _HOUR),
                            and_(PhoneCode.registration_id == inp.registration_id, ~PhoneCode.used),
                        )
                    )
                    .order_by(PhoneCode.sent_at)
                )
            ).all()
            if any(row.idempotency_key == inp.idempotency_key for row in sent):
                # A retry: the code and its SMS were committed; make sure the SMS went out.
                await self._notifier.deliver([f"{inp.idempotency_key}/sms"])
                return SendPhoneCodeResult(sent=True)
            recent = [
                row.sent_at for row in sent if row.same_phone and row.sent_at > inp.at - _HOUR
            ]
            cooldown = timedelta(seconds=settings.phone_code_resend_cooldown_seconds)
            if recent and recent[-1] + cooldown > inp.at:
                return SendPhoneCodeResult(
                    sent=False, retry_after_seconds=_seconds(recent[-1] + cooldown - inp.at)
                )
            if len(recent) >= settings.phone_code_hourly_cap:
                return SendPhoneCodeResult(
                    sent=False, retry_after_seconds=_seconds(recent[0] + _HOUR - inp.at)
                )
            if any(row.registration_id == inp.registration_id and not row.used for row in sent):
                # A new code replaces any earlier one of this registration.
                await session.execute(
                    update(PhoneCode)
                    .where(PhoneCode.registration_id == inp.registration_id, ~PhoneCode.used)
                    .values(used=True)
                )
            code = f"{secrets.randbelow(1_000_000):06d}"
            ttl_minutes = settings.phone_code_ttl_seconds // 60
            # Plain INSERT: a concurrent attempt of the same key fails on the primary key and
            # rolls back whole, its SMS with it.
            await session.execute(
                insert(PhoneCode).values(
                    idempotency_key=inp.idempotency_key,
                    registration_id=inp.registration_id,
                    phone=inp.phone,
                    code_hmac=self._code_hmac(inp.registration_id, code),
                    sent_at=inp.at,
                    expires_at=inp.at + timedelta(seconds=settings.phone_code_ttl_seconds),
                    attempts_left=settings.phone_code_max_attempts,
                    used=False,
                )
            )
            subject, body = texts.PHONE_CODE_SMS
            await self._notifier.queue(
                session,
                key=f"{inp.idempotency_key}/sms",
                channel="sms",
                recipient=inp.phone,
                subject=subject,
                body=body.format(code=code, minutes=ttl_minutes),
            )
        await self._notifier.deliver([f"{inp.idempotency_key}/sms"])
        return SendPhoneCodeResult(sent=True)

    @activity.defn(name="check_phone_code")
    async def check_phone_code(self, inp: CheckPhoneCodeInput) -> PhoneCodeResult:
        """Compare the answer with the registration's current code, spending one attempt.

        Idempotency key: `inp.idempotency_key` (the Update's ID). An attempt that committed and
        then timed out is retried; the retry finds the answer recorded with the change and
        returns it, where it would otherwise see the code used and answer "expired".

        Attempts are spent by a conditional UPDATE (`attempts_left > 0`), which every database
        serializes on the row: on SQLite `SELECT ... FOR UPDATE` is a no-op, and concurrent
        guesses read the same count and each wrote it back less one.
        """
        key = inp.idempotency_key
        try:
            async with self._sessions.begin() as session:
                if key and (answered := await _answered(session, key)) is not None:
                    return answered
                outcome, attempts_left = await self._spend(session, inp)
                if key:
                    # Plain INSERT: a twin attempt that answered first fails it (below).
                    await session.execute(
                        insert(PhoneCodeAnswer).values(
                            idempotency_key=key,
                            outcome=outcome.value,
                            attempts_left=attempts_left,
                            at=inp.at,
                        )
                    )
        except IntegrityError:
            # Two attempts of one Update at once: the other recorded its answer first.
            async with self._sessions() as session:
                answered = await _answered(session, key)
            if answered is None:
                raise
            return answered
        return _result(outcome, attempts_left)

    async def _spend(
        self, session: AsyncSession, inp: CheckPhoneCodeInput
    ) -> tuple[PhoneCodeOutcome, int | None]:
        # The latest code, used or not: one locked by a concurrent guess answers "locked".
        row = (
            await session.execute(
                select(
                    PhoneCode.idempotency_key,
                    PhoneCode.code_hmac,
                    PhoneCode.expires_at,
                    PhoneCode.attempts_left,
                    PhoneCode.used,
                )
                .where(PhoneCode.registration_id == inp.registration_id)
                .order_by(PhoneCode.sent_at.desc())
                .limit(1)
            )
        ).first()
        if row is not None and row.used and row.attempts_left <= 0:
            return PhoneCodeOutcome.LOCKED, None
        if row is None or row.used or row.expires_at <= inp.at:
            return PhoneCodeOutcome.EXPIRED, None
        live = (
            PhoneCode.idempotency_key == row.idempotency_key,
            ~PhoneCode.used,
            PhoneCode.attempts_left > 0,
        )
        if hmac.compare_digest(row.code_hmac, self._code_hmac(inp.registration_id, inp.code)):
            taken = await session.execute(
                update(PhoneCode).where(*live).values(used=True).returning(PhoneCode.used)
            )
            if taken.first() is None:  # a concurrent guess locked it, or a twin accepted it
                return PhoneCodeOutcome.EXPIRED, None
            return PhoneCodeOutcome.ACCEPTED, None
        spent = await session.execute(
            update(PhoneCode)
            .where(*live)
            .values(attempts_left=PhoneCode.attempts_left - 1)
            .returning(PhoneCode.attempts_left)
        )
        left = spent.scalar()
        if left is None:  # concurrent guesses spent the last attempt
            return PhoneCodeOutcome.LOCKED, None
        if left <= 0:
            await session.execute(
                update(PhoneCode)
                .where(PhoneCode.idempotency_key == row.idempotency_key)
                .values(used=True)
            )
            return PhoneCodeOutcome.LOCKED, None
        return PhoneCodeOutcome.WRONG, left


async def _answered(session: AsyncSession, key: str) -> PhoneCodeResult | None:
    """The answer an attempt of this Update recorded, if one did."""
    answered = (
        await session.execute(
            select(PhoneCodeAnswer.outcome, PhoneCodeAnswer.attempts_left).where(
                PhoneCodeAnswer.idempotency_key == key
            )
        )
    ).first()
    if answered is None:
        return None
    return _result(PhoneCodeOutcome(answered.outcome), answered.attempts_left)


def _result(outcome: PhoneCodeOutcome, attempts_left: int | None) -> PhoneCodeResult:
    message = {
        PhoneCodeOutcome.ACCEPTED: texts.PHONE_CODE_ACCEPTED,
        PhoneCodeOutcome.EXPIRED: texts.PHONE_CODE_EXPIRED,
        PhoneCodeOutcome.LOCKED: texts.PHONE_CODE_LOCKED,
    }.get(outcome)
    if outcome == PhoneCodeOutcome.WRONG:
        return PhoneCodeResult(
            outcome=outcome,
            attempts_left=attempts_left or 0,
            message_zh=texts.PHONE_CODE_WRONG.format(attempts=attempts_left),
        )
    assert message is not None
    return PhoneCodeResult(outcome=outcome, message_zh=message)


_HOUR = timedelta(hours=1)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))
