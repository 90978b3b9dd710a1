"""Coming back (查询注册进度) by ID number, phone and SMS code; an expired code answered at
once; a new code once the cooldown is over; and withdrawing with a confirmation."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select

from domain.contracts.registration import Stage
from store.models import PhoneCode
from store.seed import APPLICANTS
from testkit import eventually, outbox, reach, request
from testkit.edge import Edge
from tests.browser.applicant import latest_code, registrations_of, sms_codes

PERSON = APPLICANTS[2]
_REENTRY = re.compile(r"查看注册申请的验证码为(\d{6})")


async def reentry_code(live_edge: Edge, phone: str) -> str:
    async def sent() -> list[str]:
        return [
            m[1]
            for row in await outbox(live_edge.db, phone, "sms")
            if (m := _REENTRY.search(row.body))
        ]

    return (await eventually(sent))[-1]


async def move_codes_back(live_edge: Edge, **delta: float) -> None:
    """The clock of the registration's SMS codes, moved back: as if that much time had passed."""
    async with live_edge.db.sessions.begin() as session:
        for row in await session.scalars(select(PhoneCode).where(PhoneCode.phone == PERSON.phone)):
            row.sent_at -= timedelta(**delta)
            row.expires_at -= timedelta(**delta)


async def come_back(page: Page, live_edge: Edge, phone: str) -> None:
    await page.goto(f"{live_edge.url}/")
    await page.get_by_role("link", name="查询注册进度").click()
    await page.get_by_label("身份证号码").fill(PERSON.id_number)
    await page.get_by_label("手机号码").fill(phone)
    await page.get_by_role("button", name="获取验证码").click()
    await expect(page.get_by_text("如您填写的信息与注册申请一致")).to_be_visible()


async def test_an_applicant_comes_back_by_phone_and_withdraws(
    live_edge: Edge, phone: BrowserContext
) -> None:
    registrations = registrations_of(live_edge)
    workflow_id = await registrations.start(request(PERSON))
    await reach(registrations, workflow_id, Stage.AWAITING_PHONE_CODE)
    page = await phone.new_page()

    # Another phone gets the same answer, and no SMS.
    await come_back(page, live_edge, "13912345678")
    await come_back(page, live_edge, PERSON.phone)
    code = await reentry_code(live_edge, PERSON.phone)
    assert await outbox(live_edge.db, "13912345678") == []
    await page.get_by_label("短信验证码").fill(f"{(int(code) + 1) % 1_000_000:06d}")
    await page.get_by_role("button", name="验证并查看").click()
    await expect(page.get_by_role("alert")).to_contain_text("验证码错误,还可尝试4次")
    await page.get_by_label("短信验证码").fill(code)
    await page.get_by_role("button", name="验证并查看").click()
    await expect(page.get_by_role("heading", name="验证手机号码")).to_be_visible()
    assert page.url.endswith("/register/progress")

    # The registration's code, expired: said at once.
    registration_code = await latest_code(live_edge.db, PERSON.phone)
    await move_codes_back(live_edge, minutes=10)
    await page.get_by_label("短信验证码").fill(registration_code)
    await page.get_by_role("button", name="确认验证码").click()
    await expect(page.locator("#e-code")).to_have_text("验证码已过期,请重新获取")

    # The cooldown is over (10 minutes ago): a new code.
    await page.reload()
    resend = page.get_by_role("button", name="重新获取验证码")
    await expect(resend).to_be_enabled()
    await resend.click()
    await expect(page.get_by_text("验证码已重新发送")).to_be_visible()
    assert len(await sms_codes(live_edge.db, PERSON.phone)) >= 2
    await page.get_by_label("短信验证码").fill(
        await latest_code(live_edge.db, PERSON.phone, after=1)
    )
    await page.get_by_role("button", name="确认验证码").click()
    await expect(page.get_by_role("heading", name="等待单位审核")).to_be_visible(timeout=15000)

    # Withdraw, confirmed only when ticked.
    await page.get_by_role("link", name="撤回申请").click()
    await page.get_by_role("button", name="确认撤回").click()
    await expect(page.get_by_role("alert")).to_contain_text("请勾选确认撤回申请")
    await page.get_by_label("我确认撤回本次注册申请").check()
    await page.get_by_role("button", name="确认撤回").click()
    await expect(page.get_by_role("heading", name="您已撤回注册申请")).to_be_visible()
    assert (await registrations.status(workflow_id)).stage == Stage.WITHDRAWN
