"""Verification of an application (`store.verification` holds the checks) and its e-signature."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.retention import record_documents
from config import Settings
from domain.contracts.internal import (
    RecordSignatureInput,
    ReleaseInvitationInput,
    VerificationInput,
    VerificationResult,
)
from domain.roles import Role
from store.models import Signature
from store.verification import ApplicationChecks, release_invitation

# Attempts that find a photo missing before the refusal counts (see verify_application).
PHOTO_WAIT_ATTEMPTS = 4


class VerificationActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], checks: ApplicationChecks
    ) -> None:
        self._sessions = sessions
        self._checks = checks

    @classmethod
    def embedded(
        cls, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> VerificationActivities:
        """With the embedded document store and the local identity provider."""
        return cls(sessions, ApplicationChecks.embedded(sessions, settings))

    @activity.defn(name="verify_application")
    async def verify_application(self, inp: VerificationInput) -> VerificationResult:
        """Cross-check the application; a unit-admin application that passes claims its
        invitation. Retries are harmless: the claim is this registration's already."""
        result = await self._checks.check(inp)
        missing = any(refusal.code == "photo.missing" for refusal in result.refusals)
        if missing and activity.info().attempt < PHOTO_WAIT_ATTEMPTS:
            # A correction's photos are stored once its Update was accepted, which may be a
            # moment after this activity started: the retries' backoff (1 s, 2 s, 4 s) waits.
            raise ApplicationError("a photo is not stored yet", type="PhotoPending")
        if not result.refusals and inp.request.requested_role == Role.UNIT_ADMIN:
            refused = await self._checks.claim_invitation(inp.request, inp.registration_id)
            result = result.model_copy(update={"refusals": refused})
        async with self._sessions.begin() as session:
            # Whose photos these are: the retention purge deletes them by registration.
            refs = [inp.request.id_card_front, inp.request.id_card_back]
            await record_documents(session, inp.registration_id, refs)
        return result

    @activity.defn(name="release_invitation")
    async def release_invitation(self, inp: ReleaseInvitationInput) -> None:
        """An ended unit-admin application gives its invitation back. Idempotent."""
        await release_invitation(self._sessions, inp.registration_id)

    @activity.defn(name="record_signature")
    async def record_signature(self, inp: RecordSignatureInput) -> None:
        """Keep the e-signature as evidence. Idempotent by (registration, digest)."""
        async with self._sessions.begin() as session:
            kept = await session.scalar(
                select(Signature.id).where(
                    Signature.registration_id == inp.registration_id,
                    Signature.application_digest == inp.signature.application_digest,
                )
            )
            if kept is None:
                session.add(
                    Signature(
                        registration_id=inp.registration_id,
                        application_digest=inp.signature.application_digest,
                        signature_ref=inp.signature.signature_ref,
                        signed_at=inp.at,
                    )
                )
