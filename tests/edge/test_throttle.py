"""Login throttling: 5 failures lock the account and the address for 15 minutes, and an unknown
username gets the same answers, in about the same time, as a known one."""

from __future__ import annotations

import time

import httpx

from edge.metrics import refusal_count
from testkit.edge import STAFF_PASSWORD, Edge

SESSION = "/api/v1/staff/session"


async def attempt(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(SESSION, json={"username": username, "password": password})


async def answers(edge: Edge, username: str, address: str) -> list[tuple[int, str, str | None]]:
    """Five wrong passwords, then the right one, as (status, code, Retry-After)."""
    seen = []
    async with edge.client(address) as client:
        for password in ["Wrong#Pass-1"] * 5 + [STAFF_PASSWORD]:
            answer = await attempt(client, username, password)
            code = answer.json()["errors"][0]["code"] if answer.status_code != 200 else ""
            seen.append((answer.status_code, code, answer.headers.get("retry-after")))
    return seen


async def test_five_failures_lock_the_account_for_fifteen_minutes(edge: Edge) -> None:
    before = refusal_count("auth.throttled")
    seen = await answers(edge, "admin_hospital", "203.0.113.1")
    assert seen[:5] == [(401, "auth.invalid_credentials", None)] * 5
    assert seen[5] == (429, "auth.throttled", str(15 * 60))
    assert refusal_count("auth.throttled") == before + 1
    # From another address too: the account is locked, not only the address.
    async with edge.client("203.0.113.2") as other:
        assert (await attempt(other, "admin_hospital", STAFF_PASSWORD)).status_code == 429
        edge.clock.advance(minutes=15, seconds=1)
        assert (await attempt(other, "admin_hospital", STAFF_PASSWORD)).status_code == 200


async def test_an_unknown_username_gets_the_same_answers(edge: Edge) -> None:
    known = await answers(edge, "admin_centre", "203.0.113.3")
    unknown = await answers(edge, "nobody_here", "203.0.113.4")
    assert known == unknown
    known_body = (await attempt(edge.client("203.0.113.5"), "sysadmin", "Wrong#Pass-1")).json()
    unknown_body = (await attempt(edge.client("203.0.113.6"), "ghost", "Wrong#Pass-1")).json()
    assert known_body == unknown_body


async def test_an_unknown_username_takes_about_as_long(edge: Edge) -> None:
    async def timed(username: str, address: str) -> float:
        async with edge.client(address) as client:
            started = time.perf_counter()
            for _ in range(3):
                await attempt(client, username, "Wrong#Pass-1")
            return time.perf_counter() - started

    await timed("sysadmin", "203.0.113.20")  # warm-up
    known = await timed("sysadmin", "203.0.113.21")
    unknown = await timed("ghost_user", "203.0.113.22")
    # Both verify one Argon2id hash per attempt (tens of ms); a skipped hash would be ~100x faster.
    assert unknown > known / 3 and known > unknown / 3


async def test_failures_from_one_address_lock_that_address(edge: Edge) -> None:
    async with edge.client("203.0.113.9") as client:
        for n in range(5):
            await attempt(client, f"guess_{n}", "Wrong#Pass-1")
        locked = await attempt(client, "admin_hospital", STAFF_PASSWORD)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    async with edge.client("203.0.113.10") as elsewhere:
        assert (await attempt(elsewhere, "admin_hospital", STAFF_PASSWORD)).status_code == 200


async def test_a_success_clears_the_accounts_failures(edge: Edge) -> None:
    async with edge.client("203.0.113.11") as client:
        for _ in range(3):
            await attempt(client, "admin_centre", "Wrong#Pass-1")
        assert (await attempt(client, "admin_centre", STAFF_PASSWORD)).status_code == 200
    async with edge.client("203.0.113.12") as client:
        for _ in range(4):
            assert (await attempt(client, "admin_centre", "Wrong#Pass-1")).status_code == 401
        assert (await attempt(client, "admin_centre", STAFF_PASSWORD)).status_code == 200
