"""The core forms without JavaScript: plain posts and re-rendered pages register an applicant,
a refused form shows its errors at their fields with the focus on the first, and an 8 MB photo
the page could not compress is fitted by the edge."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from store.seed import APPLICANTS, PEOPLE_HOSPITAL
from testkit.edge import Edge
from tests.browser.applicant import (
    accept_notice,
    choose_photos,
    fill_person,
    latest_code,
    phone_photo,
)
from tests.browser.conftest import PHONE

PERSON = APPLICANTS[1]


@pytest.fixture
async def no_js(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        java_script_enabled=False,
    )
    yield context
    await context.close()


async def test_without_javascript_an_applicant_still_registers(
    live_edge: Edge, no_js: BrowserContext
) -> None:
    page = await no_js.new_page()
    await page.goto(f"{live_edge.url}/register")
    # Only one box ticked: the separate consent is refused at its field.
    await page.get_by_label("我已阅读并同意").check()
    await page.get_by_role("button", name="同意并继续").click()
    await expect(page.locator("#e-accept_sensitive")).to_have_text(re.compile("敏感个人信息"))
    await expect(page.locator("#f-accept_sensitive")).to_be_focused()
    await accept_notice(page)

    # The unit search and the username buttons need JavaScript: typed by hand instead.
    await expect(page.locator("#unit-search")).to_be_hidden()
    await fill_person(page, PERSON)
    await page.locator("#f-email").fill("ouyang@")
    await page.locator("#f-unit_name").fill(PEOPLE_HOSPITAL[1])
    await page.locator("#f-unit_code").fill(PEOPLE_HOSPITAL[0])
    await page.locator("#f-username").fill("ouyangmingyue1988")
    await page.locator("#f-password").fill("Good#Pass-2026")
    await choose_photos(page, front=phone_photo())
    await page.get_by_role("button", name="提交注册").click()

    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("请更正以下1处问题")
    await expect(summary).to_contain_text("请重新选择身份证照片")
    await expect(page.locator("#f-email")).to_be_focused()
    await expect(page.locator("#f-email")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-name")).to_have_value(PERSON.name)
    assert await page.locator("#f-password").input_value() == ""

    await page.locator("#f-email").fill(PERSON.email)
    await page.locator("#f-password").fill("Good#Pass-2026")
    await choose_photos(page, front=phone_photo())
    await page.get_by_role("button", name="提交注册").click()
    await expect(page.get_by_role("heading", name="验证手机号码")).to_be_visible(timeout=20000)
    await page.get_by_label("短信验证码").fill(await latest_code(live_edge.db, PERSON.phone))
    await page.get_by_role("button", name="确认验证码").click()
    await expect(page.get_by_role("heading", name="等待单位审核")).to_be_visible(timeout=15000)
    await expect(page.get_by_text(PEOPLE_HOSPITAL[1]).first).to_be_visible()
