"""One-time SMS codes the edge sends itself: an admin's second factor, a returning applicant's
proof of phone. The code goes out through the same outbox as every other SMS; only its HMAC is
kept, with an expiry and a number of attempts.

A challenge is named by a random ID the client holds (a hidden field, the CLI's memory); a
challenge issued for nothing (no such registration) is stored too, and simply never succeeds,
so the answer and the next steps look the same either way.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from domain import texts
from edge.messages import EdgeRefused
from edge.sessions import SessionStore, token_hash
from notify.outbox import Notifier
from store.models import OneTimeCode

Purpose = Literal["staff_login", "applicant_session"]

_SMS = {"staff_login": texts.STAFF_LOGIN_SMS, "applicant_session": texts.APPLICANT_SESSION_SMS}
_CODE = re.compile(r"^\d{6}$")


class OneTimeCodes:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        store: SessionStore,
        notifier: Notifier,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._store = store
        self._notifier = notifier

    def _hmac(self, challenge: str, code: str) -> str:
        return self._store.keyed("one-time-code", f"{token_hash(challenge)}:{code}")

    @staticmethod
    def new_challenge() -> str:
        return secrets.token_urlsafe(24)

    async def issue(
        self,
        purpose: Purpose,
        subject: str | None,
        phone: str | None,
        *,
        challenge: str | None = None,
    ) -> str:
        """Store a new code for `subject` and text it to `phone`; returns the challenge ID (new,
        or the one given, which the client may have been told already).

        With `subject` None nothing is sent and the challenge can never be redeemed.
        """
        challenge = challenge or self.new_challenge()
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = self._store.clock()
        ttl = self._settings.one_time_code_ttl_seconds
        key = f"edge/{purpose}/{token_hash(challenge)[:32]}/sms"
        async with self._sessions.begin() as session:
            session.add(
                OneTimeCode(
                    challenge_hash=token_hash(challenge),
                    purpose=purpose,
                    subject=subject,
                    code_hmac=self._hmac(challenge, code),
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl),
                    attempts_left=self._settings.one_time_code_max_attempts,
                )
            )
            if subject is not None and phone is not None:
                await self._notifier.queue(
                    session,
                    key=key,
                    channel="sms",
                    recipient=phone,
                    subject=_SMS[purpose][0],
                    body=_SMS[purpose][1].format(code=code, minutes=max(1, ttl // 60)),
                )
        if subject is not None and phone is not None:
            await self._notifier.deliver([key])
        return challenge

    async def redeem(self, purpose: Purpose, challenge: str, code: str) -> str:
        """The subject the code was issued for, spending the code (or one attempt).

        Raises:
            EdgeRefused: `code.format`, `code.expired`, `code.wrong` (attempts left) or
                `code.locked`.
        """
        if not _CODE.match(code):
            raise EdgeRefused("code.format", fields=["code"])
        now = self._store.clock()
        async with self._sessions.begin() as session:
            row = await session.get(OneTimeCode, token_hash(challenge), with_for_update=True)
            if row is None or row.purpose != purpose or row.used or row.expires_at <= now:
                raise EdgeRefused("code.expired", fields=["code"])
            if row.subject is not None and hmac.compare_digest(
                row.code_hmac, self._hmac(challenge, code)
            ):
                # Spent by a conditional update: two answers at once cannot both succeed.
                spent = await session.execute(
                    update(OneTimeCode)
                    .where(OneTimeCode.challenge_hash == row.challenge_hash, ~OneTimeCode.used)
                    .values(used=True)
                )
                if not spent.rowcount:  # type: ignore[attr-defined]
                    raise EdgeRefused("code.expired", fields=["code"])
                return row.subject
            left = await session.execute(
                update(OneTimeCode)
                .where(
                    OneTimeCode.challenge_hash == row.challenge_hash,
                    OneTimeCode.attempts_left > 0,
                )
                .values(attempts_left=OneTimeCode.attempts_left - 1)
                .returning(OneTimeCode.attempts_left)
            )
            remaining = left.scalar()
            if not remaining:
                await session.execute(
                    update(OneTimeCode)
                    .where(OneTimeCode.challenge_hash == row.challenge_hash)
                    .values(used=True)
                )
                locked = True
            else:
                locked = False
        if locked:
            raise EdgeRefused("code.locked", fields=["code"])
        raise EdgeRefused(
            "code.wrong",
            fields=["code"],
            message_zh=texts.EDGE_CODE_WRONG.format(attempts=remaining),
        )
