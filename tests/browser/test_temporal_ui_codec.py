"""The Temporal UI of the dev server shows a workflow's input decoded only after the operator
logged in to the edge, through the edge's codec endpoint with the browser's cookie."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import select
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from store.models import AuditEvent
from testkit.edge import (
    STAFF_PASSWORD,
    Edge,
    demo_admins_with_password,
    free_port,
    make_edge,
    serve,
)
from testkit.harness import App, converter

NAME = "欧阳明月"


@workflow.defn(sandboxed=False)
class KeepName:
    @workflow.run
    async def run(self, name: str) -> str:
        return name


@dataclass
class Stack:
    ui: str
    edge: Edge
    workflow_id: str

    @property
    def edge_origin(self) -> str:
        """The edge as the browser reaches it: `localhost`, the UI's site (not 127.0.0.1)."""
        assert self.edge.url is not None
        return self.edge.url.replace("127.0.0.1", "localhost")


@pytest.fixture
async def stack(app: App) -> AsyncIterator[Stack]:
    """A dev server whose UI decodes through the edge (as `make run` starts it), the edge on
    `localhost` beside it (the same site), and one finished workflow holding NAME, encrypted."""
    edge_port, ui_port, port = free_port(), free_port(), free_port()
    ui = f"http://localhost:{ui_port}"
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("temporal")),
        *("server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)),
        *("--ui-port", str(ui_port), "--ui-codec-endpoint", f"http://localhost:{edge_port}/codec/"),
        *("--log-level", "error", "--ui-disable-news-fetch"),
        start_new_session=True,
    )  # fmt: skip
    try:
        client = None
        async with asyncio.timeout(60):
            while client is None:
                try:
                    client = await Client.connect(f"127.0.0.1:{port}", data_converter=converter())
                except RuntimeError:
                    await asyncio.sleep(0.3)
        queue, workflow_id = f"ui-{uuid.uuid4().hex[:8]}", f"ui-codec-{uuid.uuid4().hex}"
        async with Worker(client, task_queue=queue, workflows=[KeepName]):
            await client.execute_workflow(KeepName.run, NAME, id=workflow_id, task_queue=queue)
        await demo_admins_with_password(app)
        edge = make_edge(app, codec_allowed_origins=(ui,))
        async with edge.app.router.lifespan_context(edge.app), serve(edge, edge_port):
            yield Stack(ui, edge, workflow_id)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        await server.wait()


async def use_the_edge_with_credentials(page: Page, stack: Stack) -> None:
    """What the operator does once in the UI's codec settings ("Include cross-origin
    credentials", as a browser setting): the dev server cannot configure it."""
    await page.goto(f"{stack.ui}/namespaces/default/workflows")
    endpoint = f"{stack.edge_origin}/codec/"
    await page.evaluate(
        """endpoint => {
            localStorage.setItem('endpoint', JSON.stringify(endpoint));
            localStorage.setItem('includeCredentials', 'true');
            localStorage.setItem('overrideRemoteCodecConfiguration', 'true');
        }""",
        endpoint,
    )


async def open_workflow(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.ui}/namespaces/default/workflows/{stack.workflow_id}")
    await expect(page.get_by_text(stack.workflow_id).first).to_be_visible(timeout=30_000)


async def test_the_ui_decodes_only_for_the_logged_in_operator(
    desktop: BrowserContext, stack: Stack
) -> None:
    page = await desktop.new_page()
    await use_the_edge_with_credentials(page, stack)
    await open_workflow(page, stack)
    # Not logged in: the edge refuses (401), the UI says so and shows the stored ciphertext.
    failed = page.locator("#content").get_by_text("Codec Server could not connect")
    await expect(failed).to_be_visible(timeout=30_000)
    await expect(page.get_by_text(NAME)).to_have_count(0)

    edge_origin = stack.edge_origin
    await page.goto(f"{edge_origin}/staff/login")
    await page.get_by_label("用户名").fill("sysadmin")
    await page.get_by_label("密码").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.wait_for_url(f"{edge_origin}/staff/**")

    await open_workflow(page, stack)
    await expect(page.get_by_text(NAME).first).to_be_visible(timeout=30_000)
    await expect(failed).to_have_count(0)
    async with stack.edge.db.sessions() as session:
        rows = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.kind == "codec.decode"))
        )
    decoded = [row for row in rows if row.outcome == "decoded"]
    assert decoded and {row.actor for row in decoded} == {"sysadmin"}
    assert all(json.loads(row.detail)["via"] == "cookie" for row in decoded)
