"""Notification channels: SMS and e-mail behind one port, used by the workers' activities and by
the edge (its SMS codes) alike.

The embedded default is a transactional outbox: a message is a row written in the same
transaction as the change it reports, keyed by an idempotency key, so a retry never sends twice.
SMS delivery in the embedded system is the outbox itself (`starter sms-inbox` reads it); e-mail
also goes to an SMTP server when one is configured.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from domain.rules import mask_phone
from store.models import OutboxMessage

log = logging.getLogger(__name__)


class Notifier:
    """Queues messages in the outbox and delivers those not yet delivered."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings

    async def queue(
        self,
        session: AsyncSession,
        *,
        key: str,
        channel: str,
        recipient: str,
        subject: str,
        body: str,
    ) -> None:
        """Add a message to the caller's transaction unless its key was queued before."""
        if await session.get(OutboxMessage, key) is None:
            session.add(
                OutboxMessage(
                    idempotency_key=key,
                    channel=channel,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    created_at=datetime.now(UTC),
                )
            )

    async def deliver(self, keys: list[str]) -> None:
        """Deliver queued messages; safe to call again after a crash."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.idempotency_key.in_(keys),
                        OutboxMessage.delivered_at.is_(None),
                    )
                )
            ).all()
            for row in rows:
                if row.channel == "email" and self._settings.smtp_host:
                    await asyncio.to_thread(self._send_mail, row)
                    log.info("e-mail delivered key=%s", row.idempotency_key)
                    # Handed to the gateway: the row keeps only that it was sent, and to whom
                    # as an HMAC (what the retention purge and the audit need).
                    row.recipient = ""
                    row.body = ""
                elif row.channel == "sms":
                    # The embedded SMS channel has no gateway: the sealed row is the phone's
                    # inbox (`starter sms-inbox`) until the retention purge deletes it.
                    log.info("sms to %s key=%s", mask_phone(row.recipient), row.idempotency_key)
                row.delivered_at = datetime.now(UTC)
            await session.commit()

    async def queue_both(
        self, session: AsyncSession, *, key: str, phone: str, email: str, subject: str, body: str
    ) -> list[str]:
        """Queue one message by SMS and by e-mail, as `<key>/sms` and `<key>/email`; returns the
        keys, for `deliver` once the caller's transaction is committed."""
        keys = []
        for channel, address in (("sms", phone), ("email", email)):
            keys.append(f"{key}/{channel}")
            await self.queue(
                session,
                key=keys[-1],
                channel=channel,
                recipient=address,
                subject=subject,
                body=body,
            )
        return keys

    async def send_both(self, *, key: str, phone: str, email: str, subject: str, body: str) -> None:
        """`queue_both` in a transaction of its own, then deliver."""
        async with self._sessions.begin() as session:
            keys = await self.queue_both(
                session, key=key, phone=phone, email=email, subject=subject, body=body
            )
        await self.deliver(keys)

    def _send_mail(self, row: OutboxMessage) -> None:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = row.recipient
        message["Subject"] = row.subject
        message["Message-ID"] = f"<{row.idempotency_key.replace('/', '.')}@jshr>"
        message.set_content(row.body)
        assert self._settings.smtp_host is not None
        with smtplib.SMTP(self._settings.smtp_host, self._settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)
