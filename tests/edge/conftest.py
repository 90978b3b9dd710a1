"""The edge in-process over the test's own database (testkit.edge): without Temporal (`edge`),
or over a worker on the dev server (`live`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from testkit.edge import Edge, demo_admins_with_password, make_edge
from testkit.harness import App, Harness


@pytest.fixture
async def edge(app: App) -> AsyncIterator[Edge]:
    """The edge without Temporal, the demo admins with a known password."""
    await demo_admins_with_password(app)
    harness = make_edge(app)
    async with harness.app.router.lifespan_context(harness.app):
        yield harness


@pytest.fixture
async def live(dev: Harness) -> AsyncIterator[Edge]:
    """The edge over a worker on the real dev server (the `dev` harness: visibility queries,
    which the inbox needs, are the dev server's)."""
    await demo_admins_with_password(dev.app)
    harness = make_edge(dev.app, temporal=dev.env.client, harness=dev)
    async with harness.app.router.lifespan_context(harness.app):
        yield harness
