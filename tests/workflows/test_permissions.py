"""Accounts, roles and permission changes: provisioning, the user center, requests, revocation.

Workflows run on the time-skipping test server with the real activities and database. Their
histories replay here too; `JSHR_RECORD_HISTORIES=1 pytest tests/workflows/test_permissions.py`
re-records the committed ones in `tests/workflows/histories/permissions/` (only when a change is
meant to break them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer
from typer.testing import CliRunner

from activities.accounts import AccountActivities
from domain.contracts.base import Account
from domain.contracts.internal import AssignRoleInput
from domain.contracts.permissions import PermissionStage
from domain.contracts.registration import Stage
from domain.keys import applicant_key
from domain.permissions import may
from domain.roles import ROLE_PERMISSIONS, Role, Scope
from domain.rules import mask_id_number, suggest_username
from edge.accounts import account_view
from notify.outbox import Notifier
from starter.cli import app as cli
from starter.permission_client import ChangeRefused, PermissionClient, request_workflow_id
from store import models
from store.crypto import DataCipher
from store.permission_checks import PermissionChecks
from store.seed import APPLICANTS, PEOPLE_HOSPITAL
from testkit import count, eventually, outbox, request
from testkit.harness import (
    SIGNER,
    TIME_SKIPPING_TTL,
    converter,
    history_text,
    load_history,
    replay_interceptors,
    start_and_verify_phone,
)
from worker import workflow_runner
from workflows.permission_change import PermissionChangeWorkflow
from workflows.permission_revoke import PermissionRevokeWorkflow

pytestmark = pytest.mark.asyncio

STAFF = APPLICANTS[0]
HISTORIES = Path(__file__).parent / "histories" / "permissions"
USERNAME = suggest_username(STAFF.name, STAFF.id_number)  # zhangsan1990


def assign_input(app, person=STAFF) -> AssignRoleInput:
    key = applicant_key(app.settings.applicant_key_secret, person.id_number)
    return AssignRoleInput(
        registration_id=f"registration-{key}/run-1",
        applicant_key=key,
        request=request(person),
        approved_by="admin_hospital",
        at=datetime.now(UTC),
    )


def account_activities(app) -> AccountActivities:
    return AccountActivities(app.sessions, app.settings, Notifier(app.sessions, app.settings))


async def provision(app, person=STAFF) -> Account:
    """The staff member's account, as the registration's last activity makes it."""
    return await account_activities(app).assign_role(assign_input(app, person))


async def add_system_admin(app, username: str = "sysadmin2") -> None:
    async with app.sessions.begin() as session:
        session.add(
            models.Account(
                username=username,
                password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                applicant_key=uuid.uuid4().hex,
                name="钱学文",
                phone="13900000009",
                email="sysadmin2@example.cn",
                unit_code=None,
                role=Role.SYSTEM_ADMIN.value,
                permissions=list(ROLE_PERMISSIONS[Role.SYSTEM_ADMIN]),
                active=True,
                created_at=datetime.now(UTC),
            )
        )


async def account(app, username: str) -> models.Account:
    async with app.sessions() as session:
        found = await session.get(models.Account, username)
    assert found is not None
    return found


async def grants(app, username: str) -> list[models.GrantHistory]:
    async with app.sessions() as session:
        return list(
            await session.scalars(
                select(models.GrantHistory)
                .where(models.GrantHistory.username == username)
                .order_by(models.GrantHistory.id)
            )
        )


async def audit(app, subject: str) -> list[models.AuditEvent]:
    async with app.sessions() as session:
        return list(
            await session.scalars(
                select(models.AuditEvent)
                .where(models.AuditEvent.registration_id == subject)
                .order_by(models.AuditEvent.id)
            )
        )


class Tracking(PermissionClient):
    """Remembers the requests it started, so that the test can end them."""

    started: list[str]

    async def request_change(self, **kwargs) -> str:
        workflow_id = await super().request_change(**kwargs)
        self.started.append(workflow_id)
        return workflow_id


@pytest.fixture
async def perm(ts) -> AsyncIterator[Tracking]:
    app = ts.app
    client = Tracking(
        ts.env.client,
        task_queue=app.settings.task_queue,
        checker=PermissionChecks(app.sessions),
        signer=SIGNER,
        ttl=TIME_SKIPPING_TTL,
    )
    client.started = []
    yield client
    # A workflow left running without its worker would stop the test server skipping time.
    for workflow_id in client.started:
        with contextlib.suppress(RPCError):
            await ts.env.client.get_workflow_handle(workflow_id).terminate("test finished")


async def replay(history: WorkflowHistory) -> None:
    replayer = Replayer(
        workflows=[PermissionChangeWorkflow, PermissionRevokeWorkflow],
        data_converter=converter(),
        workflow_runner=workflow_runner(strict=True),
        interceptors=replay_interceptors(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def keep_and_replay(ts, workflow_id: str, name: str) -> None:
    """Replay the history just made (determinism); with JSHR_RECORD_HISTORIES=1 keep it."""
    history = await ts.env.client.get_workflow_handle(workflow_id).fetch_history()
    if os.environ.get("JSHR_RECORD_HISTORIES") == "1":
        HISTORIES.mkdir(parents=True, exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history_text(history))
    await replay(history)


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_histories_replay(path: Path) -> None:
    await replay(load_history(path))


async def test_the_main_paths_have_recorded_histories() -> None:
    names = {path.stem for path in HISTORIES.glob("*.json")}
    assert {"four_eyes", "escalation", "rejection", "revocation"} <= names


# --- provisioning --------------------------------------------------------------------------------


async def test_provisioning_makes_one_account_one_grant_one_notice_however_often_called(
    app,
) -> None:
    activities, inp = account_activities(app), assign_input(app)
    # Attempts at once (a retry racing a slow first try), then a retry after the fact (a replay).
    results = await asyncio.gather(*(activities.assign_role(inp) for _ in range(3)))
    again = await activities.assign_role(inp)
    assert all(result == again for result in results)
    assert again.username == USERNAME and again.role == Role.USER

    assert await count(app, models.Account, models.Account.username == USERNAME) == 1
    [grant] = await grants(app, USERNAME)
    assert (grant.action, grant.role, grant.approved_by, grant.source) == (
        "grant",
        "user",
        ["admin_hospital"],
        "registration",
    )
    notices = [m for m in await outbox(app) if m.subject == "审核通过通知"]
    assert sorted(m.channel for m in notices) == ["email", "sms"]
    assert all(USERNAME in m.body and "普通用户" in m.body for m in notices)

    stored = await account(app, USERNAME)
    assert stored.id_number_encrypted and STAFF.id_number not in stored.id_number_encrypted
    cipher = DataCipher(app.settings.data_key)
    assert cipher.decrypt(stored.id_number_encrypted, context=inp.applicant_key) == STAFF.id_number


async def test_registration_grants_the_role_and_the_user_center_shows_it_masked(ts) -> None:
    workflow_id = await start_and_verify_phone(ts)
    await eventually(lambda: _at_review(ts, workflow_id))
    await ts.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert (await ts.client.result(workflow_id)).stage == Stage.COMPLETED

    view = await account_view(ts.app.sessions, USERNAME, data_key=ts.app.settings.data_key)
    assert view is not None
    assert view.masked_id_number == mask_id_number(STAFF.id_number) != STAFF.id_number
    assert view.masked_name == "张*" and view.role == Role.USER
    assert {(p.permission, p.scope) for p in view.permissions} == {
        ("own_records:submit", Scope.OWN),
        ("own_records:read", Scope.OWN),
    }
    assert [(g.role, g.approved_by) for g in view.grants] == [(Role.USER, ["admin_hospital"])]
    assert STAFF.id_number not in view.model_dump_json()
    # Without the data key the user center still works; it just cannot show even the mask.
    without_key = await account_view(ts.app.sessions, USERNAME)
    assert without_key is not None and without_key.masked_id_number == "(已加密)"
    assert await account_view(ts.app.sessions, "nobody") is None


async def _at_review(ts, workflow_id: str) -> bool:
    return (await ts.client.status(workflow_id)).stage == Stage.AWAITING_REVIEW


# --- permission change requests ------------------------------------------------------------------


async def _stage(perm, workflow_id: str, stage: PermissionStage) -> None:
    async def there() -> bool:
        return (await perm.status(workflow_id)).stage == stage

    await eventually(there)


async def test_a_unit_permission_goes_to_the_unit_admin_and_is_granted(ts, perm) -> None:
    await provision(ts.app)
    workflow_id = await perm.request_change(
        username=USERNAME, permission="unit_data:manage", reason="负责本科室排班数据"
    )
    assert workflow_id.startswith(f"permission-{USERNAME}-")
    await _stage(perm, workflow_id, PermissionStage.AWAITING_APPROVAL)
    status = await perm.status(workflow_id)
    assert (status.approvers, status.approvals_needed) == (["admin_hospital"], 1)

    other_unit = await perm.decide(workflow_id, approver_id="admin_centre", approve=True)
    own = await perm.decide(workflow_id, approver_id=USERNAME, approve=True)
    nobody = await perm.decide(workflow_id, approver_id="nobody", approve=True)
    assert (other_unit.code, own.code, nobody.code) == (
        "approver.not_authorized",
        "approver.is_holder",
        "approver.inactive",
    )
    assert other_unit.message_zh and not other_unit.accepted
    assert (await perm.status(workflow_id)).stage == PermissionStage.AWAITING_APPROVAL

    granted = await perm.decide(workflow_id, approver_id="admin_hospital", approve=True)
    assert granted.accepted
    outcome = await perm.result(workflow_id)
    assert outcome.stage == PermissionStage.GRANTED

    holder = await account(ts.app, USERNAME)
    assert holder.role == "user" and "unit_data:manage" in holder.permissions
    assert may(holder, "unit_data:manage", target_unit=PEOPLE_HOSPITAL[0])
    assert not may(holder, "unit_staff:review", target_unit=PEOPLE_HOSPITAL[0])
    latest = (await grants(ts.app, USERNAME))[-1]
    assert (latest.permission, latest.scope, latest.approved_by, latest.idempotency_key) == (
        "unit_data:manage",
        "unit",
        ["admin_hospital"],
        workflow_id,
    )
    notices = [m for m in await outbox(ts.app, STAFF.phone) if m.subject == "权限变更通知"]
    assert len(notices) == 1 and "管理单位数据" in notices[0].body
    kinds = [(e.kind, e.actor, e.outcome) for e in await audit(ts.app, workflow_id)]
    assert ("refused_permission_decision", "admin_centre", "approver.not_authorized") in kinds
    assert ("permission_decision", "admin_hospital", "approve") in kinds
    assert ("permission_grant", "admin_hospital", "unit_data:manage") in kinds


async def test_the_unit_admin_role_needs_a_system_admin(ts, perm) -> None:
    await provision(ts.app)
    workflow_id = await perm.request_change(
        username=USERNAME, role="unit_admin", reason="科室负责人"
    )
    await _stage(perm, workflow_id, PermissionStage.AWAITING_APPROVAL)
    assert (await perm.status(workflow_id)).approvers == ["sysadmin"]
    refused = await perm.decide(workflow_id, approver_id="admin_hospital", approve=True)
    assert (refused.accepted, refused.code) == (False, "approver.not_authorized")
    assert (await perm.decide(workflow_id, approver_id="sysadmin", approve=True)).accepted
    outcome = await perm.result(workflow_id)
    assert outcome.stage == PermissionStage.GRANTED
    assert outcome.account is not None and outcome.account.role == Role.UNIT_ADMIN
    assert (await account(ts.app, USERNAME)).role == "unit_admin"


async def test_a_rejection_ends_the_request_changes_nothing_and_tells_the_holder(ts, perm) -> None:
    await provision(ts.app)
    workflow_id = await perm.request_change(
        username=USERNAME, permission="unit_staff:review", reason="协助审核"
    )
    await _stage(perm, workflow_id, PermissionStage.AWAITING_APPROVAL)
    rejected = await perm.decide(
        workflow_id, approver_id="admin_hospital", approve=False, comment="请先完成审核培训"
    )
    assert rejected.accepted
    assert (await perm.result(workflow_id)).stage == PermissionStage.REJECTED
    await keep_and_replay(ts, workflow_id, "rejection")
    assert "unit_staff:review" not in (await account(ts.app, USERNAME)).permissions
    assert len(await grants(ts.app, USERNAME)) == 1
    sms = [m.body for m in await outbox(ts.app, STAFF.phone, "sms")]
    assert any("未获批准" in body and "请先完成审核培训" in body for body in sms)


@pytest.mark.parametrize(
    ("username", "role", "permission", "code"),
    [
        (USERNAME, "superuser", None, "role.unknown"),
        (USERNAME, "user", None, "role.base"),
        (USERNAME, None, "system:manage", "permission.not_grantable"),
        (USERNAME, None, "payroll:approve", "permission.unknown"),
        (USERNAME, "unit_admin", "unit_data:manage", "change.one_of"),
        ("nobody", "unit_admin", None, "account.unknown"),
        ("admin_hospital", "unit_admin", None, "change.already_held"),
        ("admin_hospital", None, "unit_data:manage", "change.already_held"),
        # four eyes with one system admin could never finish: refused at once
        ("admin_hospital", "system_admin", None, "approval.too_few_approvers"),
    ],
)
async def test_bad_requests_are_refused_and_start_nothing(
    ts, perm, username, role, permission, code
) -> None:
    await provision(ts.app)
    before = len(await outbox(ts.app))
    with pytest.raises(ChangeRefused) as refused:
        await perm.request_change(
            username=username, role=role, permission=permission, reason="x", request_id="abc123"
        )
    assert [r.code for r in refused.value.refusals] == [code]
    assert all(r.message_zh for r in refused.value.refusals)
    with pytest.raises(RPCError) as missing:
        await ts.env.client.get_workflow_handle(request_workflow_id(username, "abc123")).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert len(await outbox(ts.app)) == before
    assert len(await grants(ts.app, USERNAME)) == 1


async def test_reminders_and_escalation_fire_while_nobody_decides(ts, perm) -> None:
    await provision(ts.app)
    workflow_id = await perm.request_change(
        username=USERNAME, permission="unit_data:manage", reason="排班"
    )
    await _stage(perm, workflow_id, PermissionStage.AWAITING_APPROVAL)
    # From one working-day reminder instant to the next, as the registration's review does.
    for _ in range(3):
        status = await perm.status(workflow_id)
        assert status.next_reminder_at is not None
        await ts.env.sleep(status.next_reminder_at - await ts.env.get_current_time())
        await ts.env.sleep(timedelta(minutes=1))

    async def escalated() -> bool:
        return (await perm.status(workflow_id)).escalation_level == 1

    await eventually(escalated)
    labels = [
        e.outcome for e in await audit(ts.app, workflow_id) if e.kind in ("reminder", "escalation")
    ]
    assert labels[:4] == [
        "new request",
        "working-day 1 reminder",
        "working-day 2 reminder",
        "working-day 3 escalation",
    ]
    assert any(workflow_id in m.body for m in await outbox(ts.app, "13900000001", "sms"))
    assert any("王建国" in m.body for m in await outbox(ts.app, STAFF.phone, "sms"))
    assert await outbox(ts.app, "13900000003", "sms")  # the system admin, on escalation
    assert (await perm.decide(workflow_id, approver_id="sysadmin", approve=True)).accepted
    assert (await perm.result(workflow_id)).stage == PermissionStage.GRANTED
    await keep_and_replay(ts, workflow_id, "escalation")


async def test_the_system_admin_role_needs_two_different_system_admins(ts, perm) -> None:
    await add_system_admin(ts.app)
    workflow_id = await perm.request_change(
        username="admin_hospital", role="system_admin", reason="省级平台运维"
    )
    await _stage(perm, workflow_id, PermissionStage.AWAITING_APPROVAL)
    status = await perm.status(workflow_id)
    assert (status.approvers, status.approvals_needed) == (["sysadmin", "sysadmin2"], 2)

    first, twice = await asyncio.gather(
        perm.decide(workflow_id, approver_id="sysadmin", approve=True, decision_id="d-1"),
        perm.decide(workflow_id, approver_id="sysadmin", approve=True, decision_id="d-2"),
    )
    assert sorted([first.code, twice.code]) == ["approver.already_approved", "ok"]
    repeat = await perm.decide(workflow_id, approver_id="sysadmin", approve=True, decision_id="d-1")
    assert repeat == first
    own = await perm.decide(workflow_id, approver_id="admin_hospital", approve=True)
    unit_admin = await perm.decide(workflow_id, approver_id="admin_centre", approve=True)
    assert (own.code, unit_admin.code) == ("approver.is_holder", "approver.not_authorized")
    status = await perm.status(workflow_id)
    assert status.stage == PermissionStage.AWAITING_APPROVAL and status.approvals == ["sysadmin"]

    assert (await perm.decide(workflow_id, approver_id="sysadmin2", approve=True)).accepted
    outcome = await perm.result(workflow_id)
    assert outcome.stage == PermissionStage.GRANTED
    assert (await account(ts.app, "admin_hospital")).role == "system_admin"
    [grant] = await grants(ts.app, "admin_hospital")
    assert (grant.role, grant.approved_by) == ("system_admin", ["sysadmin", "sysadmin2"])
    await keep_and_replay(ts, workflow_id, "four_eyes")


# --- revocation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "role", "permission", "by", "code"),
    [
        ("admin_hospital", "unit_admin", None, "admin_centre", "revoke.not_authorized"),
        ("admin_hospital", "unit_admin", None, "admin_hospital", "revoke.not_authorized"),
        ("sysadmin", "system_admin", None, "sysadmin", "revoke.last_system_admin"),
        (USERNAME, "unit_admin", None, "sysadmin", "revoke.not_held"),
        (USERNAME, None, "unit_data:manage", "admin_hospital", "revoke.not_held"),
        ("admin_hospital", "superuser", None, "sysadmin", "role.unknown"),
        ("admin_hospital", "user", None, "sysadmin", "role.base"),
        ("admin_hospital", "unit_admin", None, "nobody", "revoker.inactive"),
        ("nobody", "unit_admin", None, "sysadmin", "account.unknown"),
    ],
)
@pytest.mark.parametrize("checked", [True, False], ids=["pre-checked", "in-workflow"])
async def test_bad_revocations_change_nothing(
    ts, perm, checked, username, role, permission, by, code
) -> None:
    await provision(ts.app)
    # Without the client's pre-check the revocation workflow itself refuses, inside the change's
    # transaction (what a caller racing another change would see).
    client = (
        perm
        if checked
        else PermissionClient(
            ts.env.client,
            task_queue=ts.app.settings.task_queue,
            signer=SIGNER,
            ttl=TIME_SKIPPING_TTL,
        )
    )
    before = len(await outbox(ts.app))
    with pytest.raises(ChangeRefused) as refused:
        await client.revoke(
            username=username, role=role, permission=permission, by=by, reason="离职"
        )
    assert [r.code for r in refused.value.refusals] == [code]
    assert refused.value.refusals[0].message_zh
    assert (await account(ts.app, "admin_hospital")).role == "unit_admin"
    assert (await account(ts.app, "sysadmin")).role == "system_admin"
    assert len(await outbox(ts.app)) == before
    assert await count(ts.app, models.GrantHistory, models.GrantHistory.action == "revoke") == 0


async def test_a_system_admin_revokes_a_unit_admin_once(ts, perm) -> None:
    results = [
        await perm.revoke(
            username="admin_hospital",
            role="unit_admin",
            by="sysadmin",
            reason="已调离本单位",
            revocation_id="leave2026",
        )
        for _ in range(2)
    ]
    assert results[0] == results[1] and results[0].applied
    holder = await account(ts.app, "admin_hospital")
    assert holder.role == "user" and not may(
        holder, "unit_staff:review", target_unit=holder.unit_code
    )
    [revoked] = await grants(ts.app, "admin_hospital")
    assert (revoked.action, revoked.role, revoked.approved_by, revoked.reason) == (
        "revoke",
        "unit_admin",
        ["sysadmin"],
        "已调离本单位",
    )
    notices = [m for m in await outbox(ts.app, "13900000001", "sms") if m.subject == "权限变更通知"]
    assert len(notices) == 1 and "已调离本单位" in notices[0].body
    kinds = [e.kind for e in await audit(ts.app, "permission-admin_hospital-revoke-leave2026")]
    assert kinds == ["permission_revoke"]
    await keep_and_replay(ts, "permission-admin_hospital-revoke-leave2026", "revocation")
    view = await account_view(ts.app.sessions, "admin_hospital")
    assert view is not None and [g.action.value for g in view.grants] == ["revoke"]


async def test_a_reused_revocation_id_for_another_change_is_refused(ts, perm) -> None:
    # Of its own: the Temporal server, and so its revocation workflow IDs, outlive each test.
    revocation_id = uuid.uuid4().hex
    first = await perm.revoke(
        username="admin_hospital",
        role="unit_admin",
        by="sysadmin",
        reason="已调离本单位",
        revocation_id=revocation_id,
    )
    assert first.applied
    other_change = {"permission": "unit_data:manage", "by": "sysadmin"}
    other_admin = {"role": "unit_admin", "by": "admin_centre"}
    for change in (other_change, other_admin):
        with pytest.raises(ChangeRefused) as refused:
            await perm.revoke(
                username="admin_hospital", reason="再次撤销", revocation_id=revocation_id, **change
            )
        assert [r.code for r in refused.value.refusals] == ["revoke.id_reused"]
        assert "撤销编号" in refused.value.refusals[0].message_zh
    assert len(await grants(ts.app, "admin_hospital")) == 1
    again = await perm.revoke(
        username="admin_hospital",
        role="unit_admin",
        by="sysadmin",
        reason="已调离本单位",
        revocation_id=revocation_id,
    )
    assert again == first


async def test_with_two_system_admins_one_may_step_down(ts, perm) -> None:
    await add_system_admin(ts.app)
    result = await perm.revoke(
        username="sysadmin", role="system_admin", by="sysadmin", reason="退休"
    )
    assert result.account is not None and result.account.role == Role.USER
    with pytest.raises(ChangeRefused) as refused:
        await perm.revoke(username="sysadmin2", role="system_admin", by="sysadmin2", reason="x")
    assert refused.value.refusals[0].code == "revoke.last_system_admin"


# --- the command line -----------------------------------------------------------------------------


async def test_the_command_line_shows_an_account_and_refuses_a_made_up_role(ts) -> None:
    await provision(ts.app)
    settings = ts.app.settings
    env = {
        "JSHR_DATABASE_URL": settings.database_url,
        "JSHR_TASK_QUEUE": settings.task_queue,
        "JSHR_APPLICANT_KEY_SECRET": settings.applicant_key_secret,
        "JSHR_TEMPORAL_ADDRESS": ts.env.client.service_client.config.target_host,
        "JSHR_ASSERTION_TTL_SECONDS": str(int(TIME_SKIPPING_TTL.total_seconds())),
        "COLUMNS": "200",
    }

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), env=env)

    shown = await asyncio.to_thread(invoke, "account", "show", USERNAME)
    assert shown.exit_code == 0, shown.output
    assert mask_id_number(STAFF.id_number) in shown.output
    assert STAFF.id_number not in shown.output and STAFF.phone not in shown.output
    assert "own_records:read" in shown.output and "registration" in shown.output

    # Asking and deciding go through the edge as the person logged in (tests/edge/test_cli.py);
    # a made-up role is refused before anything is reached.
    refused = await asyncio.to_thread(
        invoke, "permission", "request", "--role", "superuser", "--reason", "x"
    )
    assert refused.exit_code == 2 and "role.unknown" in refused.output
