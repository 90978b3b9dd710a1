"""The dependencies most activity classes own: the session factory, settings, the outbox."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notify.outbox import Notifier


class StoreActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        notifier: Notifier,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._notifier = notifier
