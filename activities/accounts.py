"""Provisioning: the account, with its role and permissions, once the review approved it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
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
from store.db import insert_new
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
            # No look first: a retry's INSERT fails on the account's unique registration ID,
            # and the handler below finds the account the first attempt made.
            async with self._sessions.begin() as session:
                account = await self._create(session, inp, role, notice_key)
        except _InvitationTaken:
            raise _taken("invitation.used_in_review", "invitation_code", INVITATION_TAKEN) from None
        except IntegrityError:
            async with self._sessions() as session:
                made = await _made_by(session, inp.registration_id)
                if made is None:
                    # Someone else took the username (or bound the phone) since verification.
                    # No `from`: the database's error quotes the row, and failures are logged.
                    phone_bound = await session.scalar(
                        select(models.Account.username).where(
                            models.Account.phone_hmac == inp.request.phone
                        )
                    )
            if made is None:
                if phone_bound is not None:
                    raise _taken("phone.bound_in_review", "phone", USERNAME_TAKEN) from None
                raise _taken("username.taken_in_review", "username", USERNAME_TAKEN) from None
            account = made
        await self._notifier.deliver([f"{notice_key}/sms", f"{notice_key}/email"])
        return account

    async def _create(
        self, session: AsyncSession, inp: AssignRoleInput, role: Role, notice_key: str
    ) -> Account:
        request = inp.request
        account = Account(
            username=request.username,
            role=role,
            unit_code=request.unit_code,
            permissions=list(ROLE_PERMISSIONS[role]),
        )
        # Core INSERTs, each sent at once: a taken username, phone or registration fails here,
        # and the transaction rolls back whole.
        await session.execute(
            insert(models.Account).values(
                username=account.username,
                password_hash=request.password_hash,
                applicant_key=inp.applicant_key,
                id_number_encrypted=self._cipher.encrypt(
                    request.id_number, context=inp.applicant_key
                ),
                name=request.name,
                phone=request.phone,
                phone_hmac=request.phone,  # Keyed: stored as its HMAC
                email=str(request.email),
                unit_code=account.unit_code,
                role=role.value,
                permissions=account.permissions,
                active=True,
                registration_id=inp.registration_id,
                created_at=datetime.now(UTC),
            )
        )
        await session.execute(
            insert(models.GrantHistory).values(
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
        await session.execute(
            insert_new(session, models.RegistrationEnd).values(
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
        return account


async def _made_by(session: AsyncSession, registration_id: str) -> Account | None:
    """The account this registration made, if it made one (only what the result shows)."""
    row = (
        await session.execute(
            select(
                models.Account.username,
                models.Account.role,
                models.Account.unit_code,
                models.Account.permissions,
            ).where(models.Account.registration_id == registration_id)
        )
    ).first()
    if row is None:
        return None
    return Account(
        username=row.username,
        role=Role(row.role),
        unit_code=row.unit_code or "",
        permissions=list(row.permissions),
    )
