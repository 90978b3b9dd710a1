"""The staff portal's pages over ASGI: the login (its errors tied to the fields, the SMS factor,
the timeouts), sessions, the password, invitation codes, and the permission requests' four eyes
(on the dev server)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from devtools.demo import read_sms_code
from domain.contracts.registration import Stage
from domain.keys import keyed_hash
from domain.roles import ROLE_PERMISSIONS, Role
from edge.web.deps import ANONYMOUS_COOKIE
from store.models import Account, AuditEvent, EdgeSession, Invitation
from store.seed import APPLICANTS, PEOPLE_HOSPITAL
from testkit import eventually, outbox, reach, request
from testkit.edge import STAFF_PASSWORD, Edge, make_edge, set_password

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None
    return found.group(1)


async def log_in(client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD) -> str:
    """Log in through the form; returns the page's CSRF token once in."""
    token = await form_token(client, "/staff/login")
    answer = await client.post(
        "/staff/login", data={"csrf_token": token, "username": username, "password": password}
    )
    assert answer.status_code == 303, answer.text
    return await form_token(client, "/staff/password")


async def test_a_page_without_a_session_sends_the_browser_to_the_login(edge: Edge) -> None:
    async with edge.client() as client:
        answer = await client.get("/staff/inbox")
        assert answer.status_code == 303 and answer.headers["location"] == "/staff/login"


async def test_a_wrong_password_is_told_at_its_field_and_takes_the_focus(edge: Edge) -> None:
    async with edge.client() as client:
        token = await form_token(client, "/staff/login")
        assert client.cookies.get(ANONYMOUS_COOKIE)
        answer = await client.post(
            "/staff/login",
            data={"csrf_token": token, "username": "admin_hospital", "password": "Wrong#1234"},
        )
        assert answer.status_code == 401
        html = answer.text
        assert 'role="alert"' in html and "用户名或密码错误" in html
        assert re.search(
            r'<input id="password"[^>]*aria-describedby="password-error"'
            r'[^>]*aria-invalid="true"[^>]*autofocus',
            html,
        )
        assert "Wrong#1234" not in html
        # Without the anonymous form's token nothing is even tried.
        refused = await client.post(
            "/staff/login", data={"username": "admin_hospital", "password": STAFF_PASSWORD}
        )
        assert refused.status_code == 403 and "页面已过期" in refused.text


async def test_the_sms_factor_stands_between_the_password_and_the_portal(edge: Edge) -> None:
    strict = make_edge(edge.db, staff_second_factor=True)
    async with strict.app.router.lifespan_context(strict.app), strict.client() as client:
        token = await form_token(client, "/staff/login")
        answer = await client.post(
            "/staff/login",
            data={"csrf_token": token, "username": "admin_hospital", "password": STAFF_PASSWORD},
        )
        assert (
            answer.status_code == 200 and "短信验证" in answer.text and "139****0001" in answer.text
        )
        assert (await client.get("/staff/inbox")).status_code == 303  # not in yet
        challenge = re.search(r'name="challenge" value="([^"]+)"', answer.text)
        csrf = CSRF.search(answer.text)
        assert challenge and csrf
        wrong = await client.post(
            "/staff/login/code",
            data={"csrf_token": csrf.group(1), "challenge": challenge.group(1), "code": "000000"},
        )
        assert wrong.status_code == 422 and 'id="code-error"' in wrong.text
        [sms] = [m for m in await outbox(edge.db, "13900000001", "sms") if "登录验证码" in m.body]
        code = re.search(r"\d{6}", sms.body)
        assert code is not None
        right = await client.post(
            "/staff/login/code",
            data={"csrf_token": csrf.group(1), "challenge": challenge.group(1), "code": code[0]},
        )
        assert right.status_code == 303 and right.headers["location"] == "/staff/inbox"


async def test_idle_and_absolute_timeouts_end_the_portal_session(edge: Edge) -> None:
    async with edge.client() as client:
        await log_in(client, "admin_hospital")
        edge.clock.advance(minutes=edge.db.settings.staff_session_idle_minutes + 1)
        assert (await client.get("/staff/me")).headers["location"] == "/staff/login"
        await log_in(client, "admin_hospital")
        for _ in range(edge.db.settings.staff_session_max_hours * 3):
            edge.clock.advance(minutes=20)  # active, never idle
            if (await client.get("/staff/me")).status_code != 200:
                break
        assert (await client.get("/staff/me")).headers["location"] == "/staff/login"


