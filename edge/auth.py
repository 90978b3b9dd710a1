"""Staff log in: username and password against the accounts table, throttled per account and per
address, with an SMS second factor for admins where the settings ask for one.

An unknown username, a wrong password and a deactivated account get the same answer in about the
same time: the password is checked against a dummy hash when there is no account to check it
against.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from domain import passwords, rules
from domain.roles import Role
from edge.codes import OneTimeCodes
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.sessions import OpenSession, SessionStore
from edge.throttle import Throttle
from store.crypto import DataCipher, DataKeyError
from store.models import Account

log = logging.getLogger(__name__)

ADMIN_ROLES = frozenset({Role.UNIT_ADMIN.value, Role.SYSTEM_ADMIN.value})


@dataclass(frozen=True)
class Login:
    """A new staff session; with `challenge`, it still owes the SMS code sent to `masked_phone`."""

    token: str
    session: OpenSession
    challenge: str | None = None
    masked_phone: str | None = None


class StaffAuth:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        store: SessionStore,
        codes: OneTimeCodes,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._store = store
        self._codes = codes
        self._throttle = Throttle(sessions, settings, store)
        self._hasher = passwords.hasher()
        self._dummy = self._hasher.hash("no account has this password")

    async def _verify(self, password_hash: str, password: str) -> bool:
        # Argon2 is CPU-bound and takes tens of milliseconds: off the event loop.
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def login(self, username: str, password: str, *, address: str) -> Login:
        """Check the password and open a session.

        Raises:
            EdgeRefused: `auth.throttled` (with retry_after) or `auth.invalid_credentials`.
        """
        name = username.strip().lower()
        keys = [self._throttle.key("account", name), self._throttle.key("address", address)]
        if wait := await self._throttle.retry_after(keys):
            refused("auth.throttled")
            raise EdgeRefused("auth.throttled", retry_after=wait)
        async with self._sessions() as session:
            account = await session.get(Account, name) if name else None
        ok = await self._verify(account.password_hash if account else self._dummy, password)
        if account is None or not ok or not account.active:
            await self._throttle.failed(keys)
            refused("auth.invalid_credentials")
            raise EdgeRefused("auth.invalid_credentials")
        await self._throttle.clear(keys[0])
        if self._settings.second_factor_required and account.role in ADMIN_ROLES:
            token, opened = await self._store.create("staff", account.username, pending_factor=True)
            challenge = await self._codes.issue("staff_login", opened.token_hash, account.phone)
            return Login(token, opened, challenge, rules.mask_phone(account.phone))
        token, opened = await self._store.create("staff", account.username)
        log.info("staff login role=%s", account.role)
        return Login(token, opened)

    async def second_factor(self, session: OpenSession, challenge: str, code: str) -> None:
        """Answer the SMS code of a pending login; the session is then a full one.

        Raises:
            EdgeRefused: the code's refusal; after the last attempt the login is ended too.
        """
        try:
            subject = await self._codes.redeem("staff_login", challenge, code)
        except EdgeRefused as exc:
            refused(exc.code)
            if exc.code == "code.locked":
                await self._store.end(session.token_hash, "second_factor")
            raise
        if subject != session.token_hash:
            refused("code.expired")
            raise EdgeRefused("code.expired", fields=["code"])
        await self._store.confirm_factor(session.token_hash)

    def _birth_date(self, account: Account) -> date | None:
        """From the stored ID number, when the data key opens it (the policy refuses it)."""
        if account.id_number_encrypted is None:
            return None
        try:
            number = DataCipher(self._settings.data_key).decrypt(
                account.id_number_encrypted, context=account.applicant_key
            )
            return rules.birth_date_of(number)
        except (DataKeyError, rules.RuleViolation):
            return None

    async def change_password(self, username: str, current: str, new: str) -> None:
        """Check the current password and the policy, store the new hash, end every session.

        Raises:
            EdgeRefused: `password.wrong`; rules.RuleViolation for the policy.
        """
        async with self._sessions() as session:
            account = await session.get(Account, username)
        if account is None or not await self._verify(account.password_hash, current):
            refused("password.wrong")
            raise EdgeRefused("password.wrong", fields=["current_password"])
        try:
            rules.check_password(new, username=username, birth_date=self._birth_date(account))
        except rules.RuleViolation as exc:
            refused(exc.code)
            raise rules.RuleViolation(
                exc.code, "new_password", exc.message_zh, exc.message_en
            ) from None
        new_hash = await asyncio.to_thread(self._hasher.hash, new)
        async with self._sessions.begin() as session:
            row = await session.get(Account, username)
            assert row is not None
            row.password_hash = new_hash
        await self._store.end_all("staff", username, "password_changed")
