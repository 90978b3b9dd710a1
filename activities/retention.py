"""Retention: where a registration's photos are recorded, when it ended, and the daily purge.

The purge deletes, `retention_documents_days` after a registration ended, its ID-card photos
(those no registration still running or not yet purged shares) and its outbox messages; and,
`retention_applicant_days` after a registration that created no account ended, what else is
held about the applicant (phone codes, e-signatures and their images). Each registration's
purge is one audit row. Temporal's namespace retention forgets the closed history as long after.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, delete, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute
from temporalio import activity

from config import Settings
from domain import texts
from domain.contracts.internal import (
    ErasureInput,
    ErasureResult,
    PurgeInput,
    PurgeReport,
    RecordEndInput,
)
from domain.contracts.registration import Stage
from store.db import insert_new
from store.documents import LocalDocumentStore
from store.models import (
    Account,
    AuditEvent,
    OutboxMessage,
    PhoneCode,
    PhotoCheck,
    RegistrationDocument,
    RegistrationEnd,
    Signature,
)

log = logging.getLogger(__name__)

# Ends that leave the applicant without an account: nothing of theirs needs to stay.
WITHOUT_ACCOUNT = (
    Stage.WITHDRAWN.value,
    Stage.EXPIRED.value,
    Stage.REJECTED_FINAL.value,
    Stage.FAILED.value,
)


async def _ends_of_accounts(session: AsyncSession) -> None:
    """The end of a registration that made an account and has no end row: the account's own
    transaction records it (lean-history), but one made by a worker of the release before,
    during a rolling deploy, did not, and its workflow no longer runs record_end."""
    missing = (
        select(
            Account.registration_id,
            literal_column(f"'{Stage.COMPLETED.value}'", String),
            Account.created_at,
        )
        .outerjoin(RegistrationEnd, RegistrationEnd.registration_id == Account.registration_id)
        .where(Account.registration_id.is_not(None), RegistrationEnd.registration_id.is_(None))
    )
    await session.execute(
        insert_new(session, RegistrationEnd).from_select(
            ["registration_id", "stage", "ended_at"], missing
        )
    )


async def record_documents(session: AsyncSession, registration_id: str, refs: list[str]) -> None:
    """Note which registration sent these photos (idempotent)."""
    rows = [{"registration_id": registration_id, "ref": ref} for ref in dict.fromkeys(refs)]
    await session.execute(insert_new(session, RegistrationDocument).values(rows))


class RetentionActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        documents: LocalDocumentStore,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._documents = documents

    @activity.defn(name="record_end")
    async def record_end(self, inp: RecordEndInput) -> None:
        """When and how the registration ended: the purge counts its periods from here."""
        async with self._sessions.begin() as session:
            await session.execute(
                insert_new(session, RegistrationEnd).values(
                    registration_id=inp.registration_id, stage=inp.stage, ended_at=inp.at
                )
            )

    @activity.defn(name="purge_personal_data")
    async def purge(self, inp: PurgeInput) -> PurgeReport:
        """Delete what is past its retention at `inp.at`. Safe to run again: what is gone is
        marked, and a retry finds nothing more to do."""
        tally: Counter[str] = Counter()
        async with self._sessions.begin() as session:
            await _ends_of_accounts(session)
            await self._purge_documents(session, inp, tally)
            await self._purge_applicant_data(session, inp, tally)
        report = PurgeReport(**tally)
        log.info(
            "purge: %d registrations, %d photos, %d messages, %d other records",
            report.registrations,
            report.documents,
            report.messages,
            report.applicant_records,
        )
        return report

    async def _purge_documents(
        self,
        session: AsyncSession,
        inp: PurgeInput,
        tally: Counter[str],
        only: set[str] | None = None,
    ) -> None:
        """`only`: these registrations, due or not (the applicant asked)."""
        days = self._settings.retention_documents_days
        due = await _due(
            session, inp.at - timedelta(days=days), only, RegistrationEnd.documents_purged_at
        )
        if not due:
            return
        ids = [end.registration_id for end in due]
        owned = (
            await session.execute(
                select(RegistrationDocument.registration_id, RegistrationDocument.ref).where(
                    RegistrationDocument.registration_id.in_(ids)
                )
            )
        ).all()
        refs = {ref for _, ref in owned}
        # A photo stays while a registration that is running, or not yet purged, refers to it.
        kept = set(
            await session.scalars(
                select(RegistrationDocument.ref)
                .outerjoin(
                    RegistrationEnd,
                    RegistrationEnd.registration_id == RegistrationDocument.registration_id,
                )
                .where(
                    RegistrationDocument.ref.in_(refs),
                    RegistrationDocument.registration_id.not_in(ids),
                    or_(
                        RegistrationEnd.registration_id.is_(None),
                        RegistrationEnd.documents_purged_at.is_(None),
                    ),
                )
            )
        )
        deleted = {ref for ref in refs - kept if await self._documents.delete(ref)}
        for end in due:
            mine = {ref for registration, ref in owned if registration == end.registration_id}
            messages = await self._delete_messages(session, end.registration_id)
            end.documents_purged_at = inp.at
            session.add(
                AuditEvent(
                    registration_id=end.registration_id,
                    kind="purge",
                    actor="retention",
                    outcome="documents_deleted",
                    detail=f"{len(mine & deleted)} photos, {messages} messages",
                    at=inp.at,
                )
            )
            tally["registrations"] += 1
            tally["messages"] += messages
        await session.execute(
            delete(RegistrationDocument).where(RegistrationDocument.registration_id.in_(ids))
        )
        if deleted:  # a pass of a deleted photo vouches for nothing any more
            await session.execute(
                delete(PhotoCheck).where(
                    or_(PhotoCheck.front_ref.in_(deleted), PhotoCheck.back_ref.in_(deleted))
                )
            )
        tally["documents"] += len(deleted)

    async def _purge_applicant_data(
        self,
        session: AsyncSession,
        inp: PurgeInput,
        tally: Counter[str],
        only: set[str] | None = None,
    ) -> None:
        days = self._settings.retention_applicant_days
        due = await _due(
            session,
            inp.at - timedelta(days=days),
            only,
            RegistrationEnd.applicant_data_purged_at,
            RegistrationEnd.stage.in_(WITHOUT_ACCOUNT),
        )
        for end in due:
            registration_id = end.registration_id
            signatures = list(
                await session.scalars(
                    select(Signature.signature_ref).where(
                        Signature.registration_id == registration_id
                    )
                )
            )
            for ref in signatures:
                with contextlib.suppress(ValueError):  # a typed confirmation, not an image
                    await self._documents.delete(ref)
            removed = 0
            for model in (PhoneCode, Signature):
                result = await session.execute(
                    delete(model).where(model.registration_id == registration_id)
                )
                removed += result.rowcount or 0  # type: ignore[attr-defined]
            removed += await self._delete_messages(session, registration_id)
            end.applicant_data_purged_at = inp.at
            session.add(
                AuditEvent(
                    registration_id=registration_id,
                    kind="purge",
                    actor="retention",
                    outcome="applicant_data_deleted",
                    detail=f"{removed} records ({end.stage})",
                    at=inp.at,
                )
            )
            tally["applicant_records"] += removed

    @activity.defn(name="erase_registration")
    async def erase(self, inp: ErasureInput) -> ErasureResult:
        """Delete now what the purge would delete later, for an applicant who asks and got no
        account: photos, messages, phone codes, signatures of every ended registration under
        this workflow ID. One audit row; safe to retry."""
        ours = f"{inp.registration}/"
        async with self._sessions.begin() as session:
            account = await session.scalar(
                select(Account.username).where(
                    Account.registration_id.startswith(ours, autoescape=True)
                )
            )
            if account is not None:
                return ErasureResult(
                    erased=False, code="erasure.has_account", message_zh=texts.ERASURE_HAS_ACCOUNT
                )
            ends = list(
                await session.scalars(
                    select(RegistrationEnd).where(
                        RegistrationEnd.registration_id.startswith(ours, autoescape=True)
                    )
                )
            )
            ended = {end.registration_id for end in ends}
            started = set(
                await session.scalars(
                    select(RegistrationDocument.registration_id).where(
                        RegistrationDocument.registration_id.startswith(ours, autoescape=True)
                    )
                )
            )
            if not ends or started - ended:
                return ErasureResult(
                    erased=False,
                    code="erasure.still_running",
                    message_zh=texts.ERASURE_STILL_RUNNING,
                )
            tally: Counter[str] = Counter()
            now = PurgeInput(at=inp.at)
            await self._purge_documents(session, now, tally, only=ended)
            await self._purge_applicant_data(session, now, tally, only=ended)
            records = sum(tally[k] for k in ("documents", "messages", "applicant_records"))
            session.add(
                AuditEvent(
                    registration_id=sorted(ended)[0],
                    kind="erasure",
                    actor="applicant",
                    outcome="erased",
                    detail=f"{records} records on the applicant's request",
                    at=inp.at,
                )
            )
        return ErasureResult(erased=True, message_zh=texts.ERASURE_DONE, records=records)

    @staticmethod
    async def _delete_messages(session: AsyncSession, registration_id: str) -> int:
        # Every message of a registration is keyed `<registration id>/…` (workflows/registration).
        result = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.idempotency_key.startswith(f"{registration_id}/", autoescape=True)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _due(
    session: AsyncSession,
    cutoff: datetime,
    only: set[str] | None,
    purged_at: InstrumentedAttribute[datetime | None],
    *conditions: ColumnElement[bool],
) -> list[RegistrationEnd]:
    """Ends not purged yet of this kind (`purged_at`): those of `only`, or those before `cutoff`."""
    which = (
        RegistrationEnd.registration_id.in_(only)
        if only is not None
        else RegistrationEnd.ended_at <= cutoff
    )
    found = await session.scalars(
        select(RegistrationEnd).where(purged_at.is_(None), which, *conditions)
    )
    return list(found)
