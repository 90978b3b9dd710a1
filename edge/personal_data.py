"""What the system holds about one applicant (PIPL art. 45: the right to see it), for the
applicant's own session: the application as Temporal keeps it, and every record the
application's database keeps for the registration, with the dates the purge deletes them."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from domain.contracts.registration import ApplicationView, Stage
from store.models import (
    AuditEvent,
    OutboxMessage,
    PhoneCode,
    RegistrationDocument,
    RegistrationEnd,
    Signature,
)

# The ends that leave no account (the purge's own list, activities/retention.WITHOUT_ACCOUNT).
WITHOUT_ACCOUNT = frozenset(
    stage.value for stage in (Stage.WITHDRAWN, Stage.EXPIRED, Stage.REJECTED_FINAL, Stage.FAILED)
)


class HeldMessage(BaseModel):
    channel: str
    subject: str
    sent_at: datetime
    delivered: bool


class HeldEvent(BaseModel):
    kind: str
    outcome: str
    at: datetime


class HeldData(BaseModel):
    """Everything held about this registration's applicant; nothing of anyone else."""

    application: ApplicationView
    messages: list[HeldMessage]
    phone_codes_sent: int
    photos: list[str]
    signatures: int
    audit: list[HeldEvent]
    ended_at: datetime | None
    # When the daily purge deletes the photos and messages, and (no account) the rest.
    photos_and_messages_deleted_after: datetime | None
    other_records_deleted_after: datetime | None
    # When the purge (or the applicant's erasure) did delete them; None while still held.
    photos_and_messages_deleted_at: datetime | None = None
    other_records_deleted_at: datetime | None = None


async def held_about(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    workflow_id: str,
    application: ApplicationView,
) -> HeldData:
    ours = f"{workflow_id}/"
    async with sessions() as session:
        messages = await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.idempotency_key.startswith(ours, autoescape=True))
            .order_by(OutboxMessage.created_at)
        )
        held_messages = [
            HeldMessage(
                channel=m.channel,
                subject=m.subject,
                sent_at=m.created_at,
                delivered=m.delivered_at is not None,
            )
            for m in messages
        ]
        codes = await session.scalar(
            select(func.count())
            .select_from(PhoneCode)
            .where(PhoneCode.registration_id.startswith(ours, autoescape=True))
        )
        photos = await session.scalars(
            select(RegistrationDocument.ref)
            .where(RegistrationDocument.registration_id.startswith(ours, autoescape=True))
            .distinct()
        )
        signatures = await session.scalar(
            select(func.count())
            .select_from(Signature)
            .where(Signature.registration_id.startswith(ours, autoescape=True))
        )
        events = await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.registration_id.startswith(ours, autoescape=True))
            .order_by(AuditEvent.id)
        )
        audit = [HeldEvent(kind=e.kind, outcome=e.outcome, at=e.at) for e in events]
        end = await session.scalar(
            select(RegistrationEnd)
            .where(RegistrationEnd.registration_id.startswith(ours, autoescape=True))
            .order_by(RegistrationEnd.ended_at.desc())
        )
    ended_at = end.ended_at if end else None
    without_account = end is not None and end.stage in WITHOUT_ACCOUNT
    return HeldData(
        application=application,
        messages=held_messages,
        phone_codes_sent=codes or 0,
        photos=sorted(set(photos)),
        signatures=signatures or 0,
        audit=audit,
        ended_at=ended_at,
        photos_and_messages_deleted_after=(
            ended_at + timedelta(days=settings.retention_documents_days) if ended_at else None
        ),
        other_records_deleted_after=(
            ended_at + timedelta(days=settings.retention_applicant_days)
            if ended_at and without_account
            else None
        ),
        photos_and_messages_deleted_at=end.documents_purged_at if end else None,
        other_records_deleted_at=end.applicant_data_purged_at if end else None,
    )
