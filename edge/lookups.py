"""Look-ups a form offers while the applicant types: units by name or code (seed 二: the unit's
name and code, usually from the unit admin)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import Unit

MAX_MATCHES = 6


@dataclass(frozen=True)
class UnitMatch:
    code: str
    name: str


async def search_units(
    sessions: async_sessionmaker[AsyncSession], query: str, limit: int = MAX_MATCHES
) -> list[UnitMatch]:
    """Active units whose name contains `query` or whose code starts with it."""
    query = query.strip()
    if not query:
        return []
    async with sessions() as session:
        rows = await session.scalars(
            select(Unit)
            .where(
                Unit.active,
                or_(
                    Unit.name.contains(query, autoescape=True),
                    Unit.code.startswith(query.upper(), autoescape=True),
                ),
            )
            .order_by(Unit.name)
            .limit(limit)
        )
        return [UnitMatch(row.code, row.name) for row in rows]
