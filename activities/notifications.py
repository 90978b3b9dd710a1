"""The notification activity: a thin wrapper over `notify.outbox.Notifier`, which holds the
channels (the edge sends its own SMS codes through the same outbox)."""

from __future__ import annotations

from temporalio import activity

from domain.contracts.internal import ApplicantNotice
from notify.outbox import Notifier


class NotificationActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn(name="notify_applicant")
    async def notify_applicant(self, notice: ApplicantNotice) -> None:
        """Tell the applicant by SMS and e-mail. Idempotency key: `notice.idempotency_key`."""
        await self._notifier.send_both(
            key=notice.idempotency_key,
            phone=notice.phone,
            email=notice.email,
            subject=notice.subject,
            body=notice.body,
        )
