"""Server-side sessions: a staff login, or the session an applicant's registration is bound to.

The cookie (or, for the CLI, the bearer header) holds a random token; the table holds its
SHA-256, so a session ends the moment its row says so: logout, a password change, deactivation
(checked on every request by the dependency that loads the account). CSRF tokens are an HMAC of
the session under the session key: bound to that one session, nothing more to store.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from edge.messages import EdgeRefused
from store.models import EdgeSession

SessionKind = Literal["staff", "applicant"]
Clock = Callable[[], datetime]

# Writing `last_seen_at` on every request would make every read a write.
_TOUCH_EVERY = timedelta(minutes=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    """Tokens are 256 random bits: a plain SHA-256 is as good as a keyed one, and survives a
    rotation of the session key."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LiveSession:
    """One of an account's sessions as its holder sees them: when it began and was last used.
    `id` names it in a form without giving away its token hash."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


@dataclass(frozen=True)
class OpenSession:
    token_hash: str
    kind: SessionKind
    subject: str
    pending_factor: bool
    csrf_token: str
    expires_at: datetime


class SessionStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Clock = utc_now,
    ) -> None:
        if settings.session_key is None:
            raise ValueError("JSHR_SESSION_KEY is not set: the edge cannot make sessions")
        self._sessions = sessions
        self._settings = settings
        self._key = settings.session_key.get_secret_value().encode()
        self.clock = clock

    def csrf_token(self, binding: str) -> str:
        """The CSRF token of a session (by its token hash) or of an anonymous browser."""
        return hmac.new(self._key, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, binding: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(binding), token or "")

    def keyed(self, purpose: str, value: str) -> str:
        """A keyed hash for low-entropy look-up keys (typed usernames, addresses, codes)."""
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def _lifetime(self, kind: SessionKind) -> timedelta:
        if kind == "staff":
            return timedelta(hours=self._settings.staff_session_max_hours)
        return timedelta(hours=self._settings.applicant_session_hours)

    def _open(self, row: EdgeSession) -> OpenSession:
        return OpenSession(
            token_hash=row.token_hash,
            kind=row.kind,  # type: ignore[arg-type]
            subject=row.subject,
            pending_factor=row.pending_factor,
            csrf_token=self.csrf_token(row.token_hash),
            expires_at=row.expires_at,
        )

    async def create(
        self, kind: SessionKind, subject: str, *, pending_factor: bool = False
    ) -> tuple[str, OpenSession]:
        """A new session; returns the token (for the cookie, shown nowhere else) and the session."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        row = EdgeSession(
            token_hash=token_hash(token),
            kind=kind,
            subject=subject,
            pending_factor=pending_factor,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self._lifetime(kind),
        )
        async with self._sessions.begin() as session:
            session.add(row)
        return token, self._open(row)

    async def lookup(self, token: str | None, kind: SessionKind) -> OpenSession:
        """The live session of `token`, its idle time reset.

        Raises:
            EdgeRefused: `session.missing`, `session.unknown`, `session.ended` or `session.expired`.
        """
        if not token:
            raise EdgeRefused("session.missing")
        now = self.clock()
        async with self._sessions.begin() as session:
            row = await session.get(EdgeSession, token_hash(token))
            if row is None or row.kind != kind:
                raise EdgeRefused("session.unknown")
            if row.ended_at is not None:
                raise EdgeRefused("session.ended")
            idle = timedelta(minutes=self._settings.staff_session_idle_minutes)
            if now >= row.expires_at or (kind == "staff" and now >= row.last_seen_at + idle):
                row.ended_at, row.end_reason = now, "expired"
                expired = True
            else:
                expired = False
                if now >= row.last_seen_at + _TOUCH_EVERY:
                    row.last_seen_at = now
        if expired:
            raise EdgeRefused("session.expired")
        return self._open(row)

    async def confirm_factor(self, token_hash_: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(EdgeSession)
                .where(EdgeSession.token_hash == token_hash_)
                .values(pending_factor=False, last_seen_at=self.clock())
            )

    async def end(self, token_hash_: str, reason: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(EdgeSession)
                .where(EdgeSession.token_hash == token_hash_, EdgeSession.ended_at.is_(None))
                .values(ended_at=self.clock(), end_reason=reason)
            )

    async def end_all(self, kind: SessionKind, subject: str, reason: str) -> int:
        """End every live session of one account (or registration); returns how many."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(EdgeSession)
                .where(
                    EdgeSession.kind == kind,
                    EdgeSession.subject == subject,
                    EdgeSession.ended_at.is_(None),
                )
                .values(ended_at=self.clock(), end_reason=reason)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def public_id(self, token_hash_: str) -> str:
        return self.keyed("session-id", token_hash_)[:24]

    async def live(self, kind: SessionKind, subject: str, *, current: str) -> list[LiveSession]:
        """The sessions of one account not ended nor expired, the current one (`current`, its
        token hash) first."""
        now = self.clock()
        idle = timedelta(minutes=self._settings.staff_session_idle_minutes)
        async with self._sessions() as session:
            rows = await session.scalars(
                select(EdgeSession).where(
                    EdgeSession.kind == kind,
                    EdgeSession.subject == subject,
                    EdgeSession.ended_at.is_(None),
                    EdgeSession.expires_at > now,
                )
            )
            found = [
                LiveSession(
                    id=self.public_id(row.token_hash),
                    created_at=row.created_at,
                    last_seen_at=row.last_seen_at,
                    expires_at=row.expires_at,
                    current=row.token_hash == current,
                )
                for row in rows
                if kind != "staff" or now < row.last_seen_at + idle
            ]
        return sorted(found, key=lambda s: (not s.current, -s.last_seen_at.timestamp()))

    async def end_by_id(self, kind: SessionKind, subject: str, public_id: str, reason: str) -> bool:
        """End the session of this account named `public_id`; False when there is none."""
        async with self._sessions() as session:
            hashes = await session.scalars(
                select(EdgeSession.token_hash).where(
                    EdgeSession.kind == kind,
                    EdgeSession.subject == subject,
                    EdgeSession.ended_at.is_(None),
                )
            )
            target = next((h for h in hashes if self.public_id(h) == public_id), None)
        if target is None:
            return False
        await self.end(target, reason)
        return True
