"""`python -m starter demo`: one invented applicant, from the form to an account."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

from rich.console import Console
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from devtools.samples import card_jpeg
from domain import rules
from domain.contracts.registration import Stage
from domain.keys import applicant_key
from edge.intake import ApplicationForm, build_request
from starter.client import RegistrationClient
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.models import Account, OutboxMessage
from store.seed import APPLICANTS, UNITS, Person
from store.verification import ApplicationChecks

console = Console()
DEMO_PASSWORD = "Demo#Pass-2026"


async def run_demo(settings: Settings) -> None:
    from plumbing.connect import connect

    engine = make_engine(settings.database_url, settings.data_key)
    sessions = make_sessions(engine)
    person = await _applicant_without_account(sessions, settings)
    if person is None:
        console.print("every demo resident already has an account; reset with `make clean`")
        return
    documents = LocalDocumentStore(settings.document_dir)
    client = RegistrationClient(
        await connect(settings),
        task_queue=settings.task_queue,
        applicant_key_secret=settings.applicant_key_secret,
        verifier=ApplicationChecks.embedded(sessions, settings),
        documents=documents,
        # The demo plays the applicant and the reviewer, so it signs as the edge would for them.
        signer=settings.assertion_signer(),
        ttl=timedelta(seconds=settings.assertion_ttl_seconds),
    )
    unit_code, unit_name = UNITS[0]
    username = rules.suggest_username(person.name, person.id_number)
    application = build_request(
        ApplicationForm(
            name=person.name,
            id_number=person.id_number,
            phone=person.phone,
            email=person.email,
            unit_code=unit_code,
            unit_name=unit_name,
            username=username,
            password=DEMO_PASSWORD,
            id_card_front=card_jpeg("front"),
            id_card_back=card_jpeg("back"),
            notice_version=settings.notice_version,
            consented_at=datetime.now(UTC),
        ),
        today=date.today(),
        limits=settings.photo_limits(),
        ages=settings.applicant_ages,
    )
    workflow_id = await client.start(application.request, application.documents)
    console.print(
        f"[bold]started[/bold] {workflow_id} for {rules.mask_name(person.name)}"
        f" ({unit_name}), username {username}"
    )

    await wait_for_stage(client, workflow_id, {Stage.AWAITING_PHONE_CODE})
    sms_code = await read_sms_code(sessions, person.phone)
    answer = await client.submit_phone_code(workflow_id, sms_code)
    console.print(f"phone code {sms_code}: {answer.outcome.value} ({answer.message_zh})")

    stage = await wait_for_stage(
        client, workflow_id, {Stage.AWAITING_SIGNATURE, Stage.AWAITING_REVIEW}
    )
    if stage == Stage.AWAITING_SIGNATURE:
        console.print(f"e-signature: {(await client.sign(workflow_id, 'demo-pad')).message_zh}")
        await wait_for_stage(client, workflow_id, {Stage.AWAITING_REVIEW})
    reviewers = (await client.status(workflow_id)).reviewers
    decision = await client.decide(workflow_id, reviewer_id=reviewers[0], approve=True)
    console.print(f"review by {reviewers[0]}: {decision.code} ({decision.message_zh})")

    outcome = await client.result(workflow_id)
    console.print(
        f"[bold green]{outcome.stage.value}[/bold green]: account "
        f"{outcome.account.username if outcome.account else '-'}"
        f" with role {outcome.account.role.value if outcome.account else '-'}"
    )
    console.print(
        f"see it in the Web UI: http://localhost:{settings.temporal_ui_port}"
        f"/namespaces/{settings.temporal_namespace}/workflows/{workflow_id}"
    )
    await engine.dispose()


async def wait_for_stage(
    client: RegistrationClient, workflow_id: str, stages: set[Stage], timeout: float = 30
) -> Stage:
    """Poll the `status` query until the registration reaches one of `stages`."""
    async with asyncio.timeout(timeout):
        while True:
            stage = (await client.status(workflow_id)).stage
            console.print(f"  stage: {stage.value}")
            if stage in stages:
                return stage
            await asyncio.sleep(0.3)


async def read_sms_code(
    sessions: async_sessionmaker[AsyncSession], phone: str, timeout: float = 10
) -> str:
    """Read the newest code texted to `phone` from the embedded SMS channel (the outbox)."""
    async with asyncio.timeout(timeout):
        while True:
            async with sessions() as session:
                bodies = list(
                    await session.scalars(
                        select(OutboxMessage.body)
                        .where(
                            OutboxMessage.recipient_hmac == phone, OutboxMessage.channel == "sms"
                        )
                        .order_by(OutboxMessage.created_at.desc())
                    )
                )
            for body in bodies:
                if found := re.search(r"验证码为(\d{6})", body):
                    return found.group(1)
            await asyncio.sleep(0.2)


async def _applicant_without_account(
    sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> Person | None:
    async with sessions() as session:
        taken = set(await session.scalars(select(Account.applicant_key)))
    for person in APPLICANTS:
        if applicant_key(settings.applicant_key_secret, person.id_number) not in taken:
            return person
    return None
