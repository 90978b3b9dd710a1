"""Service tokens: scoped, hashed at rest, revocable; a token starts registrations and reads
them, and can do nothing for a person."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from edge.tokens import ServiceTokens, TokenError
from starter.cli import app as cli
from store.models import ServiceToken
from testkit import form_fields
from testkit.edge import Edge
from tests.edge.test_registration_api import API, photos


async def test_a_token_is_shown_once_and_kept_only_as_a_hash(edge: Edge) -> None:
    tokens = ServiceTokens(edge.db.sessions)
    secret = await tokens.create("hr-portal", ["registrations:start"])
    async with edge.db.sessions() as session:
        row = (await session.scalars(select(ServiceToken))).one()
    assert secret not in (row.token_hash, row.name) and len(row.token_hash) == 64
    with pytest.raises(TokenError):
        await tokens.create("hr-portal", ["registrations:start"])
    with pytest.raises(TokenError):
        await tokens.create("other", ["registrations:decide"])
    assert [t.name for t in await tokens.list()] == ["hr-portal"]


async def test_a_token_starts_and_reads_but_decides_nothing(live: Edge) -> None:
    tokens = ServiceTokens(live.db.sessions)
    both = await tokens.create("hr-portal", ["registrations:start", "registrations:read"])
    start_only = await tokens.create("kiosk", ["registrations:start"])
    async with live.client() as integrator:
        bearer = {"Authorization": f"Bearer {both}"}
        started = await integrator.post(API, data=form_fields(), files=photos(), headers=bearer)
        assert started.status_code == 201, started.text
        assert "jshr_applicant" not in integrator.cookies  # no applicant session for a system
        workflow_id = started.json()["workflow_id"]
        again = await integrator.post(API, data=form_fields(), files=photos(), headers=bearer)
        assert again.status_code == 201 and again.json()["workflow_id"] == workflow_id
        status = await integrator.get(f"{API}/{workflow_id}", headers=bearer)
        assert status.status_code == 200 and status.json()["masked_name"] == "张*"

        no_scope = await integrator.get(
            f"{API}/{workflow_id}", headers={"Authorization": f"Bearer {start_only}"}
        )
        assert no_scope.status_code == 403
        assert no_scope.json()["errors"][0]["code"] == "token.scope"
        for method, path, body in (
            ("POST", f"/api/v1/review/{workflow_id}/decision", {"approve": True}),
            ("POST", f"{API}/{workflow_id}/withdrawal", {}),
            ("GET", "/api/v1/review/inbox", None),
        ):
            refused = await integrator.request(method, path, json=body, headers=bearer)
            assert refused.status_code == 401, path

        await tokens.revoke("hr-portal")
        revoked = await integrator.get(f"{API}/{workflow_id}", headers=bearer)
        assert revoked.status_code == 401
        assert revoked.json()["errors"][0]["code"] == "token.invalid"
        forged = await integrator.get(
            f"{API}/{workflow_id}", headers={"Authorization": "Bearer jshr_svc_forged"}
        )
        assert forged.json()["errors"][0]["code"] == "token.invalid"
    assert live.harness is not None
    status_after = await live.harness.client.status(workflow_id)
    assert status_after.stage != "withdrawn"


async def test_the_token_commands_make_list_and_revoke(edge: Edge) -> None:
    env = {"JSHR_DATABASE_URL": edge.db.settings.database_url, "COLUMNS": "200"}

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["token", *args], env=env)

    made = await asyncio.to_thread(invoke, "create", "hr-portal", "--scope", "registrations:start")
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("jshr_svc_")
    assert await ServiceTokens(edge.db.sessions).verify(secret) is not None
    listed = await asyncio.to_thread(invoke, "list")
    assert "hr-portal" in listed.output and secret not in listed.output
    bad = await asyncio.to_thread(invoke, "create", "x2", "--scope", "registrations:decide")
    assert bad.exit_code == 2 and "scopes must be" in bad.output
    assert (await asyncio.to_thread(invoke, "revoke", "hr-portal")).exit_code == 0
    assert await ServiceTokens(edge.db.sessions).verify(secret) is None
    assert (await asyncio.to_thread(invoke, "revoke", "hr-portal")).exit_code == 2
