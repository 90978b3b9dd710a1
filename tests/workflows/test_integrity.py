"""What verification found free can be taken before the account is made: the second applicant
is sent to correction with a clear reason, and one invitation makes one unit admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.verification import VerificationActivities
from devtools.demo import read_sms_code
from domain.contracts.registration import PhoneCodeOutcome, Stage
from domain.roles import Role
from starter.client import RegistrationClient
from store.documents import LocalDocumentStore
from store.identity import IdentityAnswer
from store.models import Account, Invitation
from store.seed import APPLICANTS, DEMO_INVITATION, HEALTH_CENTRE, Person
from store.verification import ApplicationChecks
from testkit import count, eventually, reach, request
from testkit.harness import (
    TIME_SKIPPING_TTL,
    App,
    Harness,
    registration_client,
    start_and_verify_phone,
    time_skipping_server,
)
from worker import build_worker
from workflows.common import ACTIVITY_MAX_ATTEMPTS

pytestmark = pytest.mark.asyncio


async def test_a_username_taken_during_review_sends_the_applicant_to_correction(ts) -> None:
    first = await start_and_verify_phone(ts, APPLICANTS[0], username="shared_name")
    second = await start_and_verify_phone(ts, APPLICANTS[2], username="shared_name")
    for workflow_id in (first, second):
        await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    assert (await ts.client.decide(first, reviewer_id="admin_hospital", approve=True)).accepted
    assert (await ts.client.result(first)).stage == Stage.COMPLETED

    assert (await ts.client.decide(second, reviewer_id="admin_hospital", approve=True)).accepted
    await reach(ts.client, second, Stage.AWAITING_CORRECTION)
    status = await ts.client.status(second)
    assert [(r.code, r.fields) for r in status.refusals] == [
        ("username.taken_in_review", ["username"])
    ]
    assert "用户名" in status.refusals[0].message_zh
    assert await count(ts.app, Account, Account.username == "shared_name") == 1


async def _unit_admin(ts: Harness, person: Person) -> str:
    # Started as an integrator could, without the client's pre-checks: the workflow's own
    # verification must hold.
    unchecked = RegistrationClient(
        ts.env.client,
        task_queue=ts.app.settings.task_queue,
        applicant_key_secret=ts.app.settings.applicant_key_secret,
    )
    return await unchecked.start(
        request(
            person,
            requested_role=Role.UNIT_ADMIN,
            invitation_code=DEMO_INVITATION,
            unit_code=HEALTH_CENTRE[0],
            unit_name=HEALTH_CENTRE[1],
        )
    )


async def test_one_invitation_makes_one_unit_admin(ts) -> None:
    first = await _unit_admin(ts, APPLICANTS[1])
    await reach(ts.client, first, Stage.AWAITING_PHONE_CODE)
    second = await _unit_admin(ts, APPLICANTS[3])
    await reach(ts.client, second, Stage.AWAITING_CORRECTION)
    refusals = (await ts.client.status(second)).refusals
    assert [r.code for r in refusals] == ["invitation.invalid"]

    code = await read_sms_code(ts.app.sessions, APPLICANTS[1].phone)
    assert (await ts.client.submit_phone_code(first, code)).outcome == PhoneCodeOutcome.ACCEPTED
    await reach(ts.client, first, Stage.AWAITING_SIGNATURE)
    assert (await ts.client.sign(first, "pad-1")).accepted
    await reach(ts.client, first, Stage.AWAITING_REVIEW)
    await ts.client.decide(first, reviewer_id="sysadmin", approve=True)
    assert (await ts.client.result(first)).stage == Stage.COMPLETED
    registered = Account.registration_id.is_not(None)
    assert await count(ts.app, Account, Account.role == Role.UNIT_ADMIN.value, registered) == 1


class DownIdentity:
    """An identity service that never answers."""

    calls = 0

    async def check(self, name: str, id_number: str) -> IdentityAnswer:
        self.calls += 1
        return IdentityAnswer.UNAVAILABLE


@pytest.fixture
async def own_time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of this test's own: it skips half an hour of retries (tests/conftest.py)."""
    async with time_skipping_server() as env:
        yield env


async def test_an_activity_that_never_succeeds_ends_the_registration_as_failed(
    own_time_env: WorkflowEnvironment, app: App
) -> None:
    time_env = own_time_env
    identity = DownIdentity()
    verification = VerificationActivities(
        app.sessions,
        ApplicationChecks(
            app.sessions, app.settings, LocalDocumentStore(app.settings.document_dir), identity
        ),
    )
    client = registration_client(time_env, app, TIME_SKIPPING_TTL)
    async with build_worker(time_env.client, app.settings, app.sessions, verification=verification):
        unchecked = RegistrationClient(
            time_env.client,
            task_queue=app.settings.task_queue,
            applicant_key_secret=app.settings.applicant_key_secret,
        )
        workflow_id = await unchecked.start(request())

        async def failed() -> bool:
            # The retries back off to a minute apart: skip the server's clock past them.
            await time_env.sleep(timedelta(minutes=2))
            return (await client.status(workflow_id)).stage == Stage.FAILED

        await eventually(failed, timeout=60)
        assert (await client.result(workflow_id)).stage == Stage.FAILED
        status = await client.status(workflow_id)
        assert status.history[-1].outcome == "verify_application: IdentityUnavailable"
    assert identity.calls == ACTIVITY_MAX_ATTEMPTS


async def test_a_withdrawn_unit_admin_application_gives_its_invitation_back(ts) -> None:
    first = await _unit_admin(ts, APPLICANTS[1])
    await reach(ts.client, first, Stage.AWAITING_PHONE_CODE)
    assert await count(ts.app, Invitation, Invitation.used_by_registration.is_not(None)) == 1
    await ts.client.withdraw(first)
    assert (await ts.client.result(first)).stage == Stage.WITHDRAWN
    assert await count(ts.app, Invitation, Invitation.used_by_registration.is_not(None)) == 0

    second = await _unit_admin(ts, APPLICANTS[3])
    await reach(ts.client, second, Stage.AWAITING_PHONE_CODE)
    await ts.client.withdraw(second)
    await ts.client.result(second)
