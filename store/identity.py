"""The real-name check (实名认证) behind a port: name + ID number → match, mismatch, unavailable.

The local implementation reads a table of residents (dev and test). A production adapter would
call the public-security identity service; it only has to answer the same three ways.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.keys import keyed_hash
from store.models import Resident


class IdentityAnswer(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"


class IdentityProvider(Protocol):
    async def check(self, name: str, id_number: str) -> IdentityAnswer: ...


class LocalIdentityProvider:
    """Residents keyed by the HMAC of their ID number: the table holds no raw ID numbers."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], secret: str) -> None:
        self._sessions = sessions
        self._secret = secret

    async def check(self, name: str, id_number: str) -> IdentityAnswer:
        async with self._sessions() as session:
            resident = await session.get(Resident, keyed_hash(self._secret, id_number))
        if resident is None or resident.name != name:
            return IdentityAnswer.MISMATCH
        return IdentityAnswer.MATCH
