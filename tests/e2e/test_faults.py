"""Faults on the dev server with the real worker process: kill -9 at the worst moments, restart
the server. Nothing is lost, nothing is sent twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from config import ROOT
from devtools.demo import read_sms_code
from domain.contracts.registration import Stage
from plumbing import limits, search
from store.models import Account, AuditEvent, OutboxMessage
from store.seed import APPLICANTS
from testkit import count, eventually, reach, request
from testkit.harness import BIN, converter, registration_client
from testkit.processes import worker_env, worker_process

pytestmark = pytest.mark.asyncio


def killable_worker(env, app, activity: str, when: str, directory: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.fault_worker", activity, when, str(directory)],
        env=worker_env(env, app),
        cwd=ROOT,
    )


async def kill_when_reached(process: subprocess.Popen, directory: Path) -> None:
    async def reached() -> bool:
        return (directory / "reached").exists()

    try:
        await eventually(reached, timeout=30)
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize(
    ("activity", "when"),
    [
        ("verify_application", "before"),
        ("send_phone_code", "after"),
        ("assign_role", "after"),
    ],
)
async def test_a_worker_killed_mid_step_leaves_exactly_one_of_everything(
    dev_env, app, tmp_path, activity, when
) -> None:
    client = registration_client(dev_env, app)
    person = APPLICANTS[0]
    workflow_id = await client.start(request(person))
    if activity != "assign_role":
        await kill_when_reached(killable_worker(dev_env, app, activity, when, tmp_path), tmp_path)
    with worker_process(dev_env, app):
        # The killed attempt is retried once its start-to-close timeout (10 s) has passed.
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE, timeout=40)
        code = await read_sms_code(app.sessions, person.phone)
        await client.submit_phone_code(workflow_id, code)
        await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    if activity == "assign_role":
        # The faulty worker alone provisions, then dies before it can report the account.
        fault = killable_worker(dev_env, app, activity, when, tmp_path)
        await client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
        await kill_when_reached(fault, tmp_path)
        assert await count(app, Account, Account.username == "zhangsan1990") == 1
    with worker_process(dev_env, app):
        if activity != "assign_role":
            await client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
        async with asyncio.timeout(40):
            assert (await client.result(workflow_id)).stage == Stage.COMPLETED

    assert await count(app, Account, Account.username == "zhangsan1990") == 1
    assert await count(app, OutboxMessage, OutboxMessage.subject == "审核通过通知") == 2  # SMS+mail
    assert await count(app, OutboxMessage, OutboxMessage.subject == "验证码") == 1


async def test_a_restarted_server_loses_no_registration(app, tmp_path) -> None:
    """Stop the dev server (with its SQLite file) while a registration waits for review."""
    database = tmp_path / "temporal.db"

    async def server() -> WorkflowEnvironment:
        return await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(BIN / "temporal"),
            data_converter=converter(),
            search_attributes=search.ALL,
            dev_server_extra_args=["--db-filename", str(database), *limits.dev_server_flags()],
        )

    env = await server()
    client = registration_client(env, app)
    person = APPLICANTS[0]
    with worker_process(env, app):
        workflow_id = await client.start(request(person))
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        await client.submit_phone_code(workflow_id, await read_sms_code(app.sessions, person.phone))
        await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    await env.shutdown()

    env = await server()
    try:
        client = registration_client(env, app)
        with worker_process(env, app):
            status = await client.status(workflow_id)
            assert status.stage == Stage.AWAITING_REVIEW and status.next_reminder_at is not None
            await client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
            assert (await client.result(workflow_id)).stage == Stage.COMPLETED
    finally:
        await env.shutdown()
    new_application = AuditEvent.outcome == "new application"
    assert await count(app, AuditEvent, new_application) == 1
    assert await count(app, Account, Account.username == "zhangsan1990") == 1
