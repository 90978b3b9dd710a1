"""The privacy test: registrations through each door, then a raw scan of the Temporal server's
database, the application's database and files, and every log line and process output: no
applicant's name, ID number, phone, e-mail or SMS code appears in any of them in plaintext
(payloads are encrypted by the codec; accounts, residents and the outbox hold them sealed)."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, expect
from temporalio.testing import WorkflowEnvironment

from config import ROOT
from devtools.local import SQLITE_FLAGS
from domain import rules
from domain.contracts.registration import Stage
from edge.tokens import ServiceTokens
from plumbing import search
from store.seed import APPLICANTS, PEOPLE_HOSPITAL, Person
from testkit import PASSWORD as FORM_PASSWORD
from testkit import reach, request, sample_documents
from testkit.edge import Edge, operator_codec
from testkit.harness import BIN, converter
from testkit.processes import worker_env
from tests.browser.applicant import (
    Reviewer,
    accept_notice,
    choose_photos,
    fill_person,
    fill_unit,
    latest_code,
    registrations_of,
    sms_codes,
)

PERSON: Person = APPLICANTS[3]
PASSWORD = "Privacy#Scan-2026"
_DB_FILE = "temporal.db"


@pytest.fixture(scope="module")
async def temporal_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("temporal") / _DB_FILE


@pytest.fixture(scope="module")
async def dev_env(temporal_db: Path) -> AsyncIterator[WorkflowEnvironment]:
    """This module's own dev server, its database in a file the scan can read."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=converter(),
        search_attributes=search.ALL,
        dev_server_extra_args=[
            "--db-filename",
            str(temporal_db),
            *SQLITE_FLAGS,
        ],
    )
    yield env
    await env.shutdown()


def plaintexts(person: Person) -> dict[str, bytes]:
    return {
        "name": person.name.encode(),
        "ID number": person.id_number.encode(),
        "phone": person.phone.encode(),
    }


def found_in_files(paths: list[Path], person: Person) -> dict[str, list[str]]:
    """Which of the person's data each file holds in plaintext (its WAL and journal too)."""
    found: dict[str, list[str]] = {}
    for path in paths:
        for file in sorted(path.parent.glob(path.name + "*")):
            data = file.read_bytes()
            for what, needle in plaintexts(person).items():
                if needle in data:
                    found.setdefault(what, []).append(file.name)
    return found


async def register_through_the_pages(
    live_edge: Edge, phone: BrowserContext, desktop: BrowserContext
) -> None:
    page = await phone.new_page()
    await page.goto(f"{live_edge.url}/register")
    await accept_notice(page)
    await fill_person(page, PERSON)
    await fill_unit(page, PEOPLE_HOSPITAL)
    await page.locator("#f-username").fill("chenjing2000")
    await page.locator("#f-password").fill(PASSWORD)
    await choose_photos(page)
    await expect(page.locator("#e-id_card_back")).to_have_text("照片可以使用")
    await page.get_by_role("button", name="提交注册").click()
    await expect(page.get_by_role("heading", name="验证手机号码")).to_be_visible(timeout=15000)
    await page.get_by_label("短信验证码").fill(await latest_code(live_edge.db, PERSON.phone))
    await page.get_by_role("button", name="确认验证码").click()
    await expect(page.get_by_role("heading", name="等待单位审核")).to_be_visible(timeout=15000)
    reviewer = Reviewer(desktop, live_edge.url)
    await reviewer.log_in("admin_hospital")
    workflow_id = registrations_of(live_edge).workflow_id(PERSON.id_number)
    assert (await reviewer.decide(workflow_id, approve=True))["accepted"] is True
    await reach(registrations_of(live_edge), workflow_id, Stage.COMPLETED)
    await page.reload()
    await expect(page.get_by_role("heading", name="注册成功")).to_be_visible()


