"""The applicant's rights at phone width: from 注册进度 to 我的个人信息 (what is held, masked,
and until when), told to withdraw first, withdrawing, then 申请删除 with its confirmation."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from domain import rules, texts
from domain.contracts.registration import Stage
from store.documents import LocalDocumentStore
from store.models import RegistrationDocument
from store.seed import APPLICANTS
from testkit import count, reach, request
from testkit.edge import Edge
from tests.browser.applicant import registrations_of
from tests.browser.test_applicant_return import come_back, reentry_code

# come_back() asks for this person's ID number.
PERSON = APPLICANTS[2]


async def test_an_applicant_sees_their_data_withdraws_and_has_it_erased(
    live_edge: Edge, phone: BrowserContext
) -> None:
    registrations = registrations_of(live_edge)
    workflow_id = await registrations.start(request(PERSON))
    await reach(registrations, workflow_id, Stage.AWAITING_PHONE_CODE)
    page = await phone.new_page()
    await come_back(page, live_edge, PERSON.phone)
    await page.get_by_label("短信验证码").fill(await reentry_code(live_edge, PERSON.phone))
    await page.get_by_role("button", name="验证并查看").click()
    await expect(page.get_by_role("heading", name="验证手机号码")).to_be_visible()

    await page.get_by_role("link", name="我的个人信息").click()
    await expect(page.get_by_role("heading", name="我的个人信息", exact=True)).to_be_visible()
    await expect(page.get_by_text(rules.mask_id_number(PERSON.id_number))).to_be_visible()
    await expect(page.get_by_text("身份证人像面")).to_be_visible()
    await expect(page.get_by_text(texts.ERASURE_STILL_RUNNING)).to_be_visible()
    body = await page.locator("body").inner_text()
    assert PERSON.id_number not in body and PERSON.phone not in body
    # Mobile first: nothing wider than the phone.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    await page.get_by_role("link", name="撤回申请").click()
    await page.get_by_label("我确认撤回本次注册申请").check()
    await page.get_by_role("button", name="确认撤回").click()
    await expect(page.get_by_role("heading", name="您已撤回注册申请")).to_be_visible()

    await page.get_by_role("link", name="我的个人信息").click()
    await page.get_by_role("link", name="申请删除").click()
    await expect(page.get_by_role("heading", name="申请删除注册资料")).to_be_visible()
    await page.get_by_role("button", name="确认删除").click()
    await expect(page.get_by_role("alert")).to_contain_text("请勾选确认删除注册资料")
    assert await count(live_edge.db, RegistrationDocument) == 2
    await page.get_by_label("我确认删除本次注册申请的资料").check()
    await page.get_by_role("button", name="确认删除").click()
    await expect(page.get_by_role("heading", name=texts.ERASURE_DONE)).to_be_visible()
    await expect(page.get_by_text("身份证照片 2 张")).to_be_visible()
    await expect(page.get_by_text("流程记录")).to_be_visible()

    assert PERSON.phone not in page.url and PERSON.id_number not in page.url
    assert await count(live_edge.db, RegistrationDocument) == 0
    documents = LocalDocumentStore(live_edge.db.settings.document_dir)
    front = (await registrations.application(workflow_id)).id_card_front
    assert not await documents.exists(front)
