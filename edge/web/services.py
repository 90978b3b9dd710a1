"""What the routes use, built once per app by the lifespan and kept in `app.state.edge`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from config import Settings
from domain.assertions import AssertionSigner
from edge.auth import StaffAuth
from edge.codec import CodecGate
from edge.codes import OneTimeCodes
from edge.messages import EdgeRefused
from edge.permissions import Permissions
from edge.registrations import Registrations
from edge.sessions import SessionStore
from edge.throttle import Throttle
from edge.tokens import ServiceTokens
from notify.outbox import Notifier

HERE = Path(__file__).resolve().parent


class TemporalConnection:
    """The Temporal client, connected on first use (and again after a failed attempt), so that
    the edge starts, and serves its pages, while Temporal is still coming up."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                from plumbing.connect import connect

                try:
                    self._client = await connect(self._settings)
                except RuntimeError as exc:
                    raise EdgeRefused("workflow.unavailable") from exc
        return self._client


@dataclass
class EdgeServices:
    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    sessions: SessionStore
    auth: StaffAuth
    codes: OneTimeCodes
    tokens: ServiceTokens
    notifier: Notifier
    signer: AssertionSigner
    temporal: TemporalConnection
    # Returning applicants asking for codes: per address, the login throttle's numbers.
    applicant_throttle: Throttle
    # The codec endpoint: decrypts for a person, audited and rate-limited.
    codec: CodecGate
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=HERE / "templates")
    )
    _registrations: Registrations | None = None

    async def registrations(self) -> Registrations:
        """The registration workflows, reached through Temporal (connected on first use)."""
        if self._registrations is None:
            self._registrations = Registrations(
                self.settings, self.db, self.signer, await self.temporal.get()
            )
        return self._registrations

    async def permissions(self) -> Permissions:
        """The permission workflows, likewise."""
        return Permissions(self.settings, self.db, self.signer, await self.temporal.get())
