"""The CLI's staff commands go through the edge after `python -m starter login`: a real uvicorn
serving the edge on the dev-server harness, the CLI driven by typer's runner (stdin is no TTY)."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from devtools.demo import read_sms_code
from devtools.samples import card_jpeg
from domain.contracts.registration import PhoneCodeOutcome, Stage
from starter.cli import app as cli
from store.seed import APPLICANTS
from testkit import PASSWORD, eventually, reach, request
from testkit.edge import STAFF_PASSWORD, Edge, serve

PORT = 7511


@pytest.fixture
async def served(live: Edge, tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """The edge served on 127.0.0.1:7511; the CLI's environment pointing at it."""
    async with serve(live, PORT):
        yield {
            "JSHR_EDGE_URL": f"http://127.0.0.1:{PORT}",
            "JSHR_CLI_SESSION_FILE": str(tmp_path / "cli-session.json"),
            "JSHR_CLI_APPLICANT_FILE": str(tmp_path / "cli-applicants.json"),
            # The CLI holds no signing key: the edge alone vouches for the applicant.
            "JSHR_ASSERTION_SIGNING_KEY": "",
            "JSHR_DATABASE_URL": live.db.settings.database_url,
            "COLUMNS": "200",
        }


async def invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), input=stdin, env=env)


async def waiting_for_review(live: Edge) -> str:
    assert live.harness is not None
    client = live.harness.client
    workflow_id = await client.start(request())
    await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
    assert (await client.submit_phone_code(workflow_id, code)).outcome == PhoneCodeOutcome.ACCEPTED
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    return workflow_id


async def test_review_commands_act_as_the_logged_in_admin(
    live: Edge, served: dict[str, str]
) -> None:
    workflow_id = await waiting_for_review(live)
    not_yet = await invoke(served, "review", "inbox")
    assert not_yet.exit_code == 2 and "not logged in" in not_yet.output

    wrong = await invoke(served, "login", stdin="admin_hospital\nWrong#Pass-1\n")
    assert wrong.exit_code == 2 and "auth.invalid_credentials" in wrong.output
    logged = await invoke(served, "login", stdin=f"admin_hospital\n{STAFF_PASSWORD}\n")
    assert logged.exit_code == 0, logged.output
    assert "logged in as admin_hospital" in logged.output
    session_file = Path(served["JSHR_CLI_SESSION_FILE"])
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    assert STAFF_PASSWORD not in session_file.read_text()

    async def listed() -> bool:
        inbox = await invoke(served, "review", "inbox")
        assert inbox.exit_code == 0, inbox.output
        return workflow_id in inbox.output

    await eventually(listed)
    shown = await invoke(served, "review", "show", workflow_id)
    assert shown.exit_code == 0 and APPLICANTS[0].email in shown.output
    old = await invoke(served, "review", "approve", workflow_id, "--reviewer", "sysadmin")
    assert old.exit_code == 2 and "No such option" in old.output
    approved = await invoke(served, "review", "approve", workflow_id)
    assert approved.exit_code == 0 and "ok" in approved.output, approved.output
    assert live.harness is not None
    assert (await live.harness.client.result(workflow_id)).stage == Stage.COMPLETED

    out = await invoke(served, "logout")
    assert out.exit_code == 0 and not session_file.exists()
    assert (await invoke(served, "review", "inbox")).exit_code == 2


async def test_permission_commands_act_as_the_logged_in_account(
    live: Edge, served: dict[str, str]
) -> None:
    workflow_id = await waiting_for_review(live)
    await invoke(served, "login", stdin=f"admin_hospital\n{STAFF_PASSWORD}\n")
    assert (await invoke(served, "review", "approve", workflow_id)).exit_code == 0
    assert live.harness is not None
    holder = (await live.harness.client.result(workflow_id)).account
    assert holder is not None

    # The new account holder logs in with the password of the registration, and asks.
    logged = await invoke(served, "login", stdin=f"{holder.username}\n{PASSWORD}\n")
    assert logged.exit_code == 0, logged.output
    made_up = await invoke(served, "permission", "request", "--role", "superuser", "--reason", "x")
    assert made_up.exit_code == 2 and "role.unknown" in made_up.output
    asked = await invoke(
        served, "permission", "request", "--permission", "unit_data:manage",
        "--reason", "排班数据", "--request-id", "cli001",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    request_id = f"permission-{holder.username}-cli001"
    assert request_id in asked.output
    own = await invoke(served, "permission", "approve", request_id)
    assert own.exit_code == 2  # the holder cannot approve their own request

    await invoke(served, "login", stdin=f"admin_hospital\n{STAFF_PASSWORD}\n")
    approved = await invoke(served, "permission", "approve", request_id, "--comment", "同意")
    assert approved.exit_code == 0, approved.output
    await live.harness.env.client.get_workflow_handle(request_id).result()
    revoked = await invoke(
        served, "permission", "revoke", "--username", holder.username,
        "--permission", "unit_data:manage", "--reason", "调岗",
    )  # fmt: skip
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked: {holder.username} is now user" in revoked.output


async def test_applicant_commands_act_through_the_edge_with_the_session_it_bound(
    live: Edge, served: dict[str, str], tmp_path: Path
) -> None:
    photos = {}
    for side in ("front", "back"):
        photos[side] = tmp_path / f"id-card-{side}.jpg"
        photos[side].write_bytes(card_jpeg(side))
    person = APPLICANTS[2]
    form = [
        "register", "--name", person.name, "--id-number", person.id_number,
        "--phone", person.phone, "--email", person.email,
        "--unit-code", "123200004660000017", "--unit-name", "江苏省示范人民医院",
        "--username", "ayiguli1995", "--id-card-front", str(photos["front"]),
        "--id-card-back", str(photos["back"]), "--accept-notice",
    ]  # fmt: skip
    weak = await invoke(served, *form, stdin="123\n123\n")
    assert weak.exit_code == 2 and "password" in weak.output  # the edge's policy, per field

    started = await invoke(served, *form, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert started.exit_code == 0, started.output
    workflow_id = started.stdout.strip().splitlines()[-1]
    assert workflow_id.startswith("registration-")
    sessions = Path(served["JSHR_CLI_APPLICANT_FILE"])
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o600 and workflow_id in sessions.read_text()

    code = await read_sms_code(live.db.sessions, person.phone)
    wrong = await invoke(served, "code", workflow_id, "000000" if code != "000000" else "111111")
    assert wrong.exit_code == 0 and "验证码错误" in wrong.output
    accepted = await invoke(served, "code", workflow_id, code)
    assert accepted.exit_code == 0 and "手机验证成功" in accepted.output, accepted.output
    shown = await invoke(served, "status", workflow_id)
    assert shown.exit_code == 0 and '"stage": "awaiting_review"' in shown.output
    assert person.id_number not in shown.output and person.phone not in shown.output

    # Another registration's ID: no session here for it, so nothing is sent.
    other = "registration-" + "0" * 32
    refused = await invoke(served, "withdraw", other)
    assert refused.exit_code == 2 and "no applicant session" in refused.output
    withdrawn = await invoke(served, "withdraw", workflow_id, "--reason", "换单位了")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert live.harness is not None
    await reach(live.harness.client, workflow_id, Stage.WITHDRAWN)
