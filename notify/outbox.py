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
from store.db import insert_new
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
        await self._queue(session, [(key, channel, recipient)], subject=subject, body=body)

    async def _queue(
        self,
        session: AsyncSession,
        messages: list[tuple[str, str, str]],
        *,
        subject: str,
        body: str,
    ) -> None:
        """One INSERT for (key, channel, recipient) `messages`; a key queued before is skipped
        by its primary key, so a retry queues nothing twice."""
        now = datetime.now(UTC)
        rows = [
            {
                "idempotency_key": key,
                "channel": channel,
                "recipient": recipient,
                "recipient_hmac": recipient,  # Keyed: stored as its HMAC
                "subject": subject,
                "body": body,
                "created_at": now,
                # A message no gateway carries is delivered with the transaction that writes
                # it: the embedded SMS channel is the row itself (`starter sms-inbox`), and so
                # is e-mail without an SMTP server. Only a gateway's send waits for `deliver`.
                "delivered_at": None if self._via_gateway(channel) else now,
            }
            for key, channel, recipient in messages
        ]
        queued = await session.execute(
            insert_new(session, OutboxMessage)
            .values(rows)
            .returning(OutboxMessage.idempotency_key, OutboxMessage.channel)
        )
        for key, channel in queued:
            if channel == "sms":
                recipient = next(r for k, _, r in messages if k == key)
                log.info("sms to %s key=%s", mask_phone(recipient), key)

    def _via_gateway(self, channel: str) -> bool:
        return channel == "email" and bool(self._settings.smtp_host)

    async def deliver(self, keys: list[str]) -> None:
        """Deliver queued messages; safe to call again after a crash."""
        if not self._via_gateway("email"):
            return  # every message was delivered when it was queued
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
                if row.channel == "email":
                    await asyncio.to_thread(self._send_mail, row)
                    log.info("e-mail delivered key=%s", row.idempotency_key)
                    # Handed to the gateway: the row keeps only that it was sent, and to whom
                    # as an HMAC (what the retention purge and the audit need).
                    row.recipient = ""
                    row.body = ""
                row.delivered_at = datetime.now(UTC)
            await session.commit()

    async def queue_both(
        self, session: AsyncSession, *, key: str, phone: str, email: str, subject: str, body: str
    ) -> list[str]:
        """Queue one message by SMS and by e-mail, as `<key>/sms` and `<key>/email`; returns the
        keys, for `deliver` once the caller's transaction is committed."""
        messages = [(f"{key}/sms", "sms", phone), (f"{key}/email", "email", email)]
        await self._queue(session, messages, subject=subject, body=body)
        return [key for key, _, _ in messages]

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
