"""The codec endpoint of the edge: it decrypts for a logged-in operator, says who in the audit
table, answers only the Temporal UI's origins with credentials, and limits each person."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from sqlalchemy import select
from temporalio import workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.converter import DefaultPayloadConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner, Result

from edge.tokens import ServiceTokens
from plumbing.connect import data_converter_for
from starter.cli import app as cli
from store.models import AuditEvent
from testkit.edge import STAFF_PASSWORD, Edge, make_edge, serve

UI = "http://localhost:8233"
DECODE, ENCODE = "/codec/decode", "/codec/encode"
NAME = "欧阳明月"
WORKFLOW_ID = "registration-" + "ab" * 16


def plain(value: object) -> Payload:
    return DefaultPayloadConverter().to_payloads([value])[0]


def body(*payloads: Payload) -> dict[str, object]:
    return json_format.MessageToDict(Payloads(payloads=list(payloads)))


def from_body(answer: dict[str, object]) -> list[Payload]:
    return list(json_format.ParseDict(answer, Payloads()).payloads)


async def encrypted(edge: Edge, *values: object) -> list[Payload]:
    codec = data_converter_for(edge.db.settings).payload_codec
    assert codec is not None
    return await codec.encode([plain(value) for value in values])


def codes(answer: httpx.Response) -> list[str]:
    return [error["code"] for error in answer.json()["errors"]]


async def codec_audit(edge: Edge) -> list[AuditEvent]:
    async with edge.db.sessions() as session:
        rows = await session.scalars(
            select(AuditEvent).where(AuditEvent.kind.startswith("codec.")).order_by(AuditEvent.id)
        )
        return list(rows)


async def test_a_decode_without_a_login_is_refused(edge: Edge) -> None:
    payloads = await encrypted(edge, NAME)
    async with edge.client() as client:
        answer = await client.post(DECODE, json=body(*payloads), headers={"Origin": UI})
        assert answer.status_code == 401 and codes(answer) == ["session.missing"]
        # The UI can read the refusal (and so tells the operator the codec failed).
        assert answer.headers["access-control-allow-origin"] == UI
        forged = await client.post(
            DECODE, json=body(*payloads), headers={"Authorization": "Bearer not-a-session"}
        )
        assert forged.status_code == 401 and codes(forged) == ["session.unknown"]
        assert NAME not in answer.text + forged.text
    assert await codec_audit(edge) == []


async def test_a_logged_in_staff_member_without_the_permission_is_refused(edge: Edge) -> None:
    payloads = await encrypted(edge, NAME)
    async with edge.client() as client:
        await edge.login(client, "admin_hospital")  # a unit admin reviews, but reads no payloads
        answer = await client.post(DECODE, json=body(*payloads), headers={"Origin": UI})
    assert answer.status_code == 403 and codes(answer) == ["codec.not_operator"]
    assert NAME not in answer.text
    [row] = await codec_audit(edge)
    assert (row.actor, row.kind, row.outcome) == (
        "admin_hospital",
        "codec.decode",
        "refused.not_operator",
    )


async def test_an_operator_decodes_through_the_cookie_and_the_audit_says_who(edge: Edge) -> None:
    payloads = await encrypted(edge, NAME, {"phone": "13800000002"})
    async with edge.client() as client:
        await edge.login(client, "sysadmin")
        answer = await client.post(
            f"{DECODE}?preserveStorageRefs=true",  # as the UI sends it
            json=body(*payloads),
            headers={
                "Origin": UI,
                "X-Namespace": "default",
                "Referer": f"{UI}/namespaces/default/workflows/{WORKFLOW_ID}/run-1/history",
            },
        )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == UI
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert answer.headers["cache-control"] == "no-store"
    decoded = from_body(answer.json())
    assert [json.loads(p.data) for p in decoded] == [NAME, {"phone": "13800000002"}]
    [row] = await codec_audit(edge)
    assert (row.actor, row.kind, row.outcome) == ("sysadmin", "codec.decode", "decoded")
    assert row.registration_id == WORKFLOW_ID
    assert json.loads(row.detail) == {"payloads": 2, "via": "cookie", "namespace": "default"}
    assert NAME not in row.detail


async def test_the_preflight_answers_the_ui_with_credentials_and_refuses_other_origins(
    edge: Edge,
) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with edge.client() as client:
        ok = await client.options(DECODE, headers={**preflight, "Origin": UI})
        assert ok.status_code == 204
        assert ok.headers["access-control-allow-origin"] == UI
        assert ok.headers["access-control-allow-credentials"] == "true"
        assert "POST" in ok.headers["access-control-allow-methods"]
        allowed = {h.strip().lower() for h in ok.headers["access-control-allow-headers"].split(",")}
        assert {"content-type", "x-namespace"} <= allowed
        assert "Origin" in ok.headers["vary"]

        for other in ("http://evil.example", "http://localhost:8000.evil.example", "null"):
            refused = await client.options(DECODE, headers={**preflight, "Origin": other})
            assert refused.status_code == 403 and codes(refused) == ["codec.origin"]
            assert "access-control-allow-origin" not in refused.headers
            assert "access-control-allow-credentials" not in refused.headers

        # A logged-in operator's browser on another site gets nothing, even if it sends the
        # cookie: refused before the route runs, nothing decoded, nothing audited.
        await edge.login(client, "sysadmin")
        payloads = await encrypted(edge, NAME)
        stolen = await client.post(
            DECODE, json=body(*payloads), headers={"Origin": "http://evil.example"}
        )
        assert stolen.status_code == 403 and codes(stolen) == ["codec.origin"]
        assert NAME not in stolen.text and "access-control-allow-origin" not in stolen.headers
        no_origin = await client.post(DECODE, json=body(*payloads))  # a cookie, but not the UI
        assert no_origin.status_code == 403 and codes(no_origin) == ["codec.origin"]
    assert await codec_audit(edge) == []


async def test_each_person_is_rate_limited(edge: Edge) -> None:
    limited = make_edge(edge.db, codec_decode_limit=3, codec_decode_window_seconds=60)
    payloads = await encrypted(limited, NAME)
    async with limited.client() as client, limited.client() as colleague:
        await limited.login(client, "sysadmin")
        for _ in range(3):
            answer = await client.post(DECODE, json=body(*payloads), headers={"Origin": UI})
            assert answer.status_code == 200
        throttled = await client.post(DECODE, json=body(*payloads), headers={"Origin": UI})
        assert throttled.status_code == 429 and codes(throttled) == ["codec.throttled"]
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        assert NAME not in throttled.text
        # Another person is counted apart (here: refused for want of the permission, not 429).
        await limited.login(colleague, "admin_hospital")
        other = await colleague.post(DECODE, json=body(*payloads), headers={"Origin": UI})
        assert codes(other) == ["codec.not_operator"]
        limited.clock.advance(seconds=61)
        again = await client.post(DECODE, json=body(*payloads), headers={"Origin": UI})
        assert again.status_code == 200
    outcomes = [row.outcome for row in await codec_audit(limited) if row.actor == "sysadmin"]
    assert outcomes == ["decoded"] * 3 + ["refused.throttled", "decoded"]


async def test_the_cli_bearer_token_decodes_and_encodes_a_cookie_only_decodes(edge: Edge) -> None:
    payloads = await encrypted(edge, NAME)
    async with edge.client() as browser:
        await edge.login(browser, "sysadmin")
        token = browser.cookies["jshr_staff"]
        by_cookie = await browser.post(ENCODE, json=body(plain(NAME)), headers={"Origin": UI})
        assert by_cookie.status_code == 403 and codes(by_cookie) == ["codec.bearer_only"]
    async with edge.client() as cli:
        bearer = {"Authorization": f"Bearer {token}", "X-Workflow-Id": WORKFLOW_ID}
        decoded = await cli.post(DECODE, json=body(*payloads), headers=bearer)
        assert decoded.status_code == 200
        assert json.loads(from_body(decoded.json())[0].data) == NAME
        sealed = await cli.post(ENCODE, json=body(plain(NAME)), headers=bearer)
        assert sealed.status_code == 200
        [ciphertext] = from_body(sealed.json())
        assert ciphertext.metadata["encoding"] == b"binary/encrypted"
        assert NAME.encode() not in ciphertext.data
        back = await cli.post(DECODE, json=sealed.json(), headers=bearer)
        assert json.loads(from_body(back.json())[0].data) == NAME

        service = await ServiceTokens(edge.db.sessions).create("hr-portal", ["registrations:read"])
        system = await cli.post(
            DECODE, json=body(*payloads), headers={"Authorization": f"Bearer {service}"}
        )
        assert system.status_code == 403 and codes(system) == ["codec.not_operator"]
        tampered = Payload()
        tampered.CopyFrom(payloads[0])
        tampered.data = tampered.data[:-1] + bytes([tampered.data[-1] ^ 1])
        bad = await cli.post(DECODE, json=body(tampered), headers=bearer)
        assert bad.status_code == 422 and codes(bad) == ["codec.undecodable"]
        for malformed in (
            {"payloads": [{"metadata": "x"}]},
            {"payloads": [{"bogus": 1}]},
            {"payloads": "x"},
        ):
            refused = await cli.post(DECODE, json=malformed, headers=bearer)
            assert refused.status_code == 422 and codes(refused), malformed
    rows = await codec_audit(edge)
    assert [(r.kind, r.outcome, r.registration_id) for r in rows] == [
        ("codec.decode", "decoded", WORKFLOW_ID),
        ("codec.encode", "encoded", WORKFLOW_ID),
        ("codec.decode", "decoded", WORKFLOW_ID),
        ("codec.decode", "refused.undecodable", WORKFLOW_ID),
    ]
    assert all(json.loads(r.detail)["via"] == "bearer" for r in rows)


async def test_a_logged_out_session_decodes_nothing(edge: Edge) -> None:
    payloads = await encrypted(edge, NAME)
    async with edge.client() as client:
        csrf = await edge.login(client, "sysadmin")
        token = client.cookies["jshr_staff"]
        assert (
            await client.delete("/api/v1/staff/session", headers={"X-CSRF-Token": csrf})
        ).is_success
    async with edge.client() as cli:
        answer = await cli.post(
            DECODE, json=body(*payloads), headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 401


# With the real `temporal` CLI over a history stored on a Temporal server


@workflow.defn(sandboxed=False)
class EchoName:
    @workflow.run
    async def run(self, name: str) -> str:
        return name


@pytest.fixture
async def served(edge: Edge) -> AsyncIterator[Edge]:
    async with serve(edge) as running:
        yield running


async def test_the_temporal_cli_decodes_and_encodes_through_the_edge(
    dev_env: WorkflowEnvironment, served: Edge
) -> None:
    """`temporal workflow start/show --codec-endpoint <edge>/codec/` with the operator's session
    token in TEMPORAL_CODEC_AUTH (the environment form of --codec-auth: not on the command line)."""
    target = dev_env.client.service_client.config.target_host
    client = await Client.connect(target, data_converter=data_converter_for(served.db.settings))
    queue = f"codec-cli-{uuid.uuid4().hex[:8]}"
    async with served.client() as browser:
        await served.login(browser, "sysadmin")
        token = browser.cookies["jshr_staff"]
    workflow_id = f"codec-cli-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": target,
        "TEMPORAL_CODEC_ENDPOINT": f"{served.url}/codec/",
        "TEMPORAL_CODEC_AUTH": f"Bearer {token}",
    }
    temporal = str(Path(sys.executable).with_name("temporal"))

    async def cli(*args: str) -> bytes:
        process = await asyncio.create_subprocess_exec(
            temporal, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        return out

    async with Worker(client, task_queue=queue, workflows=[EchoName]):
        await cli(
            "workflow", "start", "--type", "EchoName", "--task-queue", queue,
            "--workflow-id", workflow_id, "--input", json.dumps(NAME),
        )  # fmt: skip
        assert await client.get_workflow_handle(workflow_id).result() == NAME
    # What the server stores is ciphertext: the CLI encoded through the edge.
    raw = await Client.connect(target)
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    assert NAME not in history.to_json()
    shown = json.loads(await cli("workflow", "show", "-w", workflow_id, "--output", "json"))
    started = shown["events"][0]["workflowExecutionStartedEventAttributes"]
    [decoded] = from_body(started["input"])
    assert json.loads(decoded.data) == NAME
    outcomes = {(row.kind, row.outcome) for row in await codec_audit(served)}
    assert outcomes == {("codec.encode", "encoded"), ("codec.decode", "decoded")}
    assert {row.actor for row in await codec_audit(served)} == {"sysadmin"}


async def test_codec_auth_prints_the_operators_header_and_refuses_others(
    served: Edge, tmp_path: Path
) -> None:
    env = {
        "JSHR_EDGE_URL": str(served.url),
        "JSHR_CLI_SESSION_FILE": str(tmp_path / "cli-session.json"),
        "COLUMNS": "200",
    }

    async def invoke(*args: str, stdin: str | None = None) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, cli, list(args), input=stdin, env=env)

    assert (await invoke("codec-auth")).exit_code == 2  # not logged in
    await invoke("login", stdin=f"admin_hospital\n{STAFF_PASSWORD}\n")
    reviewer = await invoke("codec-auth")
    assert reviewer.exit_code == 2 and "payloads:decode" in reviewer.output
    assert "Bearer" not in reviewer.output
    await invoke("login", stdin=f"sysadmin\n{STAFF_PASSWORD}\n")
    operator = await invoke("codec-auth")
    assert operator.exit_code == 0, operator.output
    header = operator.stdout.strip()
    assert header.startswith("Bearer ") and len(header) > 40
    payloads = await encrypted(served, NAME)
    async with httpx.AsyncClient(base_url=str(served.url)) as cli_http:
        answer = await cli_http.post(
            DECODE, json=body(*payloads), headers={"Authorization": header}
        )
    assert answer.status_code == 200
    assert json.loads(from_body(answer.json())[0].data) == NAME
