"""Permission changes count only what the edge vouched for: the holder's request, the approver's
decision, the admin's revocation. Forged ones change no account, grant or audit trail."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from domain.contracts.internal import ChangeResult
from domain.contracts.permissions import (
    PermissionChangeRequest,
    PermissionDecision,
    PermissionStage,
    RevokeRequest,
)
from domain.roles import Role
from starter.permission_client import (
    CHANGE_WORKFLOW,
    REVOKE_WORKFLOW,
    ChangeRefused,
    PermissionClient,
    request_workflow_id,
    revoke_workflow_id,
)
from store import models
from store.permission_checks import PermissionChecks
from testkit import count, eventually, outbox
from testkit.harness import SIGNER, TIME_SKIPPING_TTL
from tests.workflows.test_permissions import USERNAME, account, audit, grants, provision
from tests.workflows.test_vouching import ROGUE, scheduled, signed


@pytest.fixture
async def clients(ts) -> AsyncIterator[tuple[PermissionClient, PermissionClient]]:
    """The edge's client (it signs) and a raw one (it does not), on the same server."""
    queue = ts.app.settings.task_queue
    edge = PermissionClient(
        ts.env.client,
        task_queue=queue,
        checker=PermissionChecks(ts.app.sessions),
        signer=SIGNER,
        ttl=TIME_SKIPPING_TTL,
    )
    yield edge, PermissionClient(ts.env.client, task_queue=queue)
    # A workflow left running without its worker would stop the test server skipping time.
    for workflow_id in STARTED:
        with contextlib.suppress(RPCError):
            await ts.env.client.get_workflow_handle(workflow_id).terminate("test finished")
    STARTED.clear()


STARTED: list[str] = []


async def refusal_code(call) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as rejected:
        await call
    cause = rejected.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NotVouched"
    return cause.message.partition(":")[0]


async def test_a_forged_approval_is_refused_and_changes_nothing(ts, clients) -> None:
    edge, raw = clients
    await provision(ts.app)
    workflow_id = await edge.request_change(
        username=USERNAME, permission="unit_data:manage", reason="负责本科室排班数据"
    )
    STARTED.append(workflow_id)

    async def waiting() -> bool:
        return (await edge.status(workflow_id)).stage == PermissionStage.AWAITING_APPROVAL

    await eventually(waiting)
    now = await ts.env.get_current_time()
    approval = PermissionDecision(decision_id="d-1", approver_id="admin_hospital", approve=True)
    handle = ts.env.client.get_workflow_handle(workflow_id)
    unsigned = raw.decide(workflow_id, approver_id="admin_hospital", approve=True)
    assert await refusal_code(unsigned) == "assertion.missing"
    # The edge vouched for admin_centre; the payload names the unit's admin.
    other = signed(approval, workflow_id, "decide", actor="admin_centre", round=None, now=now)
    assert await refusal_code(handle.execute_update("decide", other)) == "assertion.wrong_actor"
    rogue = signed(approval, workflow_id, "decide", signer=ROGUE, round=None, now=now)
    assert await refusal_code(handle.execute_update("decide", rogue)) == "assertion.unknown_key"

    status = await edge.status(workflow_id)
    assert (status.stage, status.approvals) == (PermissionStage.AWAITING_APPROVAL, [])
    assert await scheduled(ts.env, workflow_id, "authorize_permission_decision") == 0
    assert [e.kind for e in await audit(ts.app, workflow_id)] == ["permission_request", "reminder"]

    assert (await edge.decide(workflow_id, approver_id="admin_hospital", approve=True)).accepted
    assert (await edge.result(workflow_id)).stage == PermissionStage.GRANTED


async def test_a_forged_revocation_fails_and_changes_nothing(ts, clients) -> None:
    edge, raw = clients
    before = len(await outbox(ts.app))
    with pytest.raises(ChangeRefused) as refused:
        await raw.revoke(username="admin_hospital", role="unit_admin", by="sysadmin", reason="离职")
    assert [r.code for r in refused.value.refusals] == ["assertion.missing"]
    assert refused.value.refusals[0].message_zh

    # `by` names the system admin, but the edge vouched for the unit admin herself.
    workflow_id = revoke_workflow_id("admin_hospital", "forged01")
    request = RevokeRequest(
        revocation_id="forged01",
        username="admin_hospital",
        role=Role.UNIT_ADMIN,
        by="sysadmin",
        reason="离职",
    )
    now = await ts.env.get_current_time()
    forged = signed(request, workflow_id, "revoke", round=None, now=now)
    handle = await ts.env.client.start_workflow(
        REVOKE_WORKFLOW,
        forged,
        id=workflow_id,
        task_queue=ts.app.settings.task_queue,
        result_type=ChangeResult,
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "NotVouched"
    assert cause.message.startswith("assertion.wrong_actor") and cause.non_retryable

    assert (await account(ts.app, "admin_hospital")).role == "unit_admin"
    assert await grants(ts.app, "admin_hospital") == []
    assert await count(ts.app, models.AuditEvent) == 0
    assert len(await outbox(ts.app)) == before
    assert await scheduled(ts.env, workflow_id) == 0


async def test_a_request_must_come_from_its_holder(ts, clients) -> None:
    edge, raw = clients
    await provision(ts.app)
    unsigned = await raw.request_change(
        username=USERNAME, role="unit_admin", reason="科室负责人", request_id="forged01"
    )
    # Someone else asks in the holder's name.
    request_id = uuid.uuid4().hex[:12]
    workflow_id = request_workflow_id(USERNAME, request_id)
    request = PermissionChangeRequest(
        request_id=request_id, username=USERNAME, role=Role.UNIT_ADMIN, reason="科室负责人"
    )
    now = await ts.env.get_current_time()
    await ts.env.client.start_workflow(
        CHANGE_WORKFLOW,
        signed(request, workflow_id, "request", round=None, now=now),
        id=workflow_id,
        task_queue=ts.app.settings.task_queue,
    )
    for started, code in ((unsigned, "assertion.missing"), (workflow_id, "assertion.wrong_actor")):
        with pytest.raises(WorkflowFailureError) as failed:
            await edge.result(started)
        assert isinstance(failed.value.cause, ApplicationError)
        assert failed.value.cause.message.startswith(code)
        assert await scheduled(ts.env, started) == 0
        assert await audit(ts.app, started) == []
    assert (await account(ts.app, USERNAME)).role == "user"
