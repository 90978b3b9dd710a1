"""End to end on the real Temporal dev server, with `worker.py` running as its own process."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import urllib.request
from collections.abc import AsyncIterator

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from config import ROOT
from devtools.demo import read_sms_code
from domain.contracts.registration import RejectionReason, Stage
from edge.inbox import reviewer_inbox
from starter.client import RegistrationClient
from store.models import Account, OutboxMessage
from store.seed import APPLICANTS
from testkit import count, eventually, reach, request
from testkit.edge import Codec, demo_admins_with_password, make_edge, operator_codec, serve
from testkit.harness import App, registration_client
from testkit.processes import free_port, worker_env, worker_process

pytestmark = pytest.mark.asyncio
BIN = os.path.dirname(sys.executable)


@pytest.fixture
async def e2e(dev_env: WorkflowEnvironment, app: App) -> AsyncIterator[RegistrationClient]:
    with worker_process(dev_env, app):
        yield registration_client(dev_env, app)


async def test_registration_completes_and_is_searchable(dev_env, app, e2e) -> None:
    person = APPLICANTS[2]
    workflow_id = await e2e.start(request(person))
    await reach(e2e, workflow_id, Stage.AWAITING_PHONE_CODE)
    await e2e.submit_phone_code(workflow_id, await read_sms_code(app.sessions, person.phone))
    await reach(e2e, workflow_id, Stage.AWAITING_REVIEW)

    query = (
        f'RegistrationStage="awaiting_review" AND UnitCode="{request(person).unit_code}"'
        f' AND TaskQueue="{app.settings.task_queue}"'
    )

    async def listed() -> list[str]:
        return [w.id async for w in dev_env.client.list_workflows(query)]

    assert await eventually(listed) == [workflow_id]

    # The reviewers' inboxes (the dev server is shared, so look for this registration only).
    async with app.sessions() as session:
        admins = {
            name: await session.get(Account, name)
            for name in ("admin_hospital", "admin_centre", "sysadmin")
        }
    inboxes = {
        name: [
            item.workflow_id
            for item in (await reviewer_inbox(dev_env.client, admin, page_size=1000)).items
        ]
        for name, admin in admins.items()
    }
    assert workflow_id in inboxes["admin_hospital"]
    assert workflow_id not in inboxes["admin_centre"] + inboxes["sysadmin"]
    description = await dev_env.client.get_workflow_handle(workflow_id).describe()
    summary = await description.static_summary()
    assert summary is not None and person.name not in summary and "阿*" in summary

    # What the UI's "current details" shows: masked, saying whom it waits for.
    metadata = await dev_env.client.get_workflow_handle(workflow_id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    details = metadata.current_details
    assert "awaiting_review" in details and "reviewers: admin_hospital" in details
    assert "阿*" in details and person.name not in details and person.id_number not in details

    await e2e.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    outcome = await e2e.result(workflow_id)
    assert outcome.stage == Stage.COMPLETED
    assert await count(app, Account, Account.applicant_key.is_not(None)) == 4


async def test_worker_killed_while_waiting_for_review_loses_nothing(dev_env, app) -> None:
    client = registration_client(dev_env, app)
    person = APPLICANTS[0]
    with worker_process(dev_env, app) as first:
        workflow_id = await client.start(request(person))
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        await client.submit_phone_code(workflow_id, await read_sms_code(app.sessions, person.phone))
        await reach(client, workflow_id, Stage.AWAITING_REVIEW)
        first.kill()
        first.wait()

    with worker_process(dev_env, app):
        result = await client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
        assert result.accepted
        assert (await client.result(workflow_id)).stage == Stage.COMPLETED
    assert await count(app, Account, Account.username == "zhangsan1990") == 1
    assert await count(app, OutboxMessage, OutboxMessage.subject == "审核通过通知") == 2  # SMS+mail
    assert await count(app, OutboxMessage, OutboxMessage.subject == "验证码") == 1


async def temporal_cli(dev_env: WorkflowEnvironment, *args: str, codec: Codec | None = None) -> str:
    """The `temporal` CLI; payloads are encrypted, so it decodes through the edge's codec, as
    the operator who logged in (the header in TEMPORAL_CODEC_AUTH: not on the command line)."""
    process = await asyncio.create_subprocess_exec(
        os.path.join(BIN, "temporal"),
        *args,
        "--address",
        dev_env.client.service_client.config.target_host,
        *(codec.flags if codec else []),
        env={**os.environ, **(codec.env if codec else {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def vouched(
    dev_env: WorkflowEnvironment,
    app: App,
    workflow_id: str,
    message: str,
    payload: object,
    actor: str,
) -> str:
    """The message's JSON with the edge's assertion, from `python -m starter vouch` as in the
    README (the test's signing key plays the edge's)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "starter", "vouch", workflow_id, message,
        "--input", json.dumps(payload), "--as", actor,
        env=worker_env(dev_env, app),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


