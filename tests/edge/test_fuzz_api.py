"""Schemathesis against the edge's own OpenAPI document, on the dev-server harness: whatever it
sends, anonymously or as a logged-in admin, the edge answers without a 5xx, in its error shape.
Bounded (examples per operation, a time budget) so that it stays well under a minute."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from edge.web.app import openapi_document
from testkit.edge import Edge

BUDGET_SECONDS = 40
EXAMPLES = 15


def _httpx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis serializes for `requests`; httpx spells a raw body `content`."""
    out = {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params", "json")}
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        out["content"] = data
    elif data is not None:
        out["data"] = data
    if kwargs.get("files"):
        out["files"] = kwargs["files"]
    out["cookies"] = kwargs.get("cookies") or None
    return out


async def test_no_request_gets_a_server_error(live: Edge) -> None:
    schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))
    strategy = schema.as_strategy()
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + BUDGET_SECONDS
    sessions = live.app.state.edge.sessions
    seen: list[tuple[str, str, int]] = []

    async def send(kwargs: dict[str, Any], persona: str, workflow_id: str) -> httpx.Response:
        """As nobody (with the anonymous CSRF token), as a system admin (a fresh bearer session:
        the fuzzer logs out and changes passwords too), or as the applicant of the registration
        in the path (cookie + CSRF)."""
        headers = dict(kwargs.get("headers") or {})
        async with live.client() as client:
            if persona == "anonymous":
                headers["X-CSRF-Token"] = (await client.get("/api/v1/csrf")).json()["csrf_token"]
            elif persona == "staff":
                token, _ = await sessions.create("staff", "sysadmin")
                headers["Authorization"] = f"Bearer {token}"
            else:
                token, session = await sessions.create("applicant", workflow_id)
                client.cookies.set("jshr_applicant", token)
                headers["X-CSRF-Token"] = session.csrf_token
            return await client.request(**_httpx_kwargs({**kwargs, "headers": headers}))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES * len(schema),
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        if time.monotonic() > deadline:
            return
        workflow_id = str(
            (case.path_parameters or {}).get("workflow_id", "registration-" + "a" * 32)
        )
        for persona in ("anonymous", "staff", "applicant"):
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            sent = send(kwargs, persona, workflow_id)
            answer = asyncio.run_coroutine_threadsafe(sent, loop).result(30)
            seen.append((case.method, case.path, answer.status_code))
            assert answer.status_code < 500, (persona, case.method, case.path, answer.text)
            if answer.status_code >= 400 and answer.headers["content-type"].startswith(
                "application/json"
            ):
                assert answer.json()["errors"][0]["code"], answer.text

    await asyncio.to_thread(run)
    # It reached most of the API, and past the door: answers other than 401/403.
    assert len({(method, path) for method, path, _ in seen}) >= len(schema) * 3 // 4
    assert len({(m, p) for m, p, status in seen if status not in (401, 403)}) >= len(schema) // 2
