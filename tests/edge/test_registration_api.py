"""A registration through the edge's API, on the dev server: started with photos by
an applicant's browser, its phone proved, decided by the logged-in unit admin."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from devtools.demo import read_sms_code
from devtools.samples import card_jpeg
from domain.contracts.registration import Stage
from store.documents import LocalDocumentStore
from store.models import Account, AuditEvent, OutboxMessage, PhoneCode
from store.seed import APPLICANTS, HEALTH_CENTRE, Person
from testkit import count, eventually, form_fields, reach
from testkit.edge import Edge

API = "/api/v1/registrations"


def photos() -> dict[str, tuple[str, bytes, str]]:
    return {
        "id_card_front": ("front.jpg", card_jpeg("front"), "image/jpeg"),
        "id_card_back": ("back.jpg", card_jpeg("back"), "image/jpeg"),
    }


async def start(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    csrf = (await client.get("/api/v1/csrf")).json()["csrf_token"]
    return await client.post(
        API, data={**form_fields(APPLICANTS[0], **overrides), "csrf_token": csrf}, files=photos()
    )


async def start_as(
    client: httpx.AsyncClient, person: Person, unit: tuple[str, str]
) -> dict[str, str]:
    csrf = (await client.get("/api/v1/csrf")).json()["csrf_token"]
    fields = form_fields(person, unit_code=unit[0], unit_name=unit[1])
    answer = await client.post(API, data={**fields, "csrf_token": csrf}, files=photos())
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_an_applicant_registers_and_the_unit_admin_approves(live: Edge) -> None:
    assert live.harness is not None
    async with live.client() as applicant:
        started = await start(applicant)
        assert started.status_code == 201, started.text
        workflow_id = started.json()["workflow_id"]
        assert re.fullmatch(r"registration-[0-9a-f]{32}", workflow_id)
        assert "jshr_applicant=" in started.headers["set-cookie"]
        csrf = {"X-CSRF-Token": started.json()["csrf_token"]}
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
        answer = await applicant.post(
            f"{API}/{workflow_id}/phone-code", json={"code": code}, headers=csrf
        )
        assert answer.status_code == 200 and answer.json()["outcome"] == "accepted"
        await reach(live.harness.client, workflow_id, Stage.AWAITING_REVIEW)
        status = await applicant.get(f"{API}/{workflow_id}")
        assert status.json()["stage"] == "awaiting_review"
        assert status.json()["masked_name"] == "张*"

    async with live.client() as admin:
        staff_csrf = {"X-CSRF-Token": await live.login(admin, "admin_hospital")}

        async def in_inbox() -> bool:
            inbox = await admin.get("/api/v1/review/inbox?page_size=100")
            assert inbox.status_code == 200, inbox.text
            return workflow_id in [item["workflow_id"] for item in inbox.json()["items"]]

        await eventually(in_inbox)
        view = await admin.get(f"/api/v1/review/{workflow_id}")
        assert view.status_code == 200 and view.json()["name"] == APPLICANTS[0].name
        photo = await admin.get(f"/api/v1/review/{workflow_id}/photos/front")
        assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
        decided = await admin.post(
            f"/api/v1/review/{workflow_id}/decision", json={"approve": True}, headers=staff_csrf
        )
        assert decided.status_code == 200 and decided.json()["accepted"] is True

    outcome = await live.harness.client.result(workflow_id)
    assert outcome.stage == Stage.COMPLETED
    assert outcome.account is not None
    assert outcome.account.username == form_fields()["username"]
    assert await count(live.db, Account, Account.username == form_fields()["username"]) == 1


async def test_a_unit_admin_of_another_unit_gets_403_and_changes_nothing(live: Edge) -> None:
    assert live.harness is not None
    async with live.client() as applicant:
        workflow_id = (await start(applicant)).json()["workflow_id"]
        csrf = {
            "X-CSRF-Token": (await applicant.get("/api/v1/applicant/session")).json()["csrf_token"]
        }
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
        await applicant.post(f"{API}/{workflow_id}/phone-code", json={"code": code}, headers=csrf)
        await reach(live.harness.client, workflow_id, Stage.AWAITING_REVIEW)
    async with live.client() as other:
        csrf_other = {"X-CSRF-Token": await live.login(other, "admin_centre")}
        for answer in (
            await other.get(f"/api/v1/review/{workflow_id}"),
            await other.get(f"/api/v1/review/{workflow_id}/photos/back"),
            await other.post(
                f"/api/v1/review/{workflow_id}/decision", json={"approve": True}, headers=csrf_other
            ),
        ):
            assert answer.status_code == 403
            assert answer.json()["errors"][0]["code"] == "reviewer.not_authorized"
        inbox = (await other.get("/api/v1/review/inbox?page_size=100")).json()["items"]
        assert workflow_id not in [item["workflow_id"] for item in inbox]
    status = await live.harness.client.status(workflow_id)
    assert status.stage == Stage.AWAITING_REVIEW and status.history[-1].kind != "decision"


async def test_a_refused_form_starts_nothing_and_says_why_per_field(live: Edge) -> None:
    assert live.harness is not None
    async with live.client() as applicant:
        refused = await start(applicant, password="short", unit_code="91320000MA1MXXXX0X")
        assert refused.status_code == 422
        errors = {e["code"]: e for e in refused.json()["errors"]}
        assert errors["password.length"]["fields"] == ["password"]
        assert errors["unit_code.checksum"]["message_zh"]
        taken = await start(applicant, username="admin_hospital")
        assert taken.status_code == 409
        assert [e["code"] for e in taken.json()["errors"]] == ["username.taken"]
        assert (
            "set-cookie" not in taken.headers or "jshr_applicant" not in taken.headers["set-cookie"]
        )
    wf = live.harness.client.workflow_id(APPLICANTS[0].id_number)
    assert not await (await live.app.state.edge.registrations()).running(wf)


async def test_a_second_start_for_a_running_registration_gets_no_session(live: Edge) -> None:
    async with live.client() as first:
        assert (await start(first)).status_code == 201
    async with live.client() as second:
        again = await start(second)
        assert again.status_code == 409
        assert again.json()["errors"][0]["code"] == "registration.exists"
        assert "jshr_applicant" not in second.cookies


async def test_the_start_form_needs_the_anonymous_csrf_token(live: Edge) -> None:
    async with live.client() as client:
        await client.get("/api/v1/csrf")
        refused = await client.post(API, data=form_fields(), files=photos())
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "csrf.missing"


async def test_an_applicant_session_reaches_only_its_registration(live: Edge) -> None:
    assert live.harness is not None
    async with live.client() as applicant:
        started = (await start(applicant)).json()
        csrf = {"X-CSRF-Token": started["csrf_token"]}
        other = "registration-" + "0" * 32
        answer = await applicant.post(f"{API}/{other}/withdrawal", json={}, headers=csrf)
        assert answer.status_code == 403
        assert answer.json()["errors"][0]["code"] == "registration.not_yours"
        done = await applicant.post(
            f"{API}/{started['workflow_id']}/withdrawal", json={"reason": "不再需要"}, headers=csrf
        )
        assert done.status_code == 200
    outcome = await live.harness.client.result(started["workflow_id"])
    assert outcome.stage == Stage.WITHDRAWN


async def test_a_returning_applicant_proves_the_phone_by_sms(live: Edge) -> None:
    assert live.harness is not None
    async with live.client() as first:
        workflow_id = (await start(first)).json()["workflow_id"]
    await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    person = APPLICANTS[0]
    async with live.client() as returning:
        asked = await returning.post(
            "/api/v1/applicant/session", json={"id_number": person.id_number, "phone": person.phone}
        )
        wrong_phone = await returning.post(
            "/api/v1/applicant/session",
            json={"id_number": person.id_number, "phone": "13800009999"},
        )
        unknown = await returning.post(
            "/api/v1/applicant/session",
            json={"id_number": APPLICANTS[1].id_number, "phone": APPLICANTS[1].phone},
        )
        for answer in (asked, wrong_phone, unknown):
            assert answer.status_code == 200
            assert set(answer.json()) == {"challenge", "message_zh"}
            assert answer.json()["message_zh"] == asked.json()["message_zh"]

        async def texts(phone: str) -> list[str]:
            async with live.db.sessions() as session:
                rows = await session.scalars(
                    select(OutboxMessage.body).where(OutboxMessage.recipient_hmac == phone)
                )
                return [body for body in rows if "查看注册申请" in body]

        sent = await texts(person.phone)
        assert len(sent) == 1
        assert await texts("13800009999") == [] and await texts(APPLICANTS[1].phone) == []
        code = re.search(r"验证码为(\d{6})", sent[0])[1]  # type: ignore[index]
        for failed in (wrong_phone, unknown):
            nothing = await returning.post(
                "/api/v1/applicant/session/code",
                json={"challenge": failed.json()["challenge"], "code": code},
            )
            assert (
                nothing.status_code == 422 and nothing.json()["errors"][0]["code"] == "code.wrong"
            )
        entered = await returning.post(
            "/api/v1/applicant/session/code",
            json={"challenge": asked.json()["challenge"], "code": code},
        )
        assert entered.status_code == 200 and entered.json()["workflow_id"] == workflow_id
        status = await returning.get(f"{API}/{workflow_id}")
        assert status.status_code == 200 and status.json()["stage"] == "awaiting_phone_code"


async def test_the_applicant_signs_nudges_and_is_told_what_the_stage_refuses(live: Edge) -> None:
    assert live.harness is not None
    client = live.harness.client
    person = APPLICANTS[1]
    async with live.client() as applicant:
        started = await start_as(applicant, person, HEALTH_CENTRE)  # this unit asks for a signature
        workflow_id, csrf = started["workflow_id"], {"X-CSRF-Token": started["csrf_token"]}
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        resent = await applicant.post(f"{API}/{workflow_id}/phone-code/resend", headers=csrf)
        assert resent.status_code == 200 and resent.json()["sent"] is False  # the cooldown
        code = await read_sms_code(live.db.sessions, person.phone)
        await applicant.post(f"{API}/{workflow_id}/phone-code", json={"code": code}, headers=csrf)
        await reach(client, workflow_id, Stage.AWAITING_SIGNATURE)
        nothing = await applicant.post(f"{API}/{workflow_id}/signature", headers=csrf)
        assert nothing.status_code == 422
        assert nothing.json()["errors"][0]["code"] == "signature.missing"
        # The typed confirmation is the applicant's own name (edge.signatures).
        other = await applicant.post(
            f"{API}/{workflow_id}/signature", data={"typed_confirmation": "王五"}, headers=csrf
        )
        assert other.json()["errors"][0]["code"] == "signature.name_mismatch"
        signed = await applicant.post(
            f"{API}/{workflow_id}/signature",
            data={"typed_confirmation": person.name},
            headers=csrf,
        )
        assert signed.status_code == 200 and signed.json()["accepted"] is True
        await reach(client, workflow_id, Stage.AWAITING_REVIEW)
        late = await applicant.post(
            f"{API}/{workflow_id}/phone-code", json={"code": code}, headers=csrf
        )
        assert late.status_code == 409
        assert late.json()["errors"][0]["code"] == "registration.wrong_stage"
        first = await applicant.post(f"{API}/{workflow_id}/nudge", headers=csrf)
        second = await applicant.post(f"{API}/{workflow_id}/nudge", headers=csrf)
        assert first.json()["sent"] is True and second.json()["sent"] is False


async def test_a_rejected_applicant_resubmits_through_the_api(live: Edge) -> None:
    assert live.harness is not None
    client = live.harness.client
    async with live.client() as applicant:
        started = (await start(applicant)).json()
        workflow_id, csrf = started["workflow_id"], {"X-CSRF-Token": started["csrf_token"]}
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
        await applicant.post(f"{API}/{workflow_id}/phone-code", json={"code": code}, headers=csrf)
        await reach(client, workflow_id, Stage.AWAITING_REVIEW)
        async with live.client() as admin:
            staff = {"X-CSRF-Token": await live.login(admin, "admin_hospital")}
            rejected = await admin.post(
                f"/api/v1/review/{workflow_id}/decision",
                json={"approve": False, "reason": "information_mismatch", "fields": ["email"]},
                headers=staff,
            )
            assert rejected.status_code == 200, rejected.text
            no_reason = await admin.post(
                f"/api/v1/review/{workflow_id}/decision", json={"approve": False}, headers=staff
            )
            assert no_reason.status_code == 422
            assert no_reason.json()["errors"][0]["code"] == "decision.reason_missing"
        await reach(client, workflow_id, Stage.AWAITING_CORRECTION)
        other_person = await applicant.post(
            f"{API}/{workflow_id}/resubmission",
            data={**form_fields(APPLICANTS[2]), "csrf_token": started["csrf_token"]},
            files=photos(),
        )
        assert other_person.status_code == 422
        assert other_person.json()["errors"][0]["code"] == "resubmit.id_number_changed"
        corrected = await applicant.post(
            f"{API}/{workflow_id}/resubmission",
            data={
                **form_fields(APPLICANTS[0], email="zhang.san@example.cn"),
                "csrf_token": started["csrf_token"],
            },
            files=photos(),
        )
        assert corrected.status_code == 200, corrected.text
        assert corrected.json() == {"accepted": True, "round": 2, "message_zh": "已重新提交"}
    # Verified anew; the phone was proved in round 1.
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    assert (await client.status(workflow_id)).round == 2


async def test_an_applicant_sees_what_is_held_about_them_and_no_one_else_does(
    live: Edge,
) -> None:
    assert live.harness is not None
    async with live.client() as applicant, live.client() as other:
        started = await start(applicant)
        workflow_id = started.json()["workflow_id"]
        csrf = {"X-CSRF-Token": started.json()["csrf_token"]}
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)
        code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
        await applicant.post(f"{API}/{workflow_id}/phone-code", json={"code": code}, headers=csrf)
        await reach(live.harness.client, workflow_id, Stage.AWAITING_REVIEW)

        held = await applicant.get(f"{API}/{workflow_id}/personal-data")
        assert held.status_code == 200, held.text
        assert held.headers["cache-control"] == "no-store"
        data = held.json()
        assert data["application"]["id_number"] == APPLICANTS[0].id_number
        assert data["application"]["phone"] == APPLICANTS[0].phone
        assert [m["subject"] for m in data["messages"]][:1] == ["验证码"]
        assert data["phone_codes_sent"] == 1 and len(data["photos"]) == 2
        assert "new application" in [event["outcome"] for event in data["audit"]]
        assert data["ended_at"] is None and data["other_records_deleted_after"] is None
        assert code not in held.text  # what was sent, never the code itself

        other_csrf = (await other.get("/api/v1/csrf")).json()["csrf_token"]
        refused = await other.get(
            f"{API}/{workflow_id}/personal-data", headers={"X-CSRF-Token": other_csrf}
        )
        assert refused.status_code in (401, 403)
        assert APPLICANTS[0].id_number not in refused.text


async def test_an_applicant_without_an_account_has_the_registration_erased(live: Edge) -> None:
    assert live.harness is not None
    documents = LocalDocumentStore(live.db.settings.document_dir)
    async with live.client() as applicant:
        started = await start(applicant)
        workflow_id = started.json()["workflow_id"]
        csrf = {"X-CSRF-Token": started.json()["csrf_token"]}
        await reach(live.harness.client, workflow_id, Stage.AWAITING_PHONE_CODE)

        running = await applicant.post(f"{API}/{workflow_id}/erasure", headers=csrf)
        assert running.status_code == 200, running.text
        assert running.json()["erased"] is False
        assert running.json()["code"] == "erasure.still_running"
        photos = (await applicant.get(f"{API}/{workflow_id}/personal-data")).json()["photos"]
        assert [await documents.exists(ref) for ref in photos] == [True, True]

        await applicant.post(f"{API}/{workflow_id}/withdrawal", json={"reason": ""}, headers=csrf)
        outcome = await live.harness.client.result(workflow_id)
        assert outcome.stage == Stage.WITHDRAWN
        erased = await applicant.post(f"{API}/{workflow_id}/erasure", headers=csrf)
        assert erased.status_code == 200 and erased.json()["erased"] is True, erased.text

    assert [await documents.exists(ref) for ref in photos] == [False, False]
    mine = OutboxMessage.idempotency_key.startswith(workflow_id)
    assert await count(live.db, OutboxMessage, mine) == 0
    assert await count(live.db, PhoneCode, PhoneCode.registration_id.startswith(workflow_id)) == 0
    erasures = AuditEvent.kind == "erasure", AuditEvent.registration_id.startswith(workflow_id)
    assert await count(live.db, AuditEvent, *erasures, AuditEvent.actor == "applicant") == 1