@pytest.fixture
async def codec_endpoint(app: App) -> AsyncIterator[Codec]:
    """The edge served on a free port, and the session of `sysadmin` (payloads:decode)."""
    await demo_admins_with_password(app)
    edge = make_edge(app)
    async with (
        edge.app.router.lifespan_context(edge.app),
        serve(edge) as served,
        operator_codec(served) as codec,
    ):
        yield codec


async def test_an_integrator_needs_only_the_temporal_cli_and_json(
    dev_env, app, e2e, codec_endpoint
) -> None:
    """What the README shows a Java or Go integrator, run as written (JSON in, JSON out)."""
    person = APPLICANTS[3]
    workflow_id = e2e.workflow_id(person.id_number)
    application = request(person).model_dump(mode="json")
    await temporal_cli(
        dev_env,
        "workflow",
        "start",
        "--type",
        "RegistrationWorkflow",
        "--task-queue",
        app.settings.task_queue,
        "--workflow-id",
        workflow_id,
        "--input",
        json.dumps(application, ensure_ascii=False),
        codec=codec_endpoint,
    )

    async def stage_is(expected: str) -> bool:
        out = await temporal_cli(
            dev_env,
            "workflow",
            "query",
            "-w",
            workflow_id,
            "--name",
            "status",
            "-o",
            "json",
            codec=codec_endpoint,
        )
        return json.loads(out)["queryResult"][0]["stage"] == expected

    await eventually(lambda: stage_is("awaiting_phone_code"))
    code = await read_sms_code(app.sessions, person.phone)
    out = await temporal_cli(
        dev_env,
        "workflow",
        "update",
        "execute",
        "-w",
        workflow_id,
        "--name",
        "submit_phone_code",
        "--input",
        await vouched(dev_env, app, workflow_id, "submit_phone_code", {"code": code}, "applicant"),
        "-o",
        "json",
        codec=codec_endpoint,
    )
    assert '"accepted"' in out
    await eventually(lambda: stage_is("awaiting_review"))
    decision = {"decision_id": "cli-1", "reviewer_id": "admin_hospital", "approve": True}
    await temporal_cli(
        dev_env,
        "workflow",
        "signal",
        "-w",
        workflow_id,
        "--name",
        "review_decision",
        "--input",
        await vouched(
            dev_env, app, workflow_id, "review_decision", decision, "staff:admin_hospital"
        ),
        codec=codec_endpoint,
    )
    out = await temporal_cli(
        dev_env, "workflow", "result", "-w", workflow_id, "-o", "json", codec=codec_endpoint
    )
    assert json.loads(out)["result"]["stage"] == "completed"


