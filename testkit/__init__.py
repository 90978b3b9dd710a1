"""Test helpers: invented applicants' forms, waiting on conditions, reading the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from sqlalchemy import func, select

from devtools.samples import card_jpeg
from domain import rules
from domain.contracts.registration import RegistrationRequest, Stage
from domain.roles import Role
from edge.intake import ApplicationForm, build_request
from starter.client import RegistrationClient
from store.models import OutboxMessage
from store.seed import APPLICANTS, PEOPLE_HOSPITAL, Person

T = TypeVar("T")
TODAY = date(2026, 11, 29)
PASSWORD = "Good#Pass-2026"


def form_fields(person: Person = APPLICANTS[0], **overrides: str) -> dict[str, str]:
    """The form's text fields, as a browser or an integrator posts them."""
    fields = {
        "name": person.name,
        "id_number": person.id_number,
        "phone": person.phone,
        "email": person.email,
        "unit_code": PEOPLE_HOSPITAL[0],
        "unit_name": PEOPLE_HOSPITAL[1],
        "username": rules.suggest_username(person.name, person.id_number),
        "password": PASSWORD,
        "notice_version": "2026-01",
    }
    fields.update(overrides)
    return fields


def form(person: Person = APPLICANTS[0], **overrides: object) -> ApplicationForm:
    fields: dict[str, object] = {
        **form_fields(person),
        "requested_role": Role.USER,
        "id_card_front": card_jpeg("front"),
        "id_card_back": card_jpeg("back"),
        "consented_at": datetime(2026, 11, 29, 8, 0, tzinfo=UTC),
    }
    fields.update(overrides)
    return ApplicationForm(**fields)


def request(person: Person = APPLICANTS[0], **overrides: object) -> RegistrationRequest:
    """A checked request whose photos are the samples each test's document store holds."""
    return build_request(form(person, **overrides), today=TODAY).request


def sample_documents() -> dict[str, bytes]:
    return build_request(form(), today=TODAY).documents


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20) -> T:
    """Await `check` until it returns something truthy, or fail after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not (value := await check()):
            await asyncio.sleep(0.1)
        return value


async def reach(
    client: RegistrationClient, workflow_id: str, stage: Stage, timeout: float = 20
) -> None:
    async def at_stage() -> bool:
        return (await client.status(workflow_id)).stage == stage

    await eventually(at_stage, timeout)


async def outbox(
    app, recipient: str | None = None, channel: str | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.created_at)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient_hmac == recipient)
    if channel is not None:
        query = query.where(OutboxMessage.channel == channel)
    async with app.sessions() as session:
        return list(await session.scalars(query))


async def count(app, model, *where) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
