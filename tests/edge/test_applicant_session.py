"""The applicant's session: bound to one registration, CSRF-protected, ended on request."""

from __future__ import annotations

from testkit.edge import Edge

WORKFLOW = "registration-" + "ab" * 16


async def test_a_session_is_bound_to_its_registration(edge: Edge) -> None:
    token, _ = await edge.app.state.edge.sessions.create("applicant", WORKFLOW)
    async with edge.client() as client:
        client.cookies.set("jshr_applicant", token)
        answer = await client.get("/api/v1/applicant/session")
        assert answer.status_code == 200
        assert answer.json()["workflow_id"] == WORKFLOW
        csrf = answer.json()["csrf_token"]
        # The page's token is the session's one.
        assert (await client.get("/api/v1/csrf")).json()["csrf_token"] == csrf
        refused = await client.delete("/api/v1/applicant/session")
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["code"] == "csrf.missing"
        done = await client.delete("/api/v1/applicant/session", headers={"X-CSRF-Token": csrf})
        assert done.status_code == 200
        client.cookies.set("jshr_applicant", token)
        ended = await client.get("/api/v1/applicant/session")
    assert ended.json()["errors"][0]["code"] == "session.ended"


async def test_a_staff_session_is_no_applicant_session(edge: Edge) -> None:
    async with edge.client() as client:
        await edge.login(client, "admin_hospital")
        client.cookies.set("jshr_applicant", client.cookies["jshr_staff"])
        answer = await client.get("/api/v1/applicant/session")
    assert answer.json()["errors"][0]["code"] == "session.unknown"


async def test_an_applicant_session_ends_after_its_lifetime(edge: Edge) -> None:
    token, _ = await edge.app.state.edge.sessions.create("applicant", WORKFLOW)
    async with edge.client() as client:
        client.cookies.set("jshr_applicant", token)
        edge.clock.advance(hours=edge.db.settings.applicant_session_hours - 1)
        assert (await client.get("/api/v1/applicant/session")).status_code == 200
        edge.clock.advance(hours=2)
        answer = await client.get("/api/v1/applicant/session")
    assert answer.json()["errors"][0]["code"] == "session.expired"
