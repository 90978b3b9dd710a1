"""The purge on the time-skipping server: nothing before its time, photos and messages after
`retention_documents_days`, the rest of an applicant without an account after
`retention_applicant_days`; every purge audited, a second run a no-op."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from domain.contracts.internal import PurgeReport
from domain.contracts.registration import Stage
from store.documents import LocalDocumentStore
from store.models import (
    Account,
    AuditEvent,
    OutboxMessage,
    PhoneCode,
    PhotoCheck,
    RegistrationEnd,
)
from store.seed import APPLICANTS
from testkit import count, reach, sample_documents
from testkit.harness import Harness, start_and_verify_phone, time_skipping_server
from workflows.purge import PurgeWorkflow

pytestmark = pytest.mark.asyncio


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of this module's own: it skips months (tests/conftest.py, `time_env`)."""
    async with time_skipping_server() as env:
        yield env


async def purge(ts: Harness) -> PurgeReport:
    return await ts.env.client.execute_workflow(
        PurgeWorkflow.run, id=f"purge-{uuid.uuid4().hex[:8]}", task_queue=ts.app.settings.task_queue
    )


async def purges(ts: Harness, workflow_id: str) -> list[str]:
    async with ts.app.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEvent.outcome)
                .where(
                    AuditEvent.registration_id.startswith(workflow_id),
                    AuditEvent.kind == "purge",
                    AuditEvent.actor == "retention",
                )
                .order_by(AuditEvent.id)
            )
        )


async def test_the_purge_keeps_nothing_past_its_retention(ts: Harness) -> None:
    withdrawn = await start_and_verify_phone(ts, APPLICANTS[0])
    await reach(ts.client, withdrawn, Stage.AWAITING_REVIEW)
    await ts.client.withdraw(withdrawn, "不再需要")
    assert (await ts.client.result(withdrawn)).stage == Stage.WITHDRAWN
    completed = await start_and_verify_phone(ts, APPLICANTS[1])
    await reach(ts.client, completed, Stage.AWAITING_REVIEW)
    await ts.client.decide(completed, reviewer_id="admin_hospital", approve=True)
    assert (await ts.client.result(completed)).stage == Stage.COMPLETED

    documents = LocalDocumentStore(ts.app.settings.document_dir)
    refs = list(sample_documents())  # both applicants sent the same two photos

    async def photos() -> list[bool]:
        return [await documents.exists(ref) for ref in refs]

    async def messages(workflow_id: str) -> int:
        return await count(
            ts.app, OutboxMessage, OutboxMessage.idempotency_key.startswith(workflow_id)
        )

    async def codes(workflow_id: str) -> int:
        return await count(ts.app, PhoneCode, PhoneCode.registration_id.startswith(workflow_id))

    assert await purge(ts) == PurgeReport()
    assert await photos() == [True, True]
    assert await count(ts.app, PhotoCheck) == 1  # the pair passed, once for both

    await ts.env.sleep(timedelta(days=ts.app.settings.retention_documents_days, hours=1))
    report = await purge(ts)
    assert report.registrations == 2 and report.documents == 2 and report.messages >= 4
    assert report.applicant_records == 0
    assert await photos() == [False, False]
    assert await count(ts.app, PhotoCheck) == 0  # its pass went with the photos
    assert await messages(withdrawn) == 0 and await messages(completed) == 0
    assert await codes(withdrawn) == 1 and await codes(completed) == 1
    assert await purges(ts, withdrawn) == ["documents_deleted"]
    assert await purges(ts, completed) == ["documents_deleted"]

    await ts.env.sleep(timedelta(days=ts.app.settings.retention_applicant_days))
    report = await purge(ts)
    assert report == PurgeReport(applicant_records=1)  # the withdrawn applicant's phone code
    assert await codes(withdrawn) == 0
    assert await codes(completed) == 1  # an account's registration keeps its evidence
    assert await purges(ts, withdrawn) == ["documents_deleted", "applicant_data_deleted"]
    assert await purges(ts, completed) == ["documents_deleted"]

    assert await purge(ts) == PurgeReport()


async def test_a_photo_a_running_registration_shares_stays(ts: Harness) -> None:
    ended = await start_and_verify_phone(ts, APPLICANTS[0])
    await ts.client.withdraw(ended)
    assert (await ts.client.result(ended)).stage == Stage.WITHDRAWN
    running = await start_and_verify_phone(ts, APPLICANTS[1])
    await reach(ts.client, running, Stage.AWAITING_REVIEW)

    await ts.env.sleep(timedelta(days=ts.app.settings.retention_documents_days, hours=1))
    report = await purge(ts)
    assert report.registrations == 1 and report.documents == 0
    documents = LocalDocumentStore(ts.app.settings.document_dir)
    assert [await documents.exists(ref) for ref in sample_documents()] == [True, True]


async def test_an_account_without_an_end_row_gets_one_from_the_purge(ts: Harness) -> None:
    """A registration completed by a worker of the release before lean-history (a rolling
    deploy) has an account but no end row: the purge dates its end from the account."""
    completed = await start_and_verify_phone(ts, APPLICANTS[1])
    await reach(ts.client, completed, Stage.AWAITING_REVIEW)
    assert (await ts.client.decide(completed, reviewer_id="admin_hospital", approve=True)).accepted
    assert (await ts.client.result(completed)).stage == Stage.COMPLETED
    async with ts.app.sessions.begin() as session:
        account = await session.scalar(
            select(Account).where(Account.registration_id.startswith(completed))
        )
        assert account is not None
        end = await session.get(RegistrationEnd, account.registration_id)
        assert end is not None and end.stage == Stage.COMPLETED.value
        await session.delete(end)

    await purge(ts)
    async with ts.app.sessions() as session:
        end = await session.get(RegistrationEnd, account.registration_id)
    assert end is not None and end.stage == Stage.COMPLETED.value
    assert end.ended_at == account.created_at
