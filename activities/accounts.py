"""Provisioning: the account, with its role and permissions, once the review approved it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import StoreActivities
from config import Settings
from domain import texts
from domain.contracts.base import Account, Refusal
from domain.contracts.internal import AssignRoleInput
from domain.contracts.permissions import ChangeAction
from domain.contracts.registration import Stage
from domain.roles import ROLE_PERMISSIONS, ROLE_TEXT_ZH, Role
from notify.outbox import Notifier
from store import models
from store.crypto import DataCipher
from store.verification import claim_invitation

# Found when the account is created: the workflow sends the applicant to correction with the
# refusal in the error's details.
USERNAME_TAKEN = "UsernameTaken"
INVITATION_TAKEN = "InvitationTaken"


class _InvitationTaken(Exception):
    pass


def _taken(code: str, field: str, kind: str) -> ApplicationError:
    zh, en = texts.VERIFICATION[code]
    refusal = Refusal(code=code, fields=[field], message_zh=zh, message_en=en)
    return ApplicationError(en, refusal.model_dump(mode="json"), type=kind, non_retryable=True)


class AccountActivities(StoreActivities):
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        notifier: Notifier,
    ) -> None:
        super().__init__(sessions, settings, notifier)
        self._cipher = DataCipher(settings.data_key)

    @activity.defn(name="assign_role")
    async def assign_role(self, inp: AssignRoleInput) -> Account:
        """Create the account, its initial grant and the approval notice in one transaction.

        Idempotency key: the registration ID. A retry, a killed worker or a replay finds the
        account it made before and returns it; there is exactly one account, one grant row and
        one notice. Two attempts at once: the loser's transaction fails on the unique keys, rolls
        back whole, and returns the winner's account.
        """
        role = Role(inp.request.requested_role)
        notice_key = f"{inp.registration_id}/approved"
        try:
            async with self._sessions.begin() as session:
                account = await _made_by(session, inp.registration_id)
                if account is None:
                    account = await self._create(session, inp, role, notice_key)
        except _InvitationTaken:
            raise _taken("invitation.used_in_review", "invitation_code", INVITATION_TAKEN) from None
        except IntegrityError:
            async with self._sessions() as session:
                account = await _made_by(session, inp.registration_id)
                if account is None:
                    # Someone else took the username (or bound the phone) since verification.
                    # No `from`: the database's error quotes the row, and failures are logged.
                    phone_bound = await session.scalar(
                        select(models.Account.username).where(
                            models.Account.phone_hmac == inp.request.phone
                        )
                    )
            if account is None:
                if phone_bound is not None:
                    raise _taken("phone.bound_in_review", "phone", USERNAME_TAKEN) from None
                raise _taken("username.taken_in_review", "username", USERNAME_TAKEN) from None
        await self._notifier.deliver([f"{notice_key}/sms", f"{notice_key}/email"])
        return _public(account)

    async def _create(
        self, session: AsyncSession, inp: AssignRoleInput, role: Role, notice_key: str
    ) -> models.Account:
        request = inp.request
        account = models.Account(
            username=request.username,
            password_hash=request.password_hash,
            applicant_key=inp.applicant_key,
            id_number_encrypted=self._cipher.encrypt(request.id_number, context=inp.applicant_key),
            name=request.name,
            phone=request.phone,
            email=str(request.email),
            unit_code=request.unit_code,
            role=role.value,
            permissions=list(ROLE_PERMISSIONS[role]),
            active=True,
            registration_id=inp.registration_id,
            created_at=datetime.now(UTC),
        )
        session.add(account)
        session.add(
            models.GrantHistory(
                idempotency_key=f"{inp.registration_id}/initial-grant",
                username=request.username,
                action=ChangeAction.GRANT.value,
                role=role.value,
                approved_by=[inp.approved_by] if inp.approved_by else [],
                reason=texts.APPROVED_GRANT_REASON,
                source="registration",
                at=inp.at,
            )
        )
        if role == Role.UNIT_ADMIN and not await claim_invitation(
            session, self._settings, request, inp.registration_id
        ):
            # Checked again in the account's own transaction: an invitation is used once.
            raise _InvitationTaken
        # The registration ends with its account: the retention periods count from here (the
        # workflow runs no record_end activity after a completion).
        session.add(
            models.RegistrationEnd(
                registration_id=inp.registration_id, stage=Stage.COMPLETED.value, ended_at=inp.at
            )
        )
        subject, body = texts.APPROVED
        await self._notifier.queue_both(
            session,
            key=notice_key,
            phone=request.phone,
            email=str(request.email),
            subject=subject,
            body=body.format(username=request.username, role=ROLE_TEXT_ZH[role]),
        )
        await session.flush()
        return account


async def _made_by(session: AsyncSession, registration_id: str) -> models.Account | None:
    return await session.scalar(
        select(models.Account).where(models.Account.registration_id == registration_id)
    )


def _public(account: models.Account) -> Account:
    return Account(
        username=account.username,
        role=Role(account.role),
        unit_code=account.unit_code or "",
        permissions=list(account.permissions),
    )
