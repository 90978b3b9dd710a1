"""The store on PostgreSQL, as docker-compose.yml runs it: migrations, seed, types, constraints,
and one registration with the worker's activities on PostgreSQL.

Needs a PostgreSQL server (default: postgres@127.0.0.1:5432, trust auth, database `test`;
TEST_POSTGRES_DSN overrides it). Each session gets a database `jshr_<hex>` of its own, dropped at
the end. Without a server the tests are skipped, except with CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.base import refused_data
from activities.review import ReviewActivities
from config import ROOT, Settings
from devtools.demo import read_sms_code
from domain.contracts.internal import AuthorizeDecisionInput
from domain.contracts.registration import PhoneCodeOutcome, ReviewDecision, Stage
from domain.keys import applicant_key, keyed_hash
from domain.roles import Role
from notify.outbox import Notifier
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.models import Account, AuditEvent, Base, Invitation, Resident, Unit, UTCDateTime
from store.seed import ADMINS, APPLICANTS, DEMO_INVITATION, UNITS, seed_demo
from testkit import count, reach, request, sample_documents
from testkit.harness import App, migrate
from tests.activities import test_integrity as integrity
from tests.activities import test_verification as verification
from tests.store import test_db

ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"


# --- the server and this session's database ---------------------------------------------------


@pytest.fixture(scope="session")
async def pg_admin() -> AsyncIterator[asyncpg.Connection]:
    """A connection to the server's maintenance database, or a skip saying why there is none."""
    try:
        connection = await asyncpg.connect(ADMIN_DSN, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        message = f"PostgreSQL unreachable at {ADMIN_DSN}: {error!r}"
        if IN_CI:
            pytest.fail(f"CI=true requires it: {message}")
        pytest.skip(f"{message} (start it, or set TEST_POSTGRES_DSN)")
    yield connection
    await connection.close()


def database_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the server ADMIN_DSN points at."""
    return urlunsplit(urlsplit(ADMIN_DSN)._replace(scheme="postgresql+asyncpg", path=f"/{name}"))


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def fresh_database(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """An empty database `jshr_<hex>`, dropped on exit; yields its SQLAlchemy URL."""
    name = f"jshr_{secrets.token_hex(6)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def pg_url(pg_admin: asyncpg.Connection) -> AsyncIterator[str]:
    """This session's database, migrated to head (Alembic's env runs its own loop: a thread)."""
    async with fresh_database(pg_admin) as url:
        await asyncio.to_thread(migrate, url)
        yield url


@pytest.fixture
async def sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(pg_url, Settings().data_key)
    yield make_sessions(engine)
    await engine.dispose()


@pytest.fixture
async def app(pg_url: str, tmp_path: Path) -> AsyncIterator[App]:
    """conftest's `app` on PostgreSQL: its own secret, task queue and document store, seeded.
    Overriding it here puts conftest's `ts` harness (the worker on the time-skipping server)
    on PostgreSQL."""
    settings = Settings(
        applicant_key_secret=secrets.token_hex(16),
        database_url=pg_url,
        task_queue=f"registration-{uuid.uuid4().hex[:8]}",
        document_dir=tmp_path / "documents",
        # The Java time-skipping server cannot continue-as-new.
        continue_as_new_between_rounds=False,
    )
    engine = make_engine(settings.database_url, settings.data_key)
    await seed_demo(make_sessions(engine), settings)
    for data in sample_documents().values():
        await LocalDocumentStore(settings.document_dir).put(data, content_type="image/jpeg")
    yield App(settings, make_sessions(engine))
    await engine.dispose()


# --- migrations -------------------------------------------------------------------------------


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


async def tables(url: str) -> set[str]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


async def test_migrations_upgrade_downgrade_and_upgrade_again(
    pg_admin: asyncpg.Connection,
) -> None:
    application_tables = set(Base.metadata.tables)
    async with fresh_database(pg_admin) as url:
        config = alembic_config(url)
        await asyncio.to_thread(migrate, url)
        assert await tables(url) == application_tables | {"alembic_version"}

        await asyncio.to_thread(command.downgrade, config, "base")
        assert await tables(url) == {"alembic_version"}

        await asyncio.to_thread(migrate, url)
        assert await tables(url) == application_tables | {"alembic_version"}
        engine = make_engine(url)
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
        await engine.dispose()
        assert current == ScriptDirectory.from_config(config).get_current_head()


async def test_the_models_match_the_migrated_schema(pg_url: str) -> None:
    engine = make_engine(pg_url, Settings().data_key)
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    await engine.dispose()
    assert differences == []


# --- seed, types, constraints -----------------------------------------------------------------


async def test_the_demo_seed_works_and_is_idempotent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = Settings(applicant_key_secret=secrets.token_hex(16))
    await seed_demo(sessions, settings)
    await seed_demo(sessions, settings)
    holder = App(settings, sessions)
    people = [*APPLICANTS, *(admin[1] for admin in ADMINS)]
    hmacs = [keyed_hash(settings.applicant_key_secret, person.id_number) for person in people]
    assert await count(holder, Unit, Unit.code.in_([code for code, _ in UNITS])) == len(UNITS)
    assert await count(holder, Account, Account.username.in_([a[0] for a in ADMINS])) == len(ADMINS)
    assert await count(holder, Resident, Resident.id_number_hmac.in_(hmacs)) == len(people)
    invitation = keyed_hash(settings.applicant_key_secret, DEMO_INVITATION)
    assert await count(holder, Invitation, Invitation.code_hmac == invitation) == 1


async def test_utc_datetimes_round_trip_as_timestamptz(
    sessions: async_sessionmaker[AsyncSession], pg_url: str
) -> None:
    at = datetime(2026, 11, 29, 17, 30, 15, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    registration_id = f"registration-{secrets.token_hex(8)}"
    async with sessions.begin() as session:
        session.add(
            AuditEvent(
                registration_id=registration_id, kind="test", actor="test", outcome="ok", at=at
            )
        )
    async with sessions() as session:
        stored = await session.scalar(
            select(AuditEvent.at).where(AuditEvent.registration_id == registration_id)
        )
    assert stored == at
    assert stored.utcoffset() == timedelta(0)
    assert stored.replace(tzinfo=None) == datetime(2026, 11, 29, 9, 30, 15, 123456)

    with pytest.raises(StatementError, match="naive datetime refused"):
        async with sessions.begin() as session:
            session.add(
                AuditEvent(
                    registration_id=registration_id,
                    kind="test",
                    actor="test",
                    outcome="naive",
                    at=datetime(2026, 11, 29, 9, 0),
                )
            )

    utc_columns = {
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, UTCDateTime)
    }
    connection = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    types = {(row["table_name"], row["column_name"]): row["data_type"] for row in rows}
    assert utc_columns and {types[column] for column in utc_columns} == {"timestamp with time zone"}


def new_account() -> Account:
    return Account(
        username=f"pg_{secrets.token_hex(6)}",
        password_hash="$argon2id$placeholder",
        applicant_key=secrets.token_hex(32),
        name="测试",
        phone=f"137{secrets.randbelow(10**8):08d}",
        email="pg@example.cn",
        unit_code=None,
        role="user",
        permissions=[],
        active=True,
        registration_id=f"registration-{secrets.token_hex(16)}",
        created_at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("column", "constraint"),
    [
        ("username", "pk_accounts"),
        ("phone", "uq_accounts_phone"),
        ("applicant_key", "uq_accounts_applicant_key"),
        ("registration_id", "uq_accounts_registration_id"),
    ],
)
async def test_accounts_are_unique_by_username_phone_applicant_key_and_registration(
    sessions: async_sessionmaker[AsyncSession],
    column: str,
    constraint: str,
) -> None:
    first, second = new_account(), new_account()
    setattr(second, column, getattr(first, column))
    async with sessions.begin() as session:
        session.add(first)
    try:
        with pytest.raises(IntegrityError) as refused:
            async with sessions.begin() as session:
                session.add(second)
        assert constraint in str(refused.value.orig)
    finally:
        async with sessions.begin() as session:
            await session.execute(delete(Account).where(Account.username == first.username))


# --- one registration, end to end --------------------------------------------------------------


async def test_a_registration_completes_with_the_worker_on_postgresql(ts) -> None:
    """conftest's `ts`: the worker (`worker.build_worker`) on the time-skipping server, over the
    PostgreSQL `app` above."""
    person = APPLICANTS[0]
    workflow_id = await ts.client.start(request(person))
    await reach(ts.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    answer = await ts.client.submit_phone_code(
        workflow_id, await read_sms_code(ts.app.sessions, person.phone)
    )
    assert answer.outcome == PhoneCodeOutcome.ACCEPTED
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    decision = await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert decision.accepted

    outcome = await ts.client.result(workflow_id)
    assert outcome.stage == Stage.COMPLETED and outcome.account is not None
    key = applicant_key(ts.app.settings.applicant_key_secret, person.id_number)
    assert await count(ts.app, Account, Account.applicant_key == key) == 1
    assert await count(ts.app, Account, Account.username == outcome.account.username) == 1


# --- concurrency and retries (tests/activities/test_integrity.py, on PostgreSQL) --------------


async def test_concurrent_wrong_guesses_are_counted_on_postgresql(app) -> None:
    await integrity.test_concurrent_wrong_guesses_spend_one_attempt_each_and_lock(app)


async def test_a_retried_phone_check_answers_the_same_on_postgresql(app) -> None:
    await integrity.test_a_retried_check_answers_what_its_first_attempt_did(app)
    await integrity.test_a_retried_wrong_guess_spends_one_attempt(app)


async def test_a_retried_authorization_writes_one_audit_row_on_postgresql(app) -> None:
    await integrity.test_a_retried_authorization_writes_one_audit_row(app)


async def test_retried_sends_provisioning_and_reminders_count_once_on_postgresql(app) -> None:
    await integrity.test_a_retried_send_texts_once_and_a_resend_replaces_the_code(app)
    await integrity.test_retried_and_concurrent_provisioning_makes_one_account(app)
    await integrity.test_a_retried_reminder_texts_and_audits_once(app)


async def test_a_photo_pair_is_checked_once_on_postgresql(app) -> None:
    await verification.test_a_pair_that_passed_is_not_decoded_again_but_any_other_photo_is(app)


async def test_a_failed_statement_does_not_print_the_row_on_postgresql(app) -> None:
    await test_db.test_a_failed_statement_does_not_print_the_row(app)


async def test_bad_data_that_postgresql_refuses_is_not_retried(app) -> None:
    """A NUL in a text column: PostgreSQL refuses it, and would forever. The contracts refuse it
    first (text.hidden_character); an input built past them fails the activity for good."""
    review = ReviewActivities(app.sessions, app.settings, Notifier(app.sessions, app.settings))
    decision = ReviewDecision.model_construct(
        decision_id="d-1", reviewer_id="admin\x00hospital", approve=True
    )
    check = AuthorizeDecisionInput.model_construct(
        registration_id=f"registration-{uuid.uuid4().hex}/run-1",
        applicant_key="k" * 64,
        unit_code=UNITS[0][0],
        requested_role=Role.USER,
        stage=Stage.AWAITING_REVIEW,
        decision=decision,
        at=datetime.now(UTC),
    )
    with pytest.raises(DBAPIError) as caught:
        await review.authorize_decision(check)
    final = refused_data(caught.value)  # what the worker's interceptor raises instead
    assert final is not None and final.non_retryable and final.type == "DataError"
    assert "hospital" not in str(final)
