"""Around the edge with the raw `temporal` CLI, against `make run`'s stack: every message that
changes a registration or a grant, sent without the edge's assertion for who sends it, changes
nothing. Signals are dropped and counted, Updates rejected before they reach history, forged
starts fail at once. The people are the demo's invented residents the README does not use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from config import parse_codec_keys
from domain.contracts.internal import CarriedState, Continuation
from plumbing.codec import data_converter
from store.seed import APPLICANTS, Person
from testkit import request
from testkit.make_run import EDGE, Running

S = ".venv/bin/python -m starter"


def password_of(username: str) -> str:
    return f"Qx{len(username)}#Forged-Test-2026"  # invented, as the people are


def register(make_run: Running, person: Person, username: str) -> str:
    """Started from the CLI as the README does, the SMS code answered: waiting for review."""
    password = password_of(username)
    return make_run.shell(
        f"""
        {S} sample-photos var/samples > /dev/null
        {S} register --name {person.name} --id-number {person.id_number} --phone {person.phone} \\
          --email {person.email} --unit-code 123200004660000017 --unit-name 江苏省示范人民医院 \\
          --username {username} --id-card-front var/samples/id-card-front.jpg \\
          --id-card-back var/samples/id-card-back.jpg --accept-notice >&2
        {S} applicant-key {person.id_number}
        """,
        [password, password],
    ).strip()


def answer_code(make_run: Running, workflow_id: str, phone: str) -> None:
    make_run.shell(f'{S} code {workflow_id} "$({S} sms-inbox {phone} --last-code)"')


def status(make_run: Running, workflow_id: str) -> dict[str, object]:
    found: dict[str, object] = json.loads(make_run.shell(f"{S} status {workflow_id}"))
    return found


@contextmanager
def staff(make_run: Running, username: str, password: str | None = None) -> Iterator[httpx.Client]:
    """A logged-in session at the edge (a demo admin's unless `password` is given), with its
    CSRF token on every request."""
    with httpx.Client(base_url=EDGE, timeout=30) as client:
        login = client.post(
            "/api/v1/staff/session",
            json={"username": username, "password": password or make_run.admin_password(username)},
        )
        assert login.status_code == 200, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        yield client


def forged_update(make_run: Running, workflow_id: str, name: str, payload: object) -> str:
    sent = make_run.temporal(
        "workflow", "update", "execute", "-w", workflow_id, "--name", name,
        "--input", json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip
    assert sent.returncode != 0, sent.stdout
    return sent.stderr


def forged_signal(make_run: Running, workflow_id: str, name: str, payload: object) -> None:
    sent = make_run.temporal(
        "workflow", "signal", "-w", workflow_id, "--name", name,
        "--input", json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr  # the server takes it; the workflow drops it


async def failure_type(make_run: Running, workflow_id: str) -> str:
    """How a workflow failed, read as an operator holding make run's payload keys (the raw
    CLI sees only "Encoded failure": failures are encrypted like every payload)."""
    secrets = make_run.secrets()
    converter = data_converter(
        parse_codec_keys(secrets["JSHR_CODEC_KEYS"]), secrets["JSHR_CODEC_ACTIVE_KEY"]
    )
    client = await Client.connect("127.0.0.1:7233", data_converter=converter)
    try:
        await client.get_workflow_handle(workflow_id).result()
    except WorkflowFailureError as failed:
        assert isinstance(failed.cause, ApplicationError), failed.cause
        return str(failed.cause.type)
    raise AssertionError(f"{workflow_id} did not fail")


def forged_count(message: str) -> int:
    metrics = httpx.get("http://127.0.0.1:9464/metrics", timeout=5).text
    pattern = rf'^jshr_forged_messages\{{[^}}]*message="{message}"[^}}]*\}} (\d+)$'
    return sum(int(count) for count in re.findall(pattern, metrics, re.M))


def test_forged_messages_to_a_registration_change_nothing(make_run: Running) -> None:
    person = APPLICANTS[0]
    workflow_id = register(make_run, person, "zhangsan1990")
    assert status(make_run, workflow_id)["stage"] == "awaiting_phone_code"

    refused = forged_update(make_run, workflow_id, "submit_phone_code", {"code": "123456"})
    assert "NotVouched" in refused
    answer_code(make_run, workflow_id, person.phone)
    assert status(make_run, workflow_id)["stage"] == "awaiting_review"

    before = forged_count("review_decision"), forged_count("withdraw")
    decision = {"decision_id": "forged-1", "reviewer_id": "admin_hospital", "approve": True}
    forged_signal(make_run, workflow_id, "review_decision", decision)
    forged_signal(make_run, workflow_id, "withdraw", {"reason": "伪造的撤回"})
    refused = forged_update(make_run, workflow_id, "decide", {**decision, "decision_id": "f-2"})
    assert "NotVouched" in refused

    found = status(make_run, workflow_id)
    assert found["stage"] == "awaiting_review" and found["account"] is None
    assert [entry["kind"] for entry in found["history"]] == ["reminder"]  # type: ignore[attr-defined]
    assert (forged_count("review_decision"), forged_count("withdraw")) == (
        before[0] + 1,
        before[1] + 1,
    )

    # The real reviewer sends it back; a forged correction may not change the phone.
    with staff(make_run, "admin_hospital") as reviewer:
        rejected = reviewer.post(
            f"/api/v1/review/{workflow_id}/decision",
            json={"approve": False, "reason": "information_mismatch", "fields": ["email"]},
        )
        assert rejected.status_code == 200 and rejected.json()["accepted"], rejected.text
    assert status(make_run, workflow_id)["stage"] == "awaiting_correction"
    corrected = request(person, phone="13900000009").model_dump(mode="json")
    refused = forged_update(make_run, workflow_id, "resubmit", {"request": corrected})
    assert "NotVouched" in refused
    found = status(make_run, workflow_id)
    assert found["stage"] == "awaiting_correction" and found["round"] == 1


async def test_forged_grants_revocations_and_continuations_change_nothing(
    make_run: Running,
) -> None:
    person = APPLICANTS[2]
    workflow_id = register(make_run, person, "ayiguli1995")
    answer_code(make_run, workflow_id, person.phone)
    with staff(make_run, "admin_hospital") as reviewer:
        approved = reviewer.post(f"/api/v1/review/{workflow_id}/decision", json={"approve": True})
        assert approved.status_code == 200, approved.text
    assert status(make_run, workflow_id)["stage"] == "completed"

    # The new account asks for a permission at the edge; a forged approval does not grant it.
    with staff(make_run, "ayiguli1995", password_of("ayiguli1995")) as holder:
        asked = holder.post(
            "/api/v1/permissions/requests",
            json={"permission": "unit_data:manage", "reason": "排班数据"},
        )
        assert asked.status_code in (200, 201, 202), asked.text
        request_id = asked.json()["workflow_id"]
        approval = {"decision_id": "forged-1", "approver_id": "admin_hospital", "approve": True}
        assert "NotVouched" in forged_update(make_run, request_id, "decide", approval)
        pending = holder.get(f"/api/v1/permissions/requests/{request_id}").json()
        assert pending["stage"] == "awaiting_approval" and pending["approvals"] == []
        assert "unit_data:manage" not in str(holder.get("/api/v1/me").json()["permissions"])

    # A revocation started around the edge fails and takes nothing back.
    revocation = {
        "revocation_id": "forged0001",
        "username": "admin_hospital",
        "role": "unit_admin",
        "by": "sysadmin",
        "reason": "伪造的撤销",
    }
    started = make_run.temporal(
        "workflow", "execute", "--type", "PermissionRevokeWorkflow", "--task-queue",
        "registration", "-w", "permission-admin_hospital-revoke-forged0001",
        "--input", json.dumps(revocation, ensure_ascii=False),
    )  # fmt: skip
    assert "Status   FAILED" in started.stdout
    assert (
        await failure_type(make_run, "permission-admin_hospital-revoke-forged0001") == "NotVouched"
    )
    with staff(make_run, "admin_hospital") as admin:
        assert admin.get("/api/v1/me").json()["role"] == "unit_admin"

    # A continuation that skips the SMS code and the signature, as a first run: refused.
    carried = CarriedState(round=1, verified_phone=APPLICANTS[3].phone, signed_digest="0" * 64)
    forged = Continuation(request=request(APPLICANTS[3]), carried=carried)
    started = make_run.temporal(
        "workflow", "execute", "--type", "RegistrationWorkflow", "--task-queue",
        "registration", "-w", "registration-forged-continuation",
        "--input", forged.model_dump_json(),
    )  # fmt: skip
    assert "Status   FAILED" in started.stdout
    found = await failure_type(make_run, "registration-forged-continuation")
    assert found == "ForgedContinuation"
