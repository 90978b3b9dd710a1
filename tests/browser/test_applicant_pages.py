"""One applicant's whole registration in Chromium at phone size (seed 一 to 六): the notice, the
form with a mistake corrected as the field is left, an 8 MB phone photo the page compresses, a
wrong SMS code then the right one, the e-signature, a rejection by the unit admin, the
correction, the approval and the login."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.async_api import BrowserContext, Page, expect
from temporalio.service import RPCError

from devtools.samples import card_jpeg
from domain.contracts.registration import Stage
from store.seed import APPLICANTS, HEALTH_CENTRE, PEOPLE_HOSPITAL
from testkit import reach
from testkit.edge import Edge
from tests.browser.applicant import (
    Reviewer,
    accept_notice,
    choose_photos,
    fill_person,
    fill_unit,
    jpeg,
    latest_code,
    phone_photo,
    registrations_of,
    sms_codes,
)

PERSON = APPLICANTS[0]
PASSWORD = "Sichuan#Road-2026"


async def fill_form_with_one_mistake(page: Page) -> None:
    """The phone typed one digit short: refused as the field is left, then corrected."""
    await fill_person(page, PERSON)
    phone = page.locator("#f-phone")
    await phone.fill(PERSON.phone[:-1])
    await phone.press("Tab")
    await expect(page.locator("#e-phone")).to_have_text(re.compile("有效的中国大陆手机号码"))
    await expect(phone).to_have_attribute("aria-invalid", "true")
    await phone.fill(PERSON.phone)
    await phone.press("Tab")
    await expect(page.locator("#e-phone")).to_be_empty()
    await expect(phone).not_to_have_attribute("aria-invalid", "true")
    # The unit by name, from the units table.
    await page.locator("#unit-search").fill("社区卫生")
    await page.get_by_role("button", name=re.compile(HEALTH_CENTRE[1])).click()
    await expect(page.locator("#f-unit_code")).to_have_value(HEALTH_CENTRE[0])
    await expect(page.locator("#f-unit_name")).to_have_value(HEALTH_CENTRE[1])
    # The username: name pinyin + birth year, free in the accounts table.
    await page.get_by_role("button", name="zhangsan1990", exact=True).click()
    await expect(page.locator("#f-username")).to_have_value("zhangsan1990")
    await page.locator("#f-password").fill(PASSWORD)
    await expect(page.locator("#e-password")).to_have_text("密码符合要求")


async def choose_photos_with_a_large_one(page: Page) -> None:
    large = phone_photo()
    await page.locator("#f-id_card_front").set_input_files(jpeg(large, "IMG_0001.jpg"))  # type: ignore[arg-type]
    await expect(page.locator("#s-id_card_front")).to_have_text(
        re.compile("照片已压缩"), timeout=20000
    )
    await expect(page.locator("#e-id_card_front")).to_have_text("照片可以使用", timeout=20000)
    sent = await page.locator("#f-id_card_front").evaluate("input => input.files[0].size")
    assert sent < 4 * 1024 * 1024 < len(large)
    await expect(page.locator("#p-id_card_front")).to_be_visible()
    await page.locator("#f-id_card_back").set_input_files(jpeg(card_jpeg("back"), "back.jpg"))  # type: ignore[arg-type]
    await expect(page.locator("#e-id_card_back")).to_have_text("照片可以使用")


async def confirm_phone(page: Page, live_edge: Edge) -> None:
    await expect(page.get_by_role("heading", name="验证手机号码")).to_be_visible(timeout=15000)
    code = await latest_code(live_edge.db, PERSON.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    field = page.get_by_label("短信验证码")
    assert await field.get_attribute("autocomplete") == "one-time-code"
    assert await field.get_attribute("inputmode") == "numeric"
    await field.fill(wrong)
    await page.get_by_role("button", name="确认验证码").click()
    await expect(page.locator("#e-code")).to_have_text(re.compile(r"验证码错误,还可尝试4次"))
    await expect(page.get_by_label("短信验证码")).to_be_focused()
    await page.get_by_label("短信验证码").fill(code)
    await page.get_by_role("button", name="确认验证码").click()


async def sign_by_hand(page: Page) -> None:
    await expect(page.get_by_role("heading", name="请进行电子签名确认")).to_be_visible()
    await page.get_by_role("link", name="查看申请内容并签名").click()
    await expect(page.locator(".digest")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    await page.get_by_label("我已核对以上内容").check()
    pad = await page.locator("#signature-pad").bounding_box()
    assert pad is not None
    await page.mouse.move(pad["x"] + 20, pad["y"] + pad["height"] / 2)
    await page.mouse.down()
    for step in range(1, 12):
        await page.mouse.move(
            pad["x"] + 20 + step * 25, pad["y"] + pad["height"] / 2 + (15 if step % 2 else -15)
        )
    await page.mouse.up()
    await page.get_by_role("button", name="确认签名并提交审核").click()


async def test_a_registration_from_the_notice_to_the_user_center(
    live_edge: Edge, phone: BrowserContext, desktop: BrowserContext
) -> None:
    page = await phone.new_page()
    urls: list[str] = []
    page.on("request", lambda sent: urls.append(sent.url))
    await page.goto(f"{live_edge.url}/")
    await page.get_by_role("link", name="新用户注册").click()
    await accept_notice(page)
    await fill_form_with_one_mistake(page)
    await choose_photos_with_a_large_one(page)
    await page.get_by_role("button", name="提交注册").click()

    await confirm_phone(page, live_edge)
    progress = await page.request.get(f"{live_edge.url}/register/progress")
    assert progress.headers["cache-control"] == "no-store"
    await sign_by_hand(page)
    await expect(page.get_by_role("heading", name="等待单位审核")).to_be_visible(timeout=15000)
    await expect(page.get_by_text("个工作日,")).to_be_visible()
    await page.get_by_role("button", name="催办").click()
    await expect(page.get_by_text("已提醒审核人")).to_be_visible()
    await page.get_by_role("button", name="催办").click()
    await expect(page.get_by_text("今天已催办过")).to_be_visible()

    # The unit admin, in a browser of their own, rejects the portrait side with a comment.
    registrations = registrations_of(live_edge)
    workflow_id = registrations.workflow_id(PERSON.id_number)
    assert workflow_id not in page.url
    reviewer = Reviewer(desktop, live_edge.url)
    await reviewer.log_in("admin_centre")
    rejected = await reviewer.decide(
        workflow_id,
        approve=False,
        reason="photo_unclear",
        fields=["id_card_front"],
        comment="人像面反光,请重新拍摄。",
    )
    assert rejected["accepted"] is True
    await page.reload()
    await expect(page.get_by_text("审核未通过,请更正后重新提交")).to_be_visible()
    await page.get_by_role("link", name="更正并重新提交").click()
    await expect(page.locator("#e-id_card_front")).to_have_text(re.compile("人像面反光"))
    await expect(page.locator("#f-name")).to_have_value(PERSON.name)
    await expect(page.locator("#f-id_number")).to_have_attribute("readonly", "")
    await page.locator("#f-id_card_front").set_input_files(jpeg(card_jpeg("front"), "new.jpg"))  # type: ignore[arg-type]
    await page.locator("#f-password").fill(PASSWORD)
    await page.get_by_label("我已阅读并同意").check()
    await page.get_by_label("我单独同意").check()
    await page.get_by_role("button", name="重新提交").click()

    # The corrected application is signed again, this time by typing the name.
    await expect(page.get_by_role("heading", name="请进行电子签名确认")).to_be_visible(
        timeout=15000
    )
    await page.get_by_role("link", name="查看申请内容并签名").click()
    await page.get_by_label("我已核对以上内容").check()
    await page.get_by_label("无法手写签名").fill(PERSON.name)
    await page.get_by_role("button", name="确认签名并提交审核").click()
    await expect(page.get_by_text("第2次提交")).to_be_visible(timeout=15000)
    await reach(registrations, workflow_id, Stage.AWAITING_REVIEW)
    status = await registrations.status(workflow_id)
    assert status.changed_fields == ["id_card_front"]

    assert (await reviewer.decide(workflow_id, approve=True))["accepted"] is True
    await reach(registrations, workflow_id, Stage.COMPLETED)
    await page.reload()
    await expect(page.get_by_role("heading", name="注册成功")).to_be_visible()
    await expect(page.get_by_text("zhangsan1990")).to_be_visible()

    # The new account logs in and holds the ordinary user's role.
    login = await page.request.post(
        f"{live_edge.url}/api/v1/staff/session",
        data={"username": "zhangsan1990", "password": PASSWORD},
    )
    assert login.ok, await login.text()
    who = await page.request.get(f"{live_edge.url}/api/v1/staff/session")
    assert (await who.json())["role"] == "user"
    assert len(await sms_codes(live_edge.db, PERSON.phone)) == 1
    # Nothing personal in any address the pages asked for (their forms post it).
    for personal in (PERSON.id_number, PERSON.phone, PERSON.name, quote(PERSON.name)):
        assert not [url for url in urls if personal in url], personal


async def test_a_form_the_checks_refuse_keeps_its_photos_and_focuses_the_field(
    live_edge: Edge, phone: BrowserContext
) -> None:
    """The name and ID number pass their own rules but do not belong together: the real-name
    check refuses the form, which keeps everything chosen and puts the focus on the name."""
    page = await phone.new_page()
    await page.goto(f"{live_edge.url}/register")
    await accept_notice(page)
    await fill_person(page, PERSON)
    await page.locator("#f-name").fill("张四")
    await fill_unit(page, PEOPLE_HOSPITAL)
    await page.locator("#f-username").fill("zhangsi1990")
    await page.locator("#f-password").fill(PASSWORD)
    await choose_photos(page)
    await expect(page.locator("#e-id_card_back")).to_have_text("照片可以使用")
    await page.get_by_role("button", name="提交注册").click()
    summary = page.get_by_role("alert")
    await expect(summary).to_contain_text("姓名与身份证号不匹配")
    await expect(page.locator("#f-name")).to_be_focused()
    await expect(page.locator("#f-name")).to_have_attribute("aria-invalid", "true")
    chosen = await page.locator("#f-id_card_front").evaluate("input => input.files.length")
    assert chosen == 1 and page.url.endswith("/register/form")
    registrations = registrations_of(live_edge)
    with pytest.raises(RPCError):  # nothing started
        await registrations.status(registrations.workflow_id(PERSON.id_number))
