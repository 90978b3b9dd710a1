"""After a registration through the pages, a raw scan of the Temporal server's database, the
application database and every log line: the applicant's name, ID number and phone appear in
none of them in plaintext (accounts, residents and the outbox hold them sealed)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, expect
from temporalio.testing import WorkflowEnvironment

from domain.contracts.registration import Stage
from plumbing import search
from store.seed import APPLICANTS, PEOPLE_HOSPITAL, Person
from testkit import reach
from testkit.edge import Edge
from testkit.harness import BIN, converter
from tests.browser.applicant import (
    Reviewer,
    accept_notice,
    choose_photos,
    fill_person,
    fill_unit,
    latest_code,
    registrations_of,
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
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
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
