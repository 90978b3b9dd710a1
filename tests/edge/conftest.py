"""The edge in-process: `create_app` over the test's own database, driven by httpx through
ASGITransport, with a clock the tests move."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from domain import passwords
from edge.web.app import create_app
from store.models import Account
from tests.conftest import App, Harness

STAFF_PASSWORD = "Staff#Pass-2026"
ADDRESS = "198.51.100.7"


@dataclass
class MovableClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Edge:
    app: FastAPI
    db: App
    clock: MovableClock
    ts: Harness | None = None

    def client(self, address: str = ADDRESS) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async def login(
        self, client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD
    ) -> str:
        """Log in; returns the session's CSRF token."""
        answer = await client.post(
            "/api/v1/staff/session", json={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["csrf_token"])


@functools.cache
def password_hash(password: str) -> str:
    return passwords.hasher().hash(password)


async def set_password(app: App, username: str, password: str = STAFF_PASSWORD) -> None:
    async with app.sessions.begin() as session:
        account = await session.get(Account, username)
        assert account is not None
        account.password_hash = password_hash(password)


def make_edge(app: App, temporal: Client | None = None, **settings: object) -> Edge:
    clock = MovableClock()
    configured = app.settings.model_copy(update=settings)
    return Edge(create_app(configured, temporal=temporal, clock=clock), app, clock)


@pytest.fixture
async def edge(app: App) -> AsyncIterator[Edge]:
    """The edge without Temporal, the demo admins with a known password."""
    for username in ("admin_hospital", "admin_centre", "sysadmin"):
        await set_password(app, username)
    harness = make_edge(app)
    async with harness.app.router.lifespan_context(harness.app):
        yield harness


@pytest.fixture
async def live(dev: Harness) -> AsyncIterator[Edge]:
    """The edge over a worker on the real dev server (the `dev` harness: visibility queries,
    which the inbox needs, are the dev server's)."""
    for username in ("admin_hospital", "admin_centre", "sysadmin"):
        await set_password(dev.app, username)
    harness = make_edge(dev.app, temporal=dev.env.client)
    harness.ts = dev
    async with harness.app.router.lifespan_context(harness.app):
        yield harness
