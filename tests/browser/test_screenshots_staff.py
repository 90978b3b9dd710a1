"""`make screenshots`: the staff portal's main pages at phone and desktop width, as PNGs of the
viewport in docs/screenshots/ (the README shows them); in `make test`, into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import BrowserContext, Page

from devtools.demo import read_sms_code
from domain.contracts.registration import PhoneCodeOutcome, Stage
from store.seed import APPLICANTS
from testkit import reach, request
from testkit.edge import STAFF_PASSWORD, Edge
from tests.browser.conftest import PHONE, SCREENSHOTS, readme_screenshots

PHOTOS_LOADED = (
    "Array.from(document.querySelectorAll('.photos img'))"
    ".every(function (i) { return i.complete && i.naturalWidth > 0; })"
)
pytestmark = pytest.mark.asyncio


async def waiting(edge: Edge) -> str:
    assert edge.harness is not None
    client = edge.harness.client
    person = APPLICANTS[1]
    workflow_id = await client.start(request(person))
    await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(edge.db.sessions, person.phone)
    assert (await client.submit_phone_code(workflow_id, code)).outcome == PhoneCodeOutcome.ACCEPTED
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    return workflow_id


async def test_staff_pages(
    live_edge: Edge, phone: BrowserContext, desktop: BrowserContext, shots: Path
) -> None:
    async def shoot(page: Page, name: str, width: str) -> None:
        await page.evaluate("document.fonts.ready")
        await page.screenshot(path=str(shots / f"staff-{name}-{width}.png"))

    edge = live_edge
    assert edge.url is not None
    workflow_id = await waiting(edge)
    for context, width in ((phone, "phone"), (desktop, "desktop")):
        page = await context.new_page()
        await page.goto(f"{edge.url}/staff/login")
        await shoot(page, "login", width)
        await page.get_by_label("用户名").fill("admin_hospital")
        await page.get_by_label("密码").fill(STAFF_PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_url("**/staff/inbox")
        link = page.locator(f'a[href="/staff/applications/{workflow_id}"]')
        for _ in range(50):
            if await link.count():
                break
            await page.wait_for_timeout(200)
            await page.goto(f"{edge.url}/staff/inbox")
        await shoot(page, "inbox", width)
        await link.click()
        # Polled from here: the CSP forbids the eval that wait_for_function would need.
        for _ in range(100):
            if await page.evaluate(PHOTOS_LOADED):
                break
            await page.wait_for_timeout(100)
        await shoot(page, "application", width)
        await page.locator(".photos").scroll_into_view_if_needed()
        await shoot(page, "application-photos", width)
        await page.get_by_label("驳回原因").select_option("photo_unclear")
        await page.get_by_label("身份证国徽面照片").check()
        await page.get_by_label("说明(申请人可见)").fill("国徽面反光,请在自然光下重新拍摄")
        await page.get_by_role("button", name="驳回…").click()
        await page.wait_for_url("**/confirm")
        await shoot(page, "confirm", width)
        await page.goto(f"{edge.url}/staff/me")
        await shoot(page, "user-center", width)
        await page.close()
    written = {path.name for path in shots.glob("staff-*.png")}
    committed = {path.name for path in SCREENSHOTS.glob("staff-*.png")}
    assert written == committed and readme_screenshots("staff-") <= written
    with Image.open(shots / "staff-inbox-phone.png") as shot:
        assert shot.width == PHONE["width"]