async def test_temporal_and_the_logs_hold_the_applicant_only_encrypted(
    live_edge: Edge,
    phone: BrowserContext,
    desktop: BrowserContext,
    temporal_db: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # INFO: what the edge, the worker and `make run` log at (the SQL driver's DEBUG lines echo
    # every parameter, and are never on outside a debugging session).
    caplog.set_level(logging.INFO)
    await register_through_the_pages(live_edge, phone, desktop)

    assert found_in_files([temporal_db], PERSON) == {}
    lines = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    output = capfd.readouterr()
    for what, needle in plaintexts(PERSON).items():
        text = needle.decode()
        assert text not in lines, f"the {what} is in a log line"
        assert text not in output.out + output.err, f"the {what} is in a process's output"
    app_db = Path(live_edge.db.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    assert "ID number" not in found_in_files([app_db], PERSON)


async def test_the_application_database_holds_no_name_or_phone_in_plaintext(
    live_edge: Edge, phone: BrowserContext, desktop: BrowserContext
) -> None:
    await register_through_the_pages(live_edge, phone, desktop)
    app_db = Path(live_edge.db.settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    assert found_in_files([app_db], PERSON) == {}


# --- every door -----------------------------------------------------------------------------

BROWSER, API, PYTHON, CLI = APPLICANTS[3], APPLICANTS[1], APPLICANTS[2], APPLICANTS[0]


async def run(
    *command: str, env: dict[str, str], stdin: str = "", keep_stdout: bool = True
) -> tuple[str, str]:
    """A process of a door, as an integrator runs it; its output is part of the scan (not
    `register --print-request`'s stdout: that is the request itself, handed on to Temporal)."""
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    assert process.returncode == 0, err.decode()
    return out.decode(), (out.decode() if keep_stdout else "") + err.decode()


async def register_through_the_api(live_edge: Edge) -> str:
    token = await ServiceTokens(live_edge.db.sessions).create("hr-portal", ["registrations:start"])
    fields = {
        "name": API.name,
        "id_number": API.id_number,
        "phone": API.phone,
        "email": API.email,
        "unit_code": PEOPLE_HOSPITAL[0],
        "unit_name": PEOPLE_HOSPITAL[1],
        "username": rules.suggest_username(API.name, API.id_number),
        "password": PASSWORD,
        "notice_version": "2026-01",
    }
    files = {
        name: (f"{name}.jpg", data, "image/jpeg")
        for name, data in zip(
            ("id_card_front", "id_card_back"), sample_documents().values(), strict=True
        )
    }
    async with httpx.AsyncClient(base_url=str(live_edge.url)) as integrator:
        started = await integrator.post(
            "/api/v1/registrations",
            data=fields,
            files=files,
            headers={"Authorization": f"Bearer {token}"},
        )
    assert started.status_code == 201, started.text
    return str(started.json()["workflow_id"])


async def register_through_the_temporal_cli(live_edge: Edge, outputs: list[str]) -> str:
    """The README's lines: the request from `register --print-request`, then `temporal workflow
    start` and the SMS code's Update through the codec endpoint."""
    assert live_edge.harness is not None
    env = worker_env(live_edge.harness.env, live_edge.db)
    starter = (sys.executable, "-m", "starter")
    photos = live_edge.db.settings.document_dir.parent / "samples"
    out, logged = await run(*starter, "sample-photos", str(photos), env=env)
    outputs.append(logged)
    request_json, logged = await run(
        *starter, "register",
        "--name", CLI.name, "--id-number", CLI.id_number, "--phone", CLI.phone,
        "--email", CLI.email, "--unit-code", PEOPLE_HOSPITAL[0], "--unit-name", PEOPLE_HOSPITAL[1],
        "--username", rules.suggest_username(CLI.name, CLI.id_number),
        "--id-card-front", str(photos / "id-card-front.jpg"),
        "--id-card-back", str(photos / "id-card-back.jpg"),
        "--accept-notice", "--print-request",
        env=env, stdin=f"{FORM_PASSWORD}\n{FORM_PASSWORD}\n", keep_stdout=False,
    )  # fmt: skip
    outputs.append(logged)
    workflow_id, logged = await run(*starter, "applicant-key", CLI.id_number, env=env)
    workflow_id = workflow_id.strip()
    outputs.append(logged)
    temporal = (str(BIN / "temporal"), "--address", env["JSHR_TEMPORAL_ADDRESS"])
    async with operator_codec(live_edge) as codec:
        _, logged = await run(
            *temporal[:1], "workflow", "start", *temporal[1:], "--type", "RegistrationWorkflow",
            "--task-queue", live_edge.db.settings.task_queue, "--workflow-id", workflow_id,
            "--input", request_json.strip(), *codec.flags,
            env={**env, **codec.env},
        )  # fmt: skip
        outputs.append(logged)
        await reach(registrations_of(live_edge), workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await latest_code(live_edge.db, CLI.phone)
        vouched, logged = await run(
            *starter, "vouch", workflow_id, "submit_phone_code",
            "--input", json.dumps({"code": code}), env=env, keep_stdout=False,
        )  # fmt: skip
        outputs.append(logged)
        _, logged = await run(
            *temporal[:1], "workflow", "update", "execute", *temporal[1:], "-w", workflow_id,
            "--name", "submit_phone_code", "--input", vouched.strip(), *codec.flags,
            env={**env, **codec.env},
        )  # fmt: skip
        outputs.append(logged)
    return workflow_id


def needles(people: list[Person], codes: list[str]) -> dict[str, list[bytes]]:
    """What must not be found, and how an SMS code would look where it leaked: a six-digit
    number alone also turns up in timestamps and ciphertext by chance."""
    found: dict[str, list[bytes]] = {}
    for person in people:
        for what, value in (
            ("name", person.name),
            ("ID number", person.id_number),
            ("phone", person.phone),
            ("e-mail", person.email),
        ):
            found[f"{what} {value}"] = [value.encode()]
    for code in codes:
        found[f"SMS code {code}"] = [
            form.encode()
            for form in (f"验证码为{code}", f'"code": "{code}"', f'"code":"{code}"', f"code={code}")
        ]
    return found


async def test_no_door_leaves_personal_data_in_plaintext_anywhere(
    live_edge: Edge,
    phone: BrowserContext,
    desktop: BrowserContext,
    temporal_db: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.INFO)
    outputs: list[str] = []
    client = registrations_of(live_edge)

    await register_through_the_pages(live_edge, phone, desktop)  # BROWSER, through to an account
    through_api = await register_through_the_api(live_edge)
    through_python = await client.start(request(PYTHON), sample_documents())
    through_cli = await register_through_the_temporal_cli(live_edge, outputs)
    for workflow_id, person in ((through_api, API), (through_python, PYTHON)):
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        answer = await client.submit_phone_code(
            workflow_id, await latest_code(live_edge.db, person.phone)
        )
        assert answer.outcome == "accepted"
    for workflow_id in (through_api, through_python, through_cli):
        await reach(client, workflow_id, Stage.AWAITING_REVIEW)

    people = [BROWSER, API, PYTHON, CLI]
    codes = [code for person in people for code in await sms_codes(live_edge.db, person.phone)]
    assert len(codes) >= 4  # every door's applicant got one: the scan looks for real codes
    looked_for = needles(people, codes)

    # The files: Temporal's database (with its WAL), and everything the application keeps
    # (its database, the documents, the CLI's samples): what `var/` holds in `make run`.
    app_dir = Path(live_edge.db.settings.database_url.removeprefix("sqlite+aiosqlite:///")).parent
    files = [p for p in [*temporal_db.parent.rglob("*"), *app_dir.rglob("*")] if p.is_file()]
    assert any(p.name.startswith(_DB_FILE) for p in files) and any(
        p.name == "app.db" for p in files
    )
    leaks = []
    for file in files:
        data = file.read_bytes()
        leaks += [
            f"{what} in {file.name}"
            for what, forms in looked_for.items()
            if any(form in data for form in forms)
        ]
    # Every log line and every process's output: the edge, the worker, the codec, uvicorn, the
    # dev server, the CLI runs.
    captured = capfd.readouterr()
    logs = "\n".join(
        [f"{r.name} {r.getMessage()}" for r in caplog.records]
        + [captured.out, captured.err, *outputs]
    )
    leaks += [
        what for what, forms in looked_for.items() if any(form.decode() in logs for form in forms)
    ]
    # The codes' bare digits too in our own lines (the servers' output has microsecond
    # timestamps, where any six digits turn up by chance).
    ours = "\n".join([*(r.getMessage() for r in caplog.records), *outputs])
    leaks += [f"SMS code {code} (bare) in a log" for code in codes if code in ours]
    assert leaks == []
