"""Personal data at rest: sealed columns on SQLite, and migration 0005 sealing rows that an
earlier version wrote in plaintext."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from config import ROOT, Settings
from store.crypto import DataKeyError
from store.db import make_engine, make_sessions
from store.models import Account, OutboxMessage, PhoneCode, Resident

pytestmark = pytest.mark.asyncio
NAME, PHONE, EMAIL, CODE_TEXT = (
    "欧阳明月",
    "13800000002",
    "ouyang@example.cn",
    "您的注册验证码为784115",
)


def alembic(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def plaintext_rows_of_an_earlier_version(path: Path) -> None:
    now = datetime.now(UTC).isoformat(sep=" ")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO units (code, name, active, requires_signature) VALUES (?,?,1,0)",
                   ("123200004660000017", "江苏省示范人民医院"))  # fmt: skip
        db.execute("INSERT INTO residents VALUES (?, ?)", ("a" * 64, NAME))
        db.execute(
            "INSERT INTO accounts (username, password_hash, applicant_key, name, phone, email,"
            " unit_code, role, permissions, active, created_at) VALUES (?,?,?,?,?,?,?,?,?,1,?)",
            ("ouyang", "x", "b" * 64, NAME, PHONE, EMAIL, "123200004660000017", "user", "[]", now),
        )
        db.execute(
            "INSERT INTO outbox VALUES (?,?,?,?,?,?,NULL)",
            ("registration-1/run/phone-code-1/sms", "sms", PHONE, "验证码", CODE_TEXT, now),
        )
        db.execute(
            "INSERT INTO phone_codes VALUES (?,?,?,?,?,?,5,0)",
            ("registration-1/run/phone-code-1", "registration-1/run", PHONE, "c" * 64, now, now),
        )


async def test_migration_0005_seals_what_an_earlier_version_kept_in_plaintext(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(command.upgrade, alembic(url), "0005-1")
    plaintext_rows_of_an_earlier_version(path)
    await asyncio.to_thread(command.upgrade, alembic(url), "head")

    raw = b"".join(file.read_bytes() for file in tmp_path.glob("app.db*"))
    for value in (NAME, PHONE, EMAIL, "784115"):
        assert value.encode() not in raw, value

    settings = Settings()
    engine = make_engine(url, settings.data_key)
    async with make_sessions(engine)() as session:
        account = await session.scalar(select(Account).where(Account.phone_hmac == PHONE))
        assert account is not None
        assert (account.name, account.phone, account.email) == (NAME, PHONE, EMAIL)
        resident = await session.get(Resident, "a" * 64)
        assert resident is not None and resident.name == NAME
        [message] = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient_hmac == PHONE)
        )
        assert (message.recipient, message.body) == (PHONE, CODE_TEXT)
        codes = await session.scalars(select(PhoneCode).where(PhoneCode.phone == PHONE))
        assert len(list(codes)) == 1
    await engine.dispose()

    without_key = make_engine(url)
    async with make_sessions(without_key)() as session:
        with pytest.raises(DataKeyError, match="no data key"):
            await session.get(Resident, "a" * 64)
    await without_key.dispose()

    await asyncio.to_thread(command.downgrade, alembic(url), "0005-1")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT name, phone, email FROM accounts").fetchall() == [
            (NAME, PHONE, EMAIL)
        ]
        assert db.execute("SELECT recipient, body FROM outbox").fetchall() == [(PHONE, CODE_TEXT)]
