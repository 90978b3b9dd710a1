"""The system under test, built fresh for one run: dev server, database, applicants, workers.

Everything lives under a temporary directory: the Temporal dev server's SQLite file (with the
pragmas `make run` uses), a migrated and seeded application database, the document store with
the two sample photos. Payloads are encrypted with a key made for this run, as the system does.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from config import ROOT, Settings
from devtools.local import SQLITE_FLAGS
from domain import rules
from domain.assertions import new_signing_key
from domain.contracts.registration import Consent, RegistrationRequest
from domain.keys import keyed_hash
from plumbing import limits, search
from plumbing.connect import data_converter_for
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.models import Resident
from store.seed import PEOPLE_HOSPITAL, seed_demo

BIN = Path(sys.executable).parent
REVIEWER = "admin_hospital"  # the unit admin of PEOPLE_HOSPITAL, where every applicant works
_DIGITS = "零一二三四五六七八九"


def use_run_keys() -> None:
    """Payload encryption, assertion signing and the other secrets with keys of this run, set
    before any `Settings()` is built."""
    signing, public = new_signing_key("bench1")
    os.environ.update(
        JSHR_CODEC_KEYS="bench1:" + base64.b64encode(os.urandom(32)).decode(),
        JSHR_CODEC_ACTIVE_KEY="bench1",
        JSHR_ASSERTION_SIGNING_KEY=signing,
        JSHR_ASSERTION_PUBLIC_KEYS=public,
        JSHR_APPLICANT_KEY_SECRET=uuid.uuid4().hex,
        JSHR_PHONE_CODE_SECRET=uuid.uuid4().hex,
        JSHR_DATA_KEY=base64.b64encode(os.urandom(32)).decode(),
    )


def bench_settings(workdir: Path, temporal_address: str) -> Settings:
    # `_env_file=None`: a developer's var/dev-secrets.env must not leak into the benchmark.
    return Settings(
        _env_file=None,
        environment="development",
        temporal_address=temporal_address,
        database_url=f"sqlite+aiosqlite:///{workdir / 'app.db'}",
        document_dir=workdir / "documents",
        task_queue=f"bench-registration-{uuid.uuid4().hex[:8]}",
        applicant_key_secret=uuid.uuid4().hex,
        phone_code_secret=uuid.uuid4().hex,
        metrics_port=0,
    )


async def start_dev_server(workdir: Path, *, in_memory: bool) -> WorkflowEnvironment:
    settings = Settings(_env_file=None)
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        dev_server_database_filename=None if in_memory else str(workdir / "temporal.db"),
        data_converter=data_converter_for(settings),
        search_attributes=search.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=[
            *SQLITE_FLAGS,
            *limits.dev_server_flags(),
        ],
    )


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@dataclass(frozen=True)
class Applicant:
    index: int
    name: str
    id_number: str
    phone: str
    username: str


def invented_applicant(index: int) -> Applicant:
    """Applicant number `index`: 测试 + its digits in Chinese, a valid ID number, a 139 phone."""
    name = rules.normalize_name("测试" + "".join(_DIGITS[int(d)] for d in str(index)))
    birth = date(1985, 1, 1) + timedelta(days=index // 1000)
    id_number = rules.make_id_number("320115", birth, index % 1000)
    return Applicant(index, name, id_number, f"139{10_000_000 + index:08d}", f"bench{index:06d}")


@dataclass
class System:
    env: WorkflowEnvironment
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    template: RegistrationRequest  # photos, password hash, consent: shared by every applicant
    database: Path  # the SQLite file behind settings.database_url
    _next: int = 0

    def applicants(self, count: int) -> Iterator[Applicant]:
        """The next `count` applicants of those registered as residents (see `populate`)."""
        for _ in range(count):
            self._next += 1
            yield invented_applicant(self._next)

    def request(self, applicant: Applicant, **changes: object) -> RegistrationRequest:
        fields = self.template.model_dump() | {
            "name": applicant.name,
            "id_number": applicant.id_number,
            "phone": applicant.phone,
            "email": f"{applicant.username}@example.cn",
            "username": applicant.username,
            "consent": Consent(
                notice_version=self.settings.notice_version, consented_at=datetime.now(UTC)
            ),
        }
        return RegistrationRequest(**(fields | changes))


async def build_system(workdir: Path, *, applicants: int, in_memory: bool) -> System:
    """Dev server, migrated and seeded database with `applicants` invented residents, photos."""
    from testkit import request as sample_request
    from testkit import sample_documents

    env = await start_dev_server(workdir, in_memory=in_memory)
    settings = bench_settings(workdir, env.client.service_client.config.target_host)
    await asyncio.to_thread(migrate, settings.database_url)
    engine = make_engine(settings.database_url, settings.data_key)
    sessions = make_sessions(engine)
    await seed_demo(sessions, settings)
    rows = [
        {
            "id_number_hmac": keyed_hash(settings.applicant_key_secret, a.id_number),
            "name": a.name,
        }
        for a in map(invented_applicant, range(1, applicants + 1))
    ]
    async with sessions.begin() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Resident), rows[start : start + 1000])
    store = LocalDocumentStore(settings.document_dir)
    for data in sample_documents().values():
        await store.put(data, content_type="image/jpeg")
    template = sample_request(unit_code=PEOPLE_HOSPITAL[0], unit_name=PEOPLE_HOSPITAL[1])
    for ref in (template.id_card_front, template.id_card_back):
        assert await store.exists(ref), "the sample photos must be the ones stored"
    return System(env, settings, engine, sessions, template, workdir / "app.db")