async def test_one_sees_and_ends_ones_own_sessions(edge: Edge) -> None:
    async with edge.client() as laptop, edge.client("198.51.100.8") as desk:
        await log_in(laptop, "admin_hospital")
        csrf = await log_in(desk, "admin_hospital")
        page = await desk.get("/staff/sessions")
        assert page.text.count('action="/staff/sessions/end"') == 3  # two sessions + "others"
        assert "当前会话(本设备)" in page.text and "其他会话" in page.text
        ended = await desk.post(
            "/staff/sessions/end", data={"csrf_token": csrf, "session": "others"}
        )
        assert ended.status_code == 303
        assert (await laptop.get("/staff/me")).headers["location"] == "/staff/login"
        assert (await desk.get("/staff/me")).status_code == 200
        bogus = await desk.post("/staff/sessions/end", data={"csrf_token": csrf, "session": "x"})
        assert bogus.status_code == 404


async def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(edge: Edge) -> None:
    async with edge.client() as client, edge.client("198.51.100.8") as other:
        csrf = await log_in(client, "admin_centre")
        await log_in(other, "admin_centre")
        typo = await client.post(
            "/staff/password",
            data={
                "csrf_token": csrf,
                "current_password": STAFF_PASSWORD,
                "new_password": "New#Pass-2027x",
                "confirm_password": "New#Pass-2027y",
            },
        )
        assert typo.status_code == 422 and 'id="confirm_password-error"' in typo.text
        changed = await client.post(
            "/staff/password",
            data={
                "csrf_token": csrf,
                "current_password": STAFF_PASSWORD,
                "new_password": "New#Pass-2027x",
                "confirm_password": "New#Pass-2027x",
            },
        )
        assert changed.headers["location"] == "/staff/me?notice=password_changed"
        assert "密码已修改" in (await client.get(changed.headers["location"])).text
        assert (await other.get("/staff/me")).headers["location"] == "/staff/login"
    async with edge.db.sessions() as session:
        live = await session.scalars(
            select(EdgeSession).where(
                EdgeSession.subject == "admin_centre", EdgeSession.ended_at.is_(None)
            )
        )
        assert len(live.all()) == 1


async def test_invitation_codes_are_shown_once_stored_hashed_and_revocable(edge: Edge) -> None:
    async with edge.client() as admin, edge.client("198.51.100.8") as unit_admin:
        csrf = await log_in(admin, "sysadmin")
        issued = await admin.post(
            "/staff/admin/invitations",
            data={"csrf_token": csrf, "unit_code": "123200004660000017"},
        )
        assert issued.status_code == 200
        found = re.search(r'id="new-code">(INV-[A-Z0-9-]+)<', issued.text)
        assert found is not None
        code = found.group(1)
        assert code not in (await admin.get("/staff/admin/invitations")).text
        digest = keyed_hash(edge.db.settings.applicant_key_secret, code)
        async with edge.db.sessions() as session:
            assert await session.get(Invitation, digest) is not None
            kinds = await session.scalars(select(AuditEvent.kind))
            assert "invitation_issued" in kinds.all()
        revoked = await admin.post(
            "/staff/admin/invitations/revoke", data={"csrf_token": csrf, "invitation": digest[:16]}
        )
        assert revoked.status_code == 303
        async with edge.db.sessions() as session:
            assert await session.get(Invitation, digest) is None

        theirs = await log_in(unit_admin, "admin_hospital")
        refused = await unit_admin.post(
            "/staff/admin/invitations",
            data={"csrf_token": theirs, "unit_code": "123200004660000017"},
        )
        assert refused.status_code == 403


async def test_a_role_request_needs_two_system_admins(live: Edge) -> None:
    """Four eyes: admin_hospital asks for the system-admin role; one approval is not enough."""
    await _second_system_admin(live)
    async with live.client() as holder, live.client("198.51.100.8") as first:
        csrf = await log_in(holder, "admin_hospital")
        asked = await holder.post(
            "/staff/me/requests",
            data={"csrf_token": csrf, "change": "role:system_admin", "reason": "省级平台运维"},
        )
        assert asked.status_code == 303, asked.text

        async def listed() -> bool:  # visibility lags the start a little
            mine = (await holder.get("/staff/me")).text
            return "角色“系统管理员” · <strong>待审批" in mine and "已批准 0/2" in mine

        await eventually(listed)

        theirs = await log_in(first, "sysadmin")
        waiting = await first.get("/staff/requests")
        found = re.search(
            r'name="request" value="(permission-admin_hospital-[a-z0-9]+)"', waiting.text
        )
        assert found is not None and "省级平台运维" in waiting.text
        approved = await first.post(
            "/staff/requests/decision",
            data={"csrf_token": theirs, "request": found.group(1), "decision": "approve"},
        )
        assert approved.status_code == 200 and "已批准 1/2" in approved.text
        again = await first.post(
            "/staff/requests/decision",
            data={"csrf_token": theirs, "request": found.group(1), "decision": "approve"},
        )
        assert again.status_code == 409 and "approver.already_approved" in again.text
        # The one who approved no longer sees it among the requests to decide.
        assert found.group(1) not in (await first.get("/staff/requests")).text


