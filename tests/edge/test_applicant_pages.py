"""The applicant's pages, server side: the field checks are the workflow's own rules, the
consent is needed and cannot be forged, look-ups answer from the tables, refusals are pages,
and the FAQ's numbers are the settings'."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from devtools.samples import card_jpeg
from edge.intake import FIELD_CHECKS, check_field
from edge.web.routes.register_form import PAGE_ORDER
from store.models import Account
from store.seed import APPLICANTS, HEALTH_CENTRE, PEOPLE_HOSPITAL
from testkit import TODAY, count
from testkit.edge import Edge, make_edge
from testkit.harness import App

PERSON = APPLICANTS[0]
HTML = {"accept": "text/html"}


def csrf_of(page: httpx.Response) -> str:
    match = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page.text)
    assert match, page.text[:500]
    return match[1]


async def consented(client: httpx.AsyncClient) -> str:
    """Through the notice with both boxes ticked; returns the CSRF token."""
    csrf = csrf_of(await client.get("/register"))
    answer = await client.post(
        "/register/consent",
        data={
            "csrf_token": csrf,
            "accept_notice": "yes",
            "accept_sensitive": "yes",
            "notice_version": "2026-01",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/register/form"
    return csrf


def test_every_field_the_rules_check_has_its_place_on_the_page() -> None:
    assert set(FIELD_CHECKS) <= set(PAGE_ORDER)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "Zhang San", "name.characters"),
        ("id_number", PERSON.id_number[:-1] + ("0" if PERSON.id_number[-1] != "0" else "1"),
         "id_number.checksum"),
        ("phone", "010-12345678", "phone.not_mobile"),
        ("email", "zhangsan@", "email.value_error"),
        ("unit_code", PEOPLE_HOSPITAL[0][:-1] + "0", "unit_code.checksum"),
        ("unit_name", "院", "unit_name.string_too_short"),
        ("username", "1zhang", "username.start"),
        ("password", "abcdefghij", "password.digit"),
    ],
)  # fmt: skip
async def test_a_field_left_gets_the_message_the_workflow_rules_give(
    edge: Edge, field: str, value: str, code: str
) -> None:
    expected = check_field(field, {field: value}, today=TODAY)
    assert expected is not None and expected.code == code
    async with edge.client() as client:
        csrf = await consented(client)
        answer = await client.post(
            f"/register/check/{field}", data={field: value}, headers={"X-CSRF-Token": csrf}
        )
    assert answer.status_code == 200
    assert answer.text.strip() == expected.message_zh


async def test_a_field_check_without_the_csrf_token_is_refused(edge: Edge) -> None:
    async with edge.client() as client:
        await consented(client)
        answer = await client.post("/register/check/name", data={"name": "张三"})
    assert answer.status_code == 403


async def test_the_password_is_checked_with_the_username_and_the_birth_date(edge: Edge) -> None:
    async with edge.client() as client:
        csrf = {"X-CSRF-Token": await consented(client)}
        with_birth = await client.post(
            "/register/check/password",
            data={"password": "Pass#19900517", "id_number": PERSON.id_number, "username": "zs"},
            headers=csrf,
        )
        with_name = await client.post(
            "/register/check/password",
            data={"password": "zhangsan1990#A", "username": "zhangsan1990"},
            headers=csrf,
        )
        good = await client.post(
            "/register/check/password",
            data={"password": "Good#Pass-2026", "username": "zhangsan1990"},
            headers=csrf,
        )
    assert "出生日期" in with_birth.text
    assert "用户名" in with_name.text
    assert "密码符合要求" in good.text


async def test_unit_and_username_are_checked_against_the_tables(edge: Edge) -> None:
    async with edge.client() as client:
        csrf = {"X-CSRF-Token": await consented(client)}
        mismatch = await client.post(
            "/register/check/unit_name",
            data={"unit_name": PEOPLE_HOSPITAL[1], "unit_code": HEALTH_CENTRE[0]},
            headers=csrf,
        )
        taken = await client.post(
            "/register/check/username",
            data={"username": "admin_hospital", "name": PERSON.name, "id_number": PERSON.id_number},
            headers=csrf,
        )
        free = await client.post(
            "/register/check/username", data={"username": "zhangsan1990"}, headers=csrf
        )
    assert "单位名称与单位代码不一致" in mismatch.text
    assert "已被占用" in taken.text and "zhangsan1990" in taken.text
    assert free.text.strip() == ""


async def test_the_suggested_usernames_are_free_ones(edge: Edge) -> None:
    async with edge.app.state.edge.db.begin() as session:
        hospital_admin = await session.get(Account, "admin_hospital")
        assert hospital_admin is not None
        session.add(
            Account(
                username="zhangsan1990",
                password_hash=hospital_admin.password_hash,
                applicant_key="k" * 32,
                name="张三",
                phone="13800009999",
                email="other@example.cn",
                unit_code=PEOPLE_HOSPITAL[0],
                role="user",
                permissions=[],
                created_at=datetime.now(UTC),
            )
        )
    async with edge.client() as client:
        csrf = {"X-CSRF-Token": await consented(client)}
        answer = await client.post(
            "/register/usernames",
            data={"name": PERSON.name, "id_number": PERSON.id_number},
            headers=csrf,
        )
        nothing = await client.post(
            "/register/usernames", data={"name": PERSON.name, "id_number": "1"}, headers=csrf
        )
    offered = re.findall(r'"f-username": "([a-z0-9_]+)"', answer.text)
    assert offered == ["zhangsan1990_2", "zhangsan1990_3", "zhangsan1990_4"]
    assert "f-username" not in nothing.text


async def test_units_are_found_by_name_or_code(edge: Edge) -> None:
    async with edge.client() as client:
        by_name = await client.get("/register/units", params={"unit_query": "社区卫生"})
        by_code = await client.get("/register/units", params={"unit_query": PEOPLE_HOSPITAL[0][:8]})
        none = await client.get("/register/units", params={"unit_query": "%"})
    assert HEALTH_CENTRE[1] in by_name.text and PEOPLE_HOSPITAL[1] not in by_name.text
    assert PEOPLE_HOSPITAL[0] in by_code.text
    assert "没有找到" in none.text  # a LIKE wildcard is searched for, not expanded


async def test_the_form_needs_both_consents_and_a_forged_one_is_ignored(edge: Edge) -> None:
    async with edge.client() as client:
        assert (await client.get("/register/form")).headers["location"] == "/register"
        csrf = csrf_of(await client.get("/register"))
        half = await client.post(
            "/register/consent", data={"csrf_token": csrf, "accept_notice": "yes"}, headers=HTML
        )
        assert half.status_code == 422
        assert 'id="f-accept_sensitive"' in half.text and "敏感个人信息" in half.text
        assert 'aria-invalid="true" autofocus' in half.text
        await consented(client)
        sealed = client.cookies["jshr_consent"]
        assert (await client.get("/register/form")).status_code == 200
        version, _, mac = sealed.partition(".")
        client.cookies.set("jshr_consent", f"{version}.{'0' * len(mac)}")
        forged = await client.get("/register/form")
    assert forged.status_code == 303 and forged.headers["location"] == "/register"


async def test_a_consent_to_an_older_notice_sends_the_applicant_back_to_read_it(
    edge: Edge,
) -> None:
    async with edge.client() as client:
        csrf = csrf_of(await client.get("/register"))
        await client.post(
            "/register/consent",
            data={
                "csrf_token": csrf,
                "accept_notice": "yes",
                "accept_sensitive": "yes",
                "notice_version": "2025-01",
            },
        )
        form = await client.get("/register/form")
        assert form.headers["location"] == "/register?outdated=1"
        notice = await client.get(form.headers["location"])
    assert "已更新为版本 2026-01" in notice.text


async def test_a_form_without_a_photo_is_refused_at_its_field_and_starts_nothing(
    edge: Edge,
) -> None:
    async with edge.client() as client:
        csrf = await consented(client)
        answer = await client.post(
            "/register/form",
            data={"csrf_token": csrf, "name": PERSON.name, "id_number": PERSON.id_number},
            headers=HTML,
        )
    assert answer.status_code == 422
    assert '<p class="error" id="e-id_card_front"' in answer.text
    assert "请上传身份证人像面照片" in answer.text
    assert 'id="f-phone"' in answer.text and "有效的中国大陆手机号码" in answer.text
    assert f'value="{PERSON.name}"' in answer.text
    assert await count(edge.db, Account, Account.phone_hmac == PERSON.phone) == 0


async def test_a_page_without_the_csrf_token_is_refused_as_a_page(edge: Edge) -> None:
    async with edge.client() as client:
        await consented(client)
        answer = await client.post("/register/form", data={"name": "张三"}, headers=HTML)
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "页面已过期" in answer.text


async def test_without_a_session_my_registration_sends_the_applicant_to_prove_the_phone(
    edge: Edge,
) -> None:
    async with edge.client() as client:
        for path in ("/register/progress", "/register/sign", "/register/correct"):
            answer = await client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/register/return"


async def test_the_faq_tells_the_numbers_the_system_runs_with(app: App) -> None:
    edge = make_edge(
        app,
        phone_code_resend_cooldown_seconds=90,
        phone_code_hourly_cap=4,
        correction_window_days=14,
        photo_max_bytes=3 * 1024 * 1024,
    )
    async with edge.app.router.lifespan_context(edge.app), edge.client() as client:
        faq = (await client.get("/register/faq")).text
    assert "每次需间隔90秒,同一手机号每小时最多4条" in faq
    assert "在14天内修改后重新提交" in faq
    assert "每张不超过3MB" in faq
    assert "第3个工作日仍未审核的,上报系统管理员处理" in faq


async def test_the_start_refuses_an_outdated_consent_by_verifications_own_refusal(
    dev_env: WorkflowEnvironment, app: App
) -> None:
    edge = make_edge(app, temporal=dev_env.client)
    async with edge.app.router.lifespan_context(edge.app), edge.client() as client:
        csrf = csrf_of(await client.get("/register"))
        await client.post(
            "/register/consent",
            data={
                "csrf_token": csrf,
                "accept_notice": "yes",
                "accept_sensitive": "yes",
                "notice_version": "2025-01",
            },
        )
        answer = await client.post(
            "/register/form",
            data={
                "csrf_token": csrf,
                "name": PERSON.name,
                "id_number": PERSON.id_number,
                "phone": PERSON.phone,
                "email": PERSON.email,
                "unit_name": PEOPLE_HOSPITAL[1],
                "unit_code": PEOPLE_HOSPITAL[0],
                "username": "zhangsan1990",
                "password": "Good#Pass-2026",
            },
            files={
                "id_card_front": ("f.jpg", card_jpeg("front"), "image/jpeg"),
                "id_card_back": ("b.jpg", card_jpeg("back"), "image/jpeg"),
            },
            headers=HTML,
        )
        registrations = await edge.app.state.edge.registrations()
        running = await registrations.running(registrations.workflow_id(PERSON.id_number))
    assert answer.status_code == 422
    assert "系统公告与隐私政策已更新,请重新阅读并同意" in answer.text
    assert 'href="/register">重新阅读并同意' in answer.text
    assert not running