async def test_a_start_without_the_codec_fails_at_once_and_says_to_use_it(
    dev_env, app, e2e
) -> None:
    """The README's `temporal workflow start` line without its codec flags: the worker refuses
    the plaintext input, and the workflow fails with a named error instead of running on it."""
    person = APPLICANTS[1]
    workflow_id = e2e.workflow_id(person.id_number)
    await temporal_cli(
        dev_env,
        *("workflow", "start", "--type", "RegistrationWorkflow"),
        *("--task-queue", app.settings.task_queue, "--workflow-id", workflow_id),
        *("--input", request(person).model_dump_json()),
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await dev_env.client.get_workflow_handle(workflow_id).result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UnencryptedPayload" and cause.non_retryable
    assert "--codec-endpoint" in cause.message
    assert person.name not in cause.message and person.id_number not in cause.message
    # Nothing ran on the plaintext: no SMS code, no activity at all.
    assert await count(app, OutboxMessage, OutboxMessage.idempotency_key.contains(workflow_id)) == 0
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    assert not [e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]


async def test_a_malformed_start_input_fails_the_workflow_without_echoing_it(
    dev_env, app, e2e
) -> None:
    """The real worker's settings: a bad input fails at once instead of retrying forever."""
    application = request().model_dump(mode="json")
    del application["id_card_back"]
    handle = await dev_env.client.start_workflow(
        "RegistrationWorkflow",
        application,
        id=e2e.workflow_id(APPLICANTS[0].id_number),
        task_queue=app.settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    message = str(failed.value.cause)
    assert "id_card_back" in message and "Field required" in message
    assert APPLICANTS[0].name not in message and APPLICANTS[0].id_number not in message


async def test_each_round_continues_as_new_and_keeps_its_state(dev_env, app, e2e) -> None:
    person = APPLICANTS[1]
    workflow_id = await e2e.start(request(person))
    await reach(e2e, workflow_id, Stage.AWAITING_PHONE_CODE)
    await e2e.submit_phone_code(workflow_id, await read_sms_code(app.sessions, person.phone))
    runs = []
    for round_, email in ((1, "ouyang@hospital.example.cn"), (2, "ouyang.mingyue@example.cn")):
        await reach(e2e, workflow_id, Stage.AWAITING_REVIEW)
        runs.append((await dev_env.client.get_workflow_handle(workflow_id).describe()).run_id)
        await e2e.decide(
            workflow_id,
            reviewer_id="admin_hospital",
            approve=False,
            reason=RejectionReason.INFORMATION_MISMATCH,
            fields=["email"],
        )
        await reach(e2e, workflow_id, Stage.AWAITING_CORRECTION)
        result = await e2e.resubmit(workflow_id, request(person, email=email))
        assert result.round == round_ + 1

    await reach(e2e, workflow_id, Stage.AWAITING_REVIEW)
    status = await e2e.status(workflow_id)
    assert status.round == 3 and status.changed_fields == ["email"]
    assert [e.outcome for e in status.history if e.kind == "decision"] == ["reject", "reject"]
    description = await dev_env.client.get_workflow_handle(workflow_id).describe()
    assert len({*runs, description.run_id}) == 3  # a new run per round
    history = await dev_env.client.get_workflow_handle(workflow_id).fetch_history()
    assert len(history.events) < 60  # this run holds only its own round

    await e2e.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert (await e2e.result(workflow_id)).stage == Stage.COMPLETED
    # The phone was verified once, in the first round: one SMS code in all.
    assert await count(app, OutboxMessage, OutboxMessage.subject == "验证码") == 1


async def test_the_worker_exposes_prometheus_metrics(dev_env, app) -> None:
    port = free_port()
    client = registration_client(dev_env, app)
    with worker_process(dev_env, app, metrics_port=port):
        workflow_id = await client.start(request())
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        await client.withdraw(workflow_id)
        await client.result(workflow_id)

        async def scrape() -> str:
            try:
                url = f"http://127.0.0.1:{port}/metrics"
                text = await asyncio.to_thread(lambda: urllib.request.urlopen(url).read().decode())
            except OSError:
                return ""
            return text if "jshr_registration_stage_entered" in text else ""

        metrics = await eventually(scrape)
    assert 'stage="withdrawn"' in metrics
    assert "temporal_workflow_completed" in metrics or "temporal_request" in metrics


async def test_the_server_stores_no_personal_data_in_clear(dev_env, app, e2e) -> None:
    """Read a registration's raw history without the codec: no name, ID number or phone."""
    person = APPLICANTS[0]
    workflow_id = await e2e.start(request(person))
    await reach(e2e, workflow_id, Stage.AWAITING_PHONE_CODE)
    await e2e.submit_phone_code(workflow_id, "000000")  # a wrong code: its answer is stored too
    await e2e.withdraw(workflow_id)
    await e2e.result(workflow_id)

    plain = await Client.connect(dev_env.client.service_client.config.target_host)
    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    raw = history.to_json().encode() + b"".join(e.SerializeToString() for e in history.events)
    for secret in (person.name, person.id_number, person.phone, person.email):
        assert secret.encode() not in raw
    assert b"binary/encrypted" in raw or base64.b64encode(b"binary/encrypted") in raw
