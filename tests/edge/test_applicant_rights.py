"""The applicant's rights in the pages (PIPL arts. 44-47), on the dev server: 我的个人信息 shows
what is held and until when, without the SMS code and with the ID number and phone masked;
申请删除 deletes only an ended registration without an account, only when confirmed, only with
the page's CSRF token, and only for the registration the session is bound to."""

from __future__ import annotations

import httpx

from devtools.demo import read_sms_code
from domain import rules, texts
from domain.contracts.registration import Stage
from store.documents import LocalDocumentStore
from store.models import AuditEvent, OutboxMessage, PhoneCode
from store.seed import APPLICANTS, PEOPLE_HOSPITAL
from testkit import count, eventually, reach
from testkit.edge import Edge
from tests.edge.test_registration_api import API, start, start_as

HTML = {"accept": "text/html"}
PERSON = APPLICANTS[0]


async def photos_held(live: Edge, client: httpx.AsyncClient, workflow_id: str) -> list[bool]:
    documents = LocalDocumentStore(live.db.settings.document_dir)
    refs = (await client.get(f"{API}/{workflow_id}/personal-data")).json()["photos"]
    return [await documents.exists(ref) for ref in refs]


async def test_my_data_shows_what_is_held_and_until_when(live: Edge) -> None:
    assert live.harness is not None
    async with live.client() as applicant:
        started = (await start(applicant)).json()
        workflow_id = started["workflow_id"]
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await read_sms_code(live.db.sessions, PERSON.phone)

        progress = await applicant.get("/register/progress", headers=HTML)
        assert 'href="/register/my-data">我的个人信息</a>' in progress.text
        page = await applicant.get("/register/my-data", headers=HTML)

    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert PERSON.name in text and PERSON.email in text
    assert rules.mask_id_number(PERSON.id_number) in text and PERSON.id_number not in text
    assert rules.mask_phone(PERSON.phone) in text and PERSON.phone not in text
    assert code not in text
    assert "身份证人像面" in text and "身份证国徽面" in text
    assert "短信 · 验证码" in text and "短信验证码记录</dt><dd>1条" in text
    retention = texts.RIGHTS_RETENTION.format(documents_days=30, applicant_days=90)
    assert retention in text and texts.RIGHTS_WHILE_RUNNING in text
    # Still running: no erasure, the way out is to withdraw first.
    assert texts.ERASURE_STILL_RUNNING in text and 'href="/register/withdraw"' in text
    assert 'href="/register/erase"' not in text


async def test_without_a_session_the_pages_send_the_applicant_to_prove_the_phone(
    live: Edge,
) -> None:
    async with live.client() as browser:
        for path in ("/register/my-data", "/register/erase"):
            answer = await browser.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/register/return"


async def test_erasure_is_refused_while_running_unconfirmed_without_csrf_or_for_another(
    live: Edge,
) -> None:
    assert live.harness is not None
    async with live.client() as applicant, live.client() as other:
        started = (await start(applicant)).json()
        workflow_id, csrf = started["workflow_id"], started["csrf_token"]
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        confirmed = {"csrf_token": csrf, "registration": workflow_id, "confirm": "yes"}

        running = await applicant.get("/register/erase", headers=HTML)
        assert texts.ERASURE_STILL_RUNNING in running.text
        assert 'href="/register/withdraw"' in running.text and "确认删除" not in running.text
        posted = await applicant.post("/register/erase", data=confirmed, headers=HTML)
        assert posted.status_code == 409 and texts.ERASURE_STILL_RUNNING in posted.text

        withdrawn = await applicant.post(
            "/register/withdraw", data={"csrf_token": csrf, "confirm": "yes"}, headers=HTML
        )
        assert withdrawn.status_code == 303
        assert (await live.harness.client.status(workflow_id)).stage == Stage.WITHDRAWN
        confirmation = await applicant.get("/register/erase", headers=HTML)
        assert "我确认删除本次注册申请的资料" in confirmation.text
        assert f'name="registration" value="{workflow_id}"' in confirmation.text

        no_csrf = await applicant.post(
            "/register/erase", data={"registration": workflow_id, "confirm": "yes"}, headers=HTML
        )
        assert no_csrf.status_code == 403 and "页面已过期" in no_csrf.text
        unticked = await applicant.post(
            "/register/erase", data={"csrf_token": csrf, "registration": workflow_id}
        )
        assert unticked.status_code == 422
        assert texts.EDGE["erasure.unconfirmed"].zh in unticked.text

        # Another applicant's session, confirming for this registration: refused.
        theirs = await start_as(other, APPLICANTS[1], PEOPLE_HOSPITAL)
        assert theirs["workflow_id"] != workflow_id
        crossed = await other.post(
            "/register/erase",
            data={**confirmed, "csrf_token": theirs["csrf_token"]},
            headers=HTML,
        )
        assert (
            crossed.status_code == 403 and texts.EDGE["registration.not_yours"].zh in crossed.text
        )
        mine = await applicant.post(
            "/register/erase", data={**confirmed, "csrf_token": theirs["csrf_token"]}
        )
        assert mine.status_code == 403  # their CSRF token is not this session's

        assert await photos_held(live, applicant, workflow_id) == [True, True]
        erasures = AuditEvent.kind == "erasure", AuditEvent.registration_id.startswith(workflow_id)
        assert await count(live.db, AuditEvent, *erasures) == 0
        assert await count(live.db, PhoneCode, PhoneCode.registration_id.startswith(workflow_id))


