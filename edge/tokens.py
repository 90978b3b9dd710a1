"""Service tokens: how an integrator's system calls the edge. Named, scoped, hashed at rest,
shown once when made, revocable. No scope lets a token decide anything for a person: a token
may start registrations and read their status, nothing more.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.assertions import Actor
from edge.sessions import token_hash
from store.models import ServiceToken

SERVICE_PREFIX = "jshr_svc_"
SCOPES = {
    "registrations:start": "start a registration for an applicant",
    "registrations:read": "read the status of a registration",
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")


class TokenError(ValueError):
    """A token could not be made or revoked; the message says why (English, for the CLI)."""


@dataclass(frozen=True)
class ServiceIdentity:
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> Actor:
        return Actor("service", f"service:{self.name}")


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ServiceTokens:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def create(self, name: str, scopes: list[str]) -> str:
        """Make a token and return it: the only time it is ever shown."""
        if not _NAME.match(name):
            raise TokenError("a token name is 2-40 of a-z, 0-9, _ and -, starting alphanumeric")
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown or not scopes:
            raise TokenError(f"scopes must be some of {', '.join(SCOPES)}; got {unknown or '[]'}")
        token = SERVICE_PREFIX + secrets.token_urlsafe(32)
        async with self._sessions.begin() as session:
            existing = await session.get(ServiceToken, name)
            if existing is not None and existing.revoked_at is None:
                raise TokenError(f"token {name!r} exists: revoke it first")
            if existing is not None:
                await session.delete(existing)
                await session.flush()
            session.add(
                ServiceToken(
                    name=name,
                    token_hash=token_hash(token),
                    scopes=sorted(set(scopes)),
                    created_at=datetime.now(UTC),
                )
            )
        return token

    async def revoke(self, name: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(ServiceToken, name)
            if row is None or row.revoked_at is not None:
                raise TokenError(f"no live token named {name!r}")
            row.revoked_at = datetime.now(UTC)

    async def list(self) -> list[TokenInfo]:
        async with self._sessions() as session:
            rows = await session.scalars(select(ServiceToken).order_by(ServiceToken.name))
            return [TokenInfo(r.name, list(r.scopes), r.created_at, r.revoked_at) for r in rows]

    async def verify(self, token: str) -> ServiceIdentity | None:
        digest = token_hash(token)
        async with self._sessions() as session:
            row = await session.scalar(
                select(ServiceToken).where(ServiceToken.token_hash == digest)
            )
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.token_hash, digest):
            return None
        return ServiceIdentity(row.name, frozenset(row.scopes))
