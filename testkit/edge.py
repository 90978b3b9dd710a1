"""The edge for tests: `create_app` over a test's own database with a clock the test moves,
driven in-process by httpx (ASGITransport) or served by uvicorn on a free local port (the CLI's
tests, the browser's)."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client

from domain import passwords
from edge.web.app import create_app
from store.models import Account
from testkit import eventually
from testkit.harness import App, Harness

STAFF_PASSWORD = "Staff#Pass-2026"
DEMO_ADMINS = ("admin_hospital", "admin_centre", "sysadmin")
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
    # The worker and Temporal server behind it, when there is one.
    harness: Harness | None = None
    # Where it is served, when it is (`serve`).
    url: str | None = None

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


async def demo_admins_with_password(app: App) -> None:
    """The seeded admins, with STAFF_PASSWORD (the seed gives them one nobody knows)."""
    for username in DEMO_ADMINS:
        await set_password(app, username)


def make_edge(
    app: App, temporal: Client | None = None, harness: Harness | None = None, **settings: object
) -> Edge:
    clock = MovableClock()
    configured = app.settings.model_copy(update=settings)
    return Edge(create_app(configured, temporal=temporal, clock=clock), app, clock, harness)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serve(edge: Edge, port: int | None = None) -> AsyncIterator[Edge]:
    """The edge on 127.0.0.1 (a free port unless one is given), in this event loop."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(edge.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started))
        edge.url = f"http://127.0.0.1:{port}"
        yield edge
    finally:
        server.should_exit = True
        await task
        edge.url = None


@dataclass(frozen=True)
class Codec:
    """What the `temporal` CLI needs to reach the edge's codec as an operator, as the README
    shows it: the endpoint as a flag, the header in TEMPORAL_CODEC_AUTH (no command line)."""

    endpoint: str
    auth: str

    @property
    def flags(self) -> list[str]:
        return ["--codec-endpoint", self.endpoint]

    @property
    def env(self) -> dict[str, str]:
        return {"TEMPORAL_CODEC_AUTH": self.auth}


@asynccontextmanager
async def operator_codec(served: Edge) -> AsyncIterator[Codec]:
    """The codec of a served edge (`serve`), for `sysadmin` (who holds payloads:decode)."""
    assert served.url is not None, "serve the edge first"
    async with served.client() as browser:
        await served.login(browser, "sysadmin")
        yield Codec(f"{served.url}/codec/", f"Bearer {browser.cookies['jshr_staff']}")
