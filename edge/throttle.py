"""Login throttling per account and per address: after N failures within the lockout window
both are locked for the window (5 and 15 minutes by default). Kept in the database, so that
every replica of the edge counts the same failures. The codec endpoint counts each person's
decode requests with the same table (`edge.codec`: N requests per window, then locked for it).

Keys are keyed hashes: an unknown username counts exactly like a known one (and may be
someone's phone or ID number typed in the wrong box), and an address is personal data.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from edge.sessions import Clock, SessionStore
from store.models import LoginThrottle


class Throttle:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        store: SessionStore,
        *,
        prefix: str = "login",
        max_failures: int | None = None,
        window: timedelta | None = None,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._prefix = prefix
        self._max = max_failures or settings.login_max_failures
        self._window = window or timedelta(minutes=settings.login_lockout_minutes)

    @property
    def _clock(self) -> Clock:
        return self._store.clock

    def key(self, kind: str, value: str) -> str:
        return f"{self._prefix}:{kind}:{self._store.keyed(f'throttle.{kind}', value)[:48]}"

    async def retry_after(self, keys: list[str]) -> int | None:
        """Seconds until the longest lock among `keys` ends; None when none is locked."""
        now = self._clock()
        longest: datetime | None = None
        async with self._sessions() as session:
            for key in keys:
                row = await session.get(LoginThrottle, key)
                if row and row.locked_until and row.locked_until > now:
                    longest = max(longest or row.locked_until, row.locked_until)
        if longest is None:
            return None
        return max(1, math.ceil((longest - now).total_seconds()))

    async def failed(self, keys: list[str]) -> None:
        for key in keys:
            for _attempt in range(3):  # two edges may insert the same key's first row at once
                try:
                    await self._count(key)
                    break
                except IntegrityError:
                    continue

    async def _count(self, key: str) -> None:
        now = self._clock()
        async with self._sessions.begin() as session:
            row = await session.get(LoginThrottle, key, with_for_update=True)
            if row is None:
                session.add(LoginThrottle(key=key, failures=1, window_started_at=now))
                return
            if now >= row.window_started_at + self._window:
                row.failures, row.window_started_at, row.locked_until = 0, now, None
            row.failures += 1
            if row.failures >= self._max:
                row.locked_until = now + self._window
                row.failures, row.window_started_at = 0, now

    async def clear(self, key: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
