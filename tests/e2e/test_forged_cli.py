"""Around the edge with the raw `temporal` CLI, against `make run`'s stack: every message that
changes a registration or a grant, sent without the edge's assertion for who sends it, changes
nothing. Signals are dropped and counted, Updates rejected before they reach history, forged
starts fail at once. The people are the demo's invented residents the README does not use.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Door:
    """How a forged message reaches Temporal: raw (no codec, so unencrypted), or through the
    edge's codec as an operator, who alone may encrypt (the header as TEMPORAL_CODEC_AUTH)."""

    flags: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


RAW = Door()


def operator(make_run: Running) -> Door:
    with staff(make_run, "sysadmin") as session:
        token = session.cookies["jshr_staff"]
    return Door(
        ("--codec-endpoint", "http://localhost:8000/codec/"),
        (("TEMPORAL_CODEC_AUTH", f"Bearer {token}"),),
    )


def temporal(make_run: Running, door: Door, *args: str) -> subprocess.CompletedProcess[str]:
    return make_run.temporal(*args, *door.flags, env=dict(door.env))


def forged_update(
    make_run: Running, door: Door, workflow_id: str, name: str, payload: object
) -> str:
    """The Update's refusal (its type: UnencryptedPayload raw, NotVouched through the codec)."""
    sent = temporal(
        make_run, door, "workflow", "update", "execute", "-w", workflow_id, "--name", name,
        "--input", json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip
    assert sent.returncode != 0, sent.stdout
    return sent.stderr


def forged_signal(
    make_run: Running, door: Door, workflow_id: str, name: str, payload: object
) -> None:
    sent = temporal(
        make_run, door, "workflow", "signal", "-w", workflow_id, "--name", name,
        "--input", json.dumps(payload, ensure_ascii=False),
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr  # the server takes it; the workflow drops it


def forged_start(
    make_run: Running, door: Door, workflow_type: str, workflow_id: str, payload: str
) -> None:
    started = temporal(
        make_run, door, "workflow", "execute", "--type", workflow_type,
        "--task-queue", "registration", "-w", workflow_id, "--input", payload,
    )  # fmt: skip
    assert "Status   FAILED" in started.stdout, started.stdout + started.stderr


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
    person = APPLICANTS[4]
    workflow_id = register(make_run, person, "zhouting1993")
    assert status(make_run, workflow_id)["stage"] == "awaiting_phone_code"
    doors = {"UnencryptedPayload": RAW, "NotVouched": operator(make_run)}

    for refusal, door in doors.items():
        code = {"code": "123456"}
        assert refusal in forged_update(make_run, door, workflow_id, "submit_phone_code", code)
    answer_code(make_run, workflow_id, person.phone)
    assert status(make_run, workflow_id)["stage"] == "awaiting_review"

    before = forged_count("review_decision"), forged_count("withdraw")
    for number, (refusal, door) in enumerate(doors.items()):
        decision = {
            "decision_id": f"forged-{number}",
            "reviewer_id": "admin_hospital",
            "approve": True,
        }
        forged_signal(make_run, door, workflow_id, "review_decision", decision)
        forged_signal(make_run, door, workflow_id, "withdraw", {"reason": "伪造的撤回"})
        decision["decision_id"] = f"forged-update-{number}"
        assert refusal in forged_update(make_run, door, workflow_id, "decide", decision)

    found = status(make_run, workflow_id)
    assert found["stage"] == "awaiting_review" and found["account"] is None
    assert [entry["kind"] for entry in found["history"]] == ["reminder"]  # type: ignore[attr-defined]
    # The encrypted ones reached the check of the edge's assertion, and were counted there.
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
    corrected = {"request": request(person, phone="13900000009").model_dump(mode="json")}
    for refusal, door in doors.items():
        assert refusal in forged_update(make_run, door, workflow_id, "resubmit", corrected)
    found = status(make_run, workflow_id)
    assert found["stage"] == "awaiting_correction" and found["round"] == 1


async def test_forged_grants_revocations_and_continuations_change_nothing(
    make_run: Running,
) -> None:
    person = APPLICANTS[5]
    workflow_id = register(make_run, person, "wulei1986")
    doors = {"UnencryptedPayload": RAW, "NotVouched": operator(make_run)}
    answer_code(make_run, workflow_id, person.phone)
    with staff(make_run, "admin_hospital") as reviewer:
        approved = reviewer.post(f"/api/v1/review/{workflow_id}/decision", json={"approve": True})
        assert approved.status_code == 200, approved.text
    assert status(make_run, workflow_id)["stage"] == "completed"

    # The new account asks for a permission at the edge; a forged approval does not grant it.
    with staff(make_run, "wulei1986", password_of("wulei1986")) as holder:
        asked = holder.post(
            "/api/v1/permissions/requests",
            json={"permission": "unit_data:manage", "reason": "排班数据"},
        )
        assert asked.status_code in (200, 201, 202), asked.text
        request_id = asked.json()["workflow_id"]
        approval = {"decision_id": "forged-1", "approver_id": "admin_hospital", "approve": True}
        for refusal, door in doors.items():
            assert refusal in forged_update(make_run, door, request_id, "decide", approval)
        pending = holder.get(f"/api/v1/permissions/requests/{request_id}").json()
        assert pending["stage"] == "awaiting_approval" and pending["approvals"] == []
        assert "unit_data:manage" not in str(holder.get("/api/v1/me").json()["permissions"])

    # A revocation started around the edge fails and takes nothing back.
    for number, (refusal, door) in enumerate(doors.items()):
        revocation = {
            "revocation_id": f"forged000{number}",
            "username": "admin_hospital",
            "role": "unit_admin",
            "by": "sysadmin",
            "reason": "伪造的撤销",
        }
        revoke_id = f"permission-admin_hospital-revoke-forged000{number}"
        payload = json.dumps(revocation, ensure_ascii=False)
        forged_start(make_run, door, "PermissionRevokeWorkflow", revoke_id, payload)
        assert await failure_type(make_run, revoke_id) == refusal
    with staff(make_run, "admin_hospital") as admin:
        assert admin.get("/api/v1/me").json()["role"] == "unit_admin"

    # A continuation that skips the SMS code and the signature, as a first run: refused.
    carried = CarriedState(round=1, verified_phone=APPLICANTS[3].phone, signed_digest="0" * 64)
    forged = Continuation(request=request(APPLICANTS[3]), carried=carried).model_dump_json()
    for refusal, door in {
        "UnencryptedPayload": RAW,
        "ForgedContinuation": doors["NotVouched"],
    }.items():
        continuation_id = f"registration-forged-continuation-{refusal.lower()}"
        forged_start(make_run, door, "RegistrationWorkflow", continuation_id, forged)
        assert await failure_type(make_run, continuation_id) == refusal
