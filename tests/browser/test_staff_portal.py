"""The staff portal in a real browser: a unit admin logs in, finds the application in the
inbox with its deadline, opens it, sees the photos, rejects a field; the applicant's correction
comes back as round 2 with the field highlighted; the admin approves, and the new account sees
its role in the user center. Another unit's admin sees nothing; a form without its CSRF token
is refused; the keyboard alone can approve."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from devtools.demo import read_sms_code
from domain.contracts.registration import PhoneCodeOutcome, Stage
from starter.client import RegistrationClient
from store.seed import APPLICANTS, Person
from testkit import PASSWORD, reach, request
from testkit.edge import STAFF_PASSWORD, Edge

pytestmark = pytest.mark.asyncio


@pytest.fixture
def edge(live_edge: Edge) -> Edge:
    assert live_edge.url is not None and live_edge.harness is not None
    return live_edge


def url(edge: Edge) -> str:
    assert edge.url is not None
    return edge.url


def registrations(edge: Edge) -> RegistrationClient:
    assert edge.harness is not None
    return edge.harness.client


async def in_review(edge: Edge, person: Person = APPLICANTS[0]) -> str:
    client = registrations(edge)
    workflow_id = await client.start(request(person))
    await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(edge.db.sessions, person.phone)
    assert (await client.submit_phone_code(workflow_id, code)).outcome == PhoneCodeOutcome.ACCEPTED
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    return workflow_id


async def log_in(page: Page, edge: Edge, username: str, password: str = STAFF_PASSWORD) -> None:
    await page.goto(f"{url(edge)}/staff/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(re.compile(r"/staff/(inbox|me)$"))


async def row_in_inbox(page: Page, edge: Edge, workflow_id: str, query: str = "") -> None:
    """Visibility lags a little behind the workflow: reload until the row is there."""
    link = page.locator(f'a[href="/staff/applications/{workflow_id}"]')
    for _ in range(50):
        await page.goto(f"{url(edge)}/staff/inbox{query}")
        if await link.count():
            return
        await page.wait_for_timeout(200)
    await expect(link).to_be_visible()


async def test_review_reject_correct_approve_and_the_new_account(
    edge: Edge, phone: BrowserContext, desktop: BrowserContext
) -> None:
    workflow_id = await in_review(edge)
    page = await phone.new_page()
    await log_in(page, edge, "admin_hospital")
    await row_in_inbox(page, edge, workflow_id)
    row = page.locator(".inbox-row", has=page.locator(f'a[href$="{workflow_id}"]'))
    await expect(row).to_contain_text("张*")
    deadline = re.compile(r"截止 \d+月\d+日\(周.\) 09:00 · 还剩 \d 个工作日")
    await expect(row).to_contain_text(deadline)

    await row.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="审核详情")).to_be_visible()
    await expect(page.locator('[data-field="email"] dd')).to_have_text(APPLICANTS[0].email)
    front = page.get_by_alt_text("申请人上传的身份证人像面照片")
    await expect(front).to_be_visible()
    await page.wait_for_function(
        "document.querySelector('.photos img').complete"
        " && document.querySelector('.photos img').naturalWidth > 0"
    )
    photo = await page.request.get(f"{url(edge)}/api/v1/review/{workflow_id}/photos/front")
    assert photo.status == 200 and photo.headers["cache-control"] == "no-store"

    await page.get_by_label("驳回原因").select_option("information_mismatch")
    await page.get_by_label("电子邮箱").check()
    await page.get_by_label("说明(申请人可见)").fill("请填写本人常用邮箱")
    await page.get_by_role("button", name="驳回…").click()
    await expect(page.get_by_role("heading", name="确认审核结论")).to_be_visible()
    await expect(page.locator(".confirm-box")).to_contain_text("问题字段:电子邮箱")
    await page.get_by_role("button", name="确认驳回").click()
    await expect(page.locator("#decision-result")).to_contain_text("已驳回")

    # The applicant corrects the e-mail (through the client, as the applicant's pages do).
    client = registrations(edge)
    await reach(client, workflow_id, Stage.AWAITING_CORRECTION)
    await client.resubmit(workflow_id, request(email="zhang.san@example.cn"))
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    await row_in_inbox(page, edge, workflow_id, "?round=resubmitted")
    await expect(row).to_contain_text("第2轮 · 已更正")
    await page.locator(f'a[href="/staff/applications/{workflow_id}"]').click()
    email = page.locator('[data-field="email"]')
    await expect(email).to_have_class(re.compile(r"\bchanged\b"))
    await expect(email).to_contain_text("已更正")
    await expect(page.get_by_role("note")).to_contain_text("电子邮箱")
    await expect(page.locator("section", has_text="此前的驳回")).to_contain_text("信息不符")

    await page.get_by_role("button", name="通过…").click()
    await page.get_by_role("button", name="确认通过").click()
    await expect(page.locator("#decision-result")).to_contain_text("已通过")
    assert (await client.result(workflow_id)).stage == Stage.COMPLETED
    await page.goto(f"{url(edge)}/staff/inbox?tab=decided")
    decided = page.locator(".card", has=page.locator(f'a[href$="{workflow_id}"]'))
    await expect(decided).to_have_count(2)  # rejected in round 1, approved in round 2
    await expect(decided.first).to_contain_text("结论:通过")
    await expect(decided.last).to_contain_text("结论:驳回")

    # The new account logs in and finds its role in the user center.
    newcomer = await desktop.new_page()
    await log_in(newcomer, edge, "zhangsan1990", PASSWORD)
    await expect(newcomer).to_have_url(f"{url(edge)}/staff/me")
    await expect(newcomer.locator("#role")).to_have_text("普通用户")
    await expect(newcomer.get_by_text("查询个人记录(本人)")).to_be_visible()


async def test_another_units_admin_sees_no_row_and_gets_403(
    edge: Edge, desktop: BrowserContext
) -> None:
    workflow_id = await in_review(edge)
    ours = await desktop.new_page()
    await log_in(ours, edge, "admin_hospital")
    await row_in_inbox(ours, edge, workflow_id)  # it is visible, to the right admin

    assert desktop.browser is not None
    other = await (await desktop.browser.new_context()).new_page()
    await log_in(other, edge, "admin_centre")
    await other.goto(f"{url(edge)}/staff/inbox")
    await expect(other.locator(f'a[href$="{workflow_id}"]')).to_have_count(0)
    answer = await other.goto(f"{url(edge)}/staff/applications/{workflow_id}")
    assert answer is not None and answer.status == 403
    await expect(other.get_by_role("alert")).to_contain_text("您不能审核该申请")
    photo = await other.request.get(f"{url(edge)}/api/v1/review/{workflow_id}/photos/front")
    assert photo.status == 403


async def test_a_post_without_the_csrf_token_is_refused(
    edge: Edge, desktop: BrowserContext
) -> None:
    workflow_id = await in_review(edge)
    page = await desktop.new_page()
    await log_in(page, edge, "admin_hospital")
    answer = await page.request.post(
        f"{url(edge)}/staff/applications/{workflow_id}/decision",
        form={"decision": "approve", "decision_id": "0" * 32},
    )
    assert answer.status == 403 and "页面已过期" in await answer.text()
    assert (await registrations(edge).status(workflow_id)).stage == Stage.AWAITING_REVIEW


async def test_the_keyboard_alone_approves(edge: Edge, desktop: BrowserContext) -> None:
    workflow_id = await in_review(edge)
    page = await desktop.new_page()
    await page.goto(f"{url(edge)}/staff/login")
    await page.keyboard.press("Tab")  # the skip link
    for _ in range(10):
        if await page.evaluate("document.activeElement.id") == "username":
            break
        await page.keyboard.press("Tab")
    await page.keyboard.type("admin_hospital")
    await page.keyboard.press("Tab")
    await page.keyboard.type(STAFF_PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/staff/inbox$"))

    await page.goto(f"{url(edge)}/staff/applications/{workflow_id}")
    for _ in range(80):
        if await page.evaluate("document.activeElement.id") == "approve":
            break
        await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "approve"
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="确认通过")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#decision-result")).to_contain_text("已通过")
    assert (await registrations(edge).result(workflow_id)).stage == Stage.COMPLETED


async def test_htmx_checks_the_new_password_when_the_field_is_left(
    edge: Edge, phone: BrowserContext
) -> None:
    page = await phone.new_page()
    await log_in(page, edge, "admin_centre")
    await page.goto(f"{url(edge)}/staff/password")
    await page.get_by_label("新密码", exact=True).fill("short")
    await page.keyboard.press("Tab")
    await expect(page.locator("#new_password-live")).to_contain_text("密码")
    await expect(page.locator("#new_password-live .field-error")).to_be_visible()
    await page.get_by_label("新密码", exact=True).fill("Better#Pass-2027")
    await page.keyboard.press("Tab")
    await expect(page.locator("#new_password-live")).to_have_text("密码符合要求")


async def test_a_refused_login_announces_its_errors_and_focuses_the_first(
    edge: Edge, phone: BrowserContext
) -> None:
    page = await phone.new_page()
    await page.goto(f"{url(edge)}/staff/login")
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("alert")).to_contain_text("请填写用户名")
    await expect(page.get_by_label("用户名")).to_be_focused()
    await expect(page.get_by_label("用户名")).to_have_attribute("aria-invalid", "true")
    described = await page.get_by_label("用户名").get_attribute("aria-describedby")
    assert described == "username-error"
    await expect(page.locator("#username-error")).to_have_text("请填写用户名")
