"""The application database's engine: what it prints when a statement fails, how it waits."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from store.models import Account
from workflows.common import ACTIVITY

pytestmark = pytest.mark.asyncio


async def test_a_failed_statement_does_not_print_the_row(app) -> None:
    async with app.sessions() as session:
        holder = await session.scalar(select(Account).limit(1))
    assert holder is not None
    twin = Account(
        username=holder.username,
        password_hash="x",
        applicant_key="k" * 64,
        name="测试重名",
        phone="13912345678",
        email="twin@example.cn",
        role="user",
        permissions=[],
        created_at=holder.created_at,
    )
    with pytest.raises(IntegrityError) as caught:
        async with app.sessions.begin() as session:
            session.add(twin)
    message = str(caught.value)
    assert "SQL parameters hidden" in message
    for value in ("测试重名", "13912345678", "twin@example.cn", holder.username):
        assert value not in message


async def test_sqlite_waits_for_the_lock_less_than_an_activity_may_run(app) -> None:
    async with app.sessions() as session:
        busy_ms = await session.scalar(text("PRAGMA busy_timeout"))
        journal = await session.scalar(text("PRAGMA journal_mode"))
    assert journal == "wal"
    assert 0 < busy_ms < ACTIVITY["start_to_close_timeout"].total_seconds() * 1000