async def test_a_withdrawn_registration_is_erased_after_the_confirmation(live: Edge) -> None:
    assert live.harness is not None
    documents = LocalDocumentStore(live.db.settings.document_dir)
    async with live.client() as applicant:
        started = (await start(applicant)).json()
        workflow_id, csrf = started["workflow_id"], started["csrf_token"]
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        refs = (await applicant.get(f"{API}/{workflow_id}/personal-data")).json()["photos"]
        await applicant.post("/register/withdraw", data={"csrf_token": csrf, "confirm": "yes"})
        assert (await live.harness.client.status(workflow_id)).stage == Stage.WITHDRAWN

        held = await applicant.get("/register/my-data", headers=HTML)
        assert 'href="/register/erase"' in held.text
        erased = await applicant.post(
            "/register/erase",
            data={"csrf_token": csrf, "registration": workflow_id, "confirm": "yes"},
            headers=HTML,
        )
        assert erased.status_code == 200, erased.text
        assert texts.ERASURE_DONE in erased.text
        assert "身份证照片 2 张" in erased.text and "短信验证码记录 1 条" in erased.text
        assert texts.ERASURE_TEMPORAL_NOTE.format(documents_days=30, applicant_days=90) in (
            erased.text
        )
        after = await applicant.get("/register/my-data", headers=HTML)

    assert [await documents.exists(ref) for ref in refs] == [False, False]
    assert (
        await count(live.db, OutboxMessage, OutboxMessage.idempotency_key.startswith(workflow_id))
        == 0
    )
    assert await count(live.db, PhoneCode, PhoneCode.registration_id.startswith(workflow_id)) == 0
    erasures = AuditEvent.kind == "erasure", AuditEvent.registration_id.startswith(workflow_id)
    assert await count(live.db, AuditEvent, *erasures, AuditEvent.actor == "applicant") == 1
    assert "短信验证码记录</dt><dd>0条" in after.text and "按您的申请删除" in after.text
    assert "身份证人像面" not in after.text and "已于 " in after.text


async def test_a_registration_that_became_an_account_is_sent_to_the_user_center(
    live: Edge,
) -> None:
    assert live.harness is not None
    async with live.client() as applicant:
        started = (await start(applicant)).json()
        workflow_id, csrf = started["workflow_id"], started["csrf_token"]
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await read_sms_code(live.db.sessions, PERSON.phone)
        await applicant.post(
            f"{API}/{workflow_id}/phone-code", json={"code": code}, headers={"X-CSRF-Token": csrf}
        )
        await reach(live.harness.client, workflow_id, Stage.AWAITING_REVIEW)

        async with live.client() as admin:
            staff_csrf = {"X-CSRF-Token": await live.login(admin, "admin_hospital")}

            async def decided() -> bool:
                answer = await admin.post(
                    f"{API.replace('registrations', 'review')}/{workflow_id}/decision",
                    json={"approve": True},
                    headers=staff_csrf,
                )
                return answer.status_code == 200

            await eventually(decided)
        await reach(live.harness.client, workflow_id, Stage.COMPLETED)

        page = await applicant.get("/register/erase", headers=HTML)
        posted = await applicant.post(
            "/register/erase",
            data={"csrf_token": csrf, "registration": workflow_id, "confirm": "yes"},
            headers=HTML,
        )
        still_held = await photos_held(live, applicant, workflow_id)
    assert texts.ERASURE_HAS_ACCOUNT in page.text and texts.ERASURE_ACCOUNT_HINT in page.text
    assert "确认删除" not in page.text
    assert posted.status_code == 409 and texts.ERASURE_HAS_ACCOUNT in posted.text
    assert still_held == [True, True]
    erasures = AuditEvent.kind == "erasure", AuditEvent.registration_id.startswith(workflow_id)
    assert await count(live.db, AuditEvent, *erasures) == 0