async def _second_system_admin(live: Edge) -> None:
    await _account(live, "sysadmin2", Role.SYSTEM_ADMIN)


async def _account(live: Edge, username: str, role: Role, unit_code: str | None = None) -> None:
    """An invented account, with the staff password."""
    async with live.db.sessions.begin() as session:
        session.add(
            Account(
                username=username,
                password_hash="x",
                applicant_key=secrets.token_hex(16),
                name="钱学敏",
                phone=f"1397{secrets.randbelow(10**7):07d}",
                email=f"{username}@example.cn",
                unit_code=unit_code,
                role=role.value,
                permissions=list(ROLE_PERMISSIONS[role]),
                active=True,
                created_at=datetime.now(UTC),
            )
        )
    await set_password(live.db, username)


async def test_a_colleague_who_decided_first_is_named_in_the_answer(live: Edge) -> None:
    """sysadmin may decide every registration; admin_hospital approves first."""
    assert live.harness is not None
    client = live.harness.client
    workflow_id = await client.start(request())
    await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
    await client.submit_phone_code(workflow_id, code)
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    async with live.client() as first, live.client("198.51.100.8") as second:
        ours, theirs = await log_in(first, "admin_hospital"), await log_in(second, "sysadmin")
        form = {"decision": "approve", "decision_id": "a" * 32}
        path = f"/staff/applications/{workflow_id}/decision"
        done = await first.post(path, data={"csrf_token": ours, **form})
        assert done.status_code == 200 and "已通过" in done.text
        late = await second.post(path, data={"csrf_token": theirs, **form, "decision_id": "b" * 32})
        # The workflow's own word: still ending (not in review any more), or ended.
        assert late.status_code == 409
        assert re.search(r"decision\.(not_awaiting_review|superseded)", late.text)
    assert (await client.result(workflow_id)).stage == Stage.COMPLETED


async def test_a_unit_admin_approves_a_permission_for_their_units_staff(live: Edge) -> None:
    """A staff member of the hospital asks for one permission: its unit admin decides (and
    sees it), the other unit's admin does not."""
    await _account(live, "liwei1992", Role.USER, unit_code=PEOPLE_HOSPITAL[0])
    async with (
        live.client() as holder,
        live.client("198.51.100.8") as neighbour,
        live.client("198.51.100.9") as admin,
    ):
        csrf = await log_in(holder, "liwei1992")
        asked = await holder.post(
            "/staff/me/requests",
            data={"csrf_token": csrf, "change": "permission:unit_data:manage", "reason": "排班"},
        )
        assert asked.status_code == 303, asked.text
        await log_in(neighbour, "admin_centre")
        theirs = await log_in(admin, "admin_hospital")

        async def waiting() -> str | None:
            found = re.search(
                r'name="request" value="(permission-liwei1992-[a-z0-9]+)"',
                (await admin.get("/staff/requests")).text,
            )
            return found.group(1) if found else None

        request_id = await eventually(waiting)
        assert request_id is not None
        assert request_id not in (await neighbour.get("/staff/requests")).text
        no_csrf = await admin.post(
            "/staff/requests/decision", data={"request": request_id, "decision": "approve"}
        )
        assert no_csrf.status_code == 403
        approved = await admin.post(
            "/staff/requests/decision",
            data={"csrf_token": theirs, "request": request_id, "decision": "approve"},
        )
        assert approved.status_code == 200 and "已批准 1/1" in approved.text

        async def granted() -> bool:
            page = (await holder.get("/staff/me")).text
            return '管理单位数据(本单位)<span class="muted"> · 单独授予' in page

        await eventually(granted)


async def test_a_comment_with_a_hidden_character_is_refused_on_the_page(live: Edge) -> None:
    assert live.harness is not None
    client = live.harness.client
    workflow_id = await client.start(request())
    await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(live.db.sessions, APPLICANTS[0].phone)
    await client.submit_phone_code(workflow_id, code)
    await reach(client, workflow_id, Stage.AWAITING_REVIEW)
    async with live.client() as admin:
        csrf = await log_in(admin, "admin_hospital")
        refused = await admin.post(
            f"/staff/applications/{workflow_id}/confirm",
            data={
                "csrf_token": csrf,
                "decision": "reject",
                "reason": "other",
                "comment": "单位\u202e不符",
                "decision_id": "c" * 32,
            },
        )
    assert refused.status_code == 422
    assert "不可见字符" in refused.text
    assert (await client.status(workflow_id)).stage == Stage.AWAITING_REVIEW
    await client.withdraw(workflow_id)
