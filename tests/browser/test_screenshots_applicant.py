"""`make screenshots`: the applicant's pages at phone and desktop width, as PNGs of the viewport
in docs/screenshots/ (the README shows them); in `make test`, into a temporary folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from domain.contracts.registration import Stage
from store.seed import APPLICANTS, Person
from testkit import reach
from testkit.edge import Edge
from tests.browser.applicant import (
    Reviewer,
    accept_notice,
    choose_photos,
    fill_person,
    latest_code,
    registrations_of,
)
from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, readme_screenshots

PASSWORD = "Screen#Shot-2026"


class Camera:
    def __init__(self, page: Page, width: str, folder: Path) -> None:
        self.page = page
        self.width = width
        self.folder = folder

    async def shoot(self, name: str, *, at: str | None = None) -> None:
        """The viewport, scrolled to `at` (a selector) when given."""
        if at:
            await self.page.locator(at).first.evaluate(
                "element => element.scrollIntoView({block: 'start'})"
            )
        else:
            await self.page.evaluate("window.scrollTo(0, 0)")
        shot = await self.page.screenshot()
        # A palette of 256 colours: a page of text and flat colour looks the same, in a third
        # of the bytes (the README shows these; the repository keeps them).
        with Image.open(io.BytesIO(shot)) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            small.save(self.folder / f"applicant-{name}-{self.width}.png", optimize=True)


async def walk(live_edge: Edge, page: Page, camera: Camera, person: Person) -> None:
    await page.goto(f"{live_edge.url}/")
    await camera.shoot("home")
    await page.get_by_role("link", name="新用户注册").click()
    await camera.shoot("notice")
    await accept_notice(page)
    await fill_person(page, person)
    phone = page.locator("#f-phone")
    await phone.fill(person.phone[:-1])
    await phone.press("Tab")
    await expect(page.locator("#e-phone")).not_to_be_empty()
    await camera.shoot("form-field-error", at="#field-name")
    await phone.fill(person.phone)
    await phone.press("Tab")
    await page.locator("#unit-search").fill("社区")  # the health centre asks for a signature
    await expect(page.locator("#unit-results button").first).to_be_visible()
    await camera.shoot("form-unit-search", at="#field-unit_search")
    await page.locator("#unit-results button").first.click()
    await page.locator("#username-choices button").first.click()
    await page.locator("#f-password").fill(PASSWORD)
    await expect(page.locator("#e-password")).to_have_text("密码符合要求")
    await camera.shoot("form-account", at="#field-username")
    await choose_photos(page)
    await expect(page.locator("#e-id_card_back")).to_have_text("照片可以使用")
    await camera.shoot("form-photos", at="#field-id_card_front")
    await page.get_by_role("button", name="提交注册").click()
    await expect(page.get_by_role("heading", name="验证手机号码")).to_be_visible(timeout=15000)
    await camera.shoot("phone-code")
    await page.get_by_label("短信验证码").fill(await latest_code(live_edge.db, person.phone))
    await page.get_by_role("button", name="确认验证码").click()
    await page.get_by_role("link", name="查看申请内容并签名").click()
    await camera.shoot("sign")
    await page.get_by_label("我已核对以上内容").check()
    await page.get_by_label("无法手写签名").fill(person.name)
    await page.get_by_role("button", name="确认签名并提交审核").click()
    await expect(page.get_by_role("heading", name="等待单位审核")).to_be_visible(timeout=15000)
    await camera.shoot("review")
    registrations = registrations_of(live_edge)
    workflow_id = registrations.workflow_id(person.id_number)
    reviewer = Reviewer(page.context, live_edge.url)
    await reviewer.log_in("admin_centre")
    await reviewer.decide(
        workflow_id,
        approve=False,
        reason="information_mismatch",
        fields=["email"],
        comment="请填写单位邮箱。",
    )
    await reach(registrations, workflow_id, Stage.AWAITING_CORRECTION)
    await page.reload()
    await camera.shoot("rejected")
    await page.get_by_role("link", name="更正并重新提交").click()
    await camera.shoot("correction")
    await page.goto(f"{live_edge.url}/register/faq")
    await camera.shoot("faq")
    await page.goto(f"{live_edge.url}/register/return")
    await camera.shoot("return")


@pytest.mark.parametrize("width", ["phone", "desktop"])
async def test_screenshots_of_the_applicants_pages(
    live_edge: Edge, browser: Browser, width: str, shots: Path
) -> None:
    phone = width == "phone"
    context = await browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    try:
        page = await context.new_page()
        person = APPLICANTS[1] if phone else APPLICANTS[3]
        await walk(live_edge, page, Camera(page, width, shots), person)
    finally:
        await context.close()
    written = {path.name for path in shots.glob(f"applicant-*-{width}.png")}
    shown = {name for name in readme_screenshots("applicant-") if name.endswith(f"-{width}.png")}
    committed = {path.name for path in SCREENSHOTS.glob(f"applicant-*-{width}.png")}
    assert written == committed and shown <= written
    with Image.open(shots / f"applicant-home-{width}.png") as shot:
        assert shot.width == (PHONE if phone else DESKTOP)["width"]


__all__ = ["Camera", "walk"]
