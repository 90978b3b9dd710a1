"""Invitation codes for unit-admin registrations (seed: unit admins register through a special
channel). A system admin issues one for a unit; the code is shown once and kept only as its
keyed hash, the form verification checks it in (`store.verification`). An unused code can be
revoked; issuing and revoking are audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from domain.keys import keyed_hash
from domain.permissions import may
from edge.messages import EdgeRefused
from edge.metrics import refused
from store.models import Account, AuditEvent, Invitation, Unit

# Unambiguous capitals and digits (no 0/O, 1/I): read aloud or typed from a letter.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
AUTHORITY = "system:manage"


@dataclass(frozen=True)
class InvitationRow:
    id: str  # the first 16 hex digits of its hash: names it in a form, opens nothing
    unit_code: str
    unit_name: str
    issued_by: str
    used: bool


def new_code() -> str:
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "INV-" + "-".join(groups)


class Invitations:
    def __init__(self, settings: Settings, db: async_sessionmaker[AsyncSession]) -> None:
        self._secret = settings.applicant_key_secret
        self._db = db

    @staticmethod
    def _require(account: Account) -> None:
        if not may(account, AUTHORITY):
            refused("reviewer.not_authorized")
            raise EdgeRefused("reviewer.not_authorized")

    async def list(self, account: Account) -> list[InvitationRow]:
        self._require(account)
        async with self._db() as session:
            rows = await session.execute(
                select(Invitation, Unit.name)
                .join(Unit, Unit.code == Invitation.unit_code)
                .order_by(Unit.name, Invitation.code_hmac)
            )
            return [
                InvitationRow(
                    id=invitation.code_hmac[:16],
                    unit_code=invitation.unit_code,
                    unit_name=unit_name,
                    issued_by=invitation.issued_by,
                    used=invitation.used_by_registration is not None,
                )
                for invitation, unit_name in rows
            ]

    async def issue(self, account: Account, unit_code: str) -> str:
        """A new code for `unit_code`: returned this once, stored only hashed."""
        self._require(account)
        code = new_code()
        async with self._db.begin() as session:
            unit = await session.get(Unit, unit_code)
            if unit is None or not unit.active:
                refused("invitation.unit_unknown")
                raise EdgeRefused("invitation.unit_unknown", fields=["unit_code"])
            digest = keyed_hash(self._secret, code)
            session.add(
                Invitation(code_hmac=digest, unit_code=unit_code, issued_by=account.username)
            )
            session.add(_audit(digest, "invitation_issued", account.username, unit_code))
        return code

    async def revoke(self, account: Account, invitation_id: str) -> None:
        """Revoke an unused code; a used one stays, as the evidence of its registration."""
        self._require(account)
        async with self._db.begin() as session:
            found = (
                await session.scalars(
                    select(Invitation).where(Invitation.code_hmac.startswith(invitation_id))
                )
            ).all()
            if len(invitation_id) != 16 or len(found) != 1:
                refused("request.not_found")
                raise EdgeRefused("request.not_found")
            invitation = found[0]
            if invitation.used_by_registration is not None:
                refused("invitation.used")
                raise EdgeRefused("invitation.used")
            await session.delete(invitation)
            session.add(
                _audit(invitation.code_hmac, "invitation_revoked", account.username, "revoked")
            )


def _audit(digest: str, kind: str, actor: str, outcome: str) -> AuditEvent:
    return AuditEvent(
        registration_id=f"invitation/{digest[:16]}",
        kind=kind,
        actor=actor,
        outcome=outcome,
        at=datetime.now(UTC),
    )
