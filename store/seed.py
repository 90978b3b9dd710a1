"""Demo data for the embedded system and the tests. Every person here is invented."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from domain import passwords
from domain.keys import applicant_key, keyed_hash
from domain.roles import ROLE_PERMISSIONS, Role
from domain.rules import make_id_number, make_unit_code
from store.crypto import DataCipher
from store.models import Account, Invitation, Resident, Unit


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    phone: str
    email: str


PEOPLE_HOSPITAL = (make_unit_code("12320000466000001"), "江苏省示范人民医院")
HEALTH_CENTRE = (make_unit_code("12320100466000002"), "南京市示范社区卫生服务中心")
UNITS = (PEOPLE_HOSPITAL, HEALTH_CENTRE)
SIGNATURE_UNITS = {HEALTH_CENTRE[0]}

# Admins: (username, person, role, unit code or None).
ADMINS = (
    (
        "admin_hospital",
        Person(
            "王建国",
            make_id_number("320102", date(1975, 3, 8), 11),
            "13900000001",
            "admin.hospital@example.cn",
        ),
        Role.UNIT_ADMIN,
        PEOPLE_HOSPITAL[0],
    ),
    (
        "admin_centre",
        Person(
            "李秀英",
            make_id_number("320104", date(1980, 7, 21), 22),
            "13900000002",
            "admin.centre@example.cn",
        ),
        Role.UNIT_ADMIN,
        HEALTH_CENTRE[0],
    ),
    (
        "sysadmin",
        Person(
            "赵志强",
            make_id_number("320105", date(1970, 1, 15), 33),
            "13900000003",
            "sysadmin@example.cn",
        ),
        Role.SYSTEM_ADMIN,
        None,
    ),
)

# Residents known to the local identity provider who have no account yet.
APPLICANTS = (
    Person(
        "张三",
        make_id_number("320106", date(1990, 5, 17), 101),
        "13800000001",
        "zhangsan@example.cn",
    ),
    Person(
        "欧阳明月",
        make_id_number("320111", date(1988, 2, 29), 202),
        "13800000002",
        "ouyang@example.cn",
    ),
    Person(
        "阿依古丽·买买提",
        make_id_number("320113", date(1995, 11, 3), 303),
        "13800000003",
        "ayiguli@example.cn",
    ),
    Person(
        "陈静",
        make_id_number("320114", date(2000, 12, 31), 404),
        "13800000004",
        "chenjing@example.cn",
    ),
    Person(
        "周婷",
        make_id_number("320115", date(1993, 4, 12), 505),
        "13800000005",
        "zhouting@example.cn",
    ),
    Person(
        "吴磊",
        make_id_number("320116", date(1986, 9, 30), 606),
        "13800000006",
        "wulei@example.cn",
    ),
)

DEMO_INVITATION = "INVITE-DEMO-CENTRE-0001"


def _verifies(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def seed_demo(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    admin_passwords: Mapping[str, str] | None = None,
) -> None:
    """Insert (or refresh) the demo units, admins, residents and invitation. Idempotent.

    `admin_passwords` (`make run` makes them) become the admins' passwords; without them an
    admin gets one nobody knows."""
    hasher = passwords.hasher()
    admin_passwords = admin_passwords or {}
    secret = settings.applicant_key_secret
    async with sessions.begin() as session:
        for code, name in UNITS:
            await session.merge(
                Unit(code=code, name=name, active=True, requires_signature=code in SIGNATURE_UNITS)
            )
        await session.flush()
        for username, person, role, unit_code in ADMINS:
            password = admin_passwords.get(username)
            existing = await session.get(Account, username)
            if existing is not None:
                if password is not None and not _verifies(hasher, existing.password_hash, password):
                    existing.password_hash = hasher.hash(password)
                continue
            session.add(
                Account(
                    username=username,
                    password_hash=hasher.hash(password or secrets.token_urlsafe(16)),
                    applicant_key=applicant_key(secret, person.id_number),
                    id_number_encrypted=DataCipher(settings.data_key).encrypt(
                        person.id_number, context=applicant_key(secret, person.id_number)
                    ),
                    name=person.name,
                    phone=person.phone,
                    email=person.email,
                    unit_code=unit_code,
                    role=role.value,
                    permissions=list(ROLE_PERMISSIONS[role]),
                    active=True,
                    created_at=datetime.now(UTC),
                )
            )
        await session.flush()
        for person in (*APPLICANTS, *(admin[1] for admin in ADMINS)):
            await session.merge(
                Resident(id_number_hmac=keyed_hash(secret, person.id_number), name=person.name)
            )
        invitation_key = keyed_hash(secret, DEMO_INVITATION)
        if await session.get(Invitation, invitation_key) is None:
            session.add(
                Invitation(
                    code_hmac=invitation_key, unit_code=HEALTH_CENTRE[0], issued_by="sysadmin"
                )
            )
