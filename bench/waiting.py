"""Many registrations waiting for review at once: the worker processes' memory, the reviewer's
inbox through the edge, and the "new application" notice sent exactly once to each."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select

from bench.driver import Registrations, Trace, closed_loop, to_review
from bench.inbox import timed
from bench.machine import load_average, rss_mib
from bench.system import REVIEWER, Applicant, System
from bench.workers import Fleet, edge_process
from domain.review_rule import review_reach
from edge.inbox import inbox_query
from store.models import Account, AuditEvent, OutboxMessage
from testkit.edge import STAFF_PASSWORD, password_hash

NEW_APPLICATION = "new application"
INBOX_PAGE = 50  # rows of the first page the targets name


async def to_review_only(target: Registrations, applicant: Applicant) -> Trace:
    trace = Trace()
    try:
        await to_review(target, applicant, trace)
    except Exception as exc:  # noqa: BLE001 - counted and reported
        trace.error = f"{type(exc).__name__}: {exc}"[:300]
    return trace


async def many_waiting(
    target: Registrations,
    count: int,
    in_flight: int,
    fleet: Fleet,
    server_pid: int | None,
    edge_repeat: int,
) -> dict[str, Any]:
    """`count` registrations brought to review and left there, by freshly started worker
    processes (`fleet`): their RSS and the dev server's, the first inbox page through the edge
    (a process of its own), and the "new application" notice once each."""
    system = target.system
    client = system.env.client
    baseline = fleet.rss_mib()
    applicants = list(system.applicants(count))
    curve: list[tuple[int, float, float]] = []  # waiting, seconds since the start, RSS MiB
    step = max(1, count // 10)

    done = 0
    began = time.perf_counter()

    async def one(applicant: Applicant) -> Trace:
        nonlocal done
        trace = await to_review_only(target, applicant)
        done += 1
        if done % step == 0:
            curve.append((done, round(time.perf_counter() - began, 1), fleet.rss_mib()))
        return trace

    run = await closed_loop(one, applicants, in_flight)
    fleet.check()
    waiting = {t.workflow_id for t in run.ok}
    after = fleet.rss_mib()
    result: dict[str, Any] = {
        "registrations": count,
        "waiting": len(waiting),
        "error_samples": sorted(set(run.errors))[:5],
        "error_count": len(run.errors),
        "seconds_to_reach_review": round(run.wall, 1),
        "rate_per_s": round(len(waiting) / run.wall, 2) if run.wall else 0,
        "in_flight": in_flight,
        "worker_processes": fleet.count,
        "worker_max_cached_workflows": fleet.settings.worker_max_cached_workflows,
        "rss_baseline_mib": baseline,
        "rss_after_mib": after,
        "rss_delta_mib": round(after - baseline, 1),
        "rss_peak_mib": fleet.peak_rss_mib(),
        "rss_curve": curve,
        "dev_server_rss_mib": rss_mib(server_pid) if server_pid else 0.0,
        "load_average_after_fill": load_average(),
    }

    async with system.sessions.begin() as session:
        reviewer = await session.get(Account, REVIEWER)
        assert reviewer is not None
        reach = review_reach(reviewer)
        # The seed gives the admin a password nobody knows; the edge's login needs one.
        reviewer.password_hash = password_hash(STAFF_PASSWORD)
    assert reach is not None
    query = inbox_query(reach)
    # Visibility is eventually consistent: wait until it lists every waiting registration.
    deadline = time.monotonic() + 300
    while (listed := (await client.count_workflows(query)).count) < len(waiting):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    result["visible_in_inbox_query"] = listed
    result["inbox_query"] = query
    result["edge"] = await _through_the_edge(system, edge_repeat)
    if waiting:
        description = await client.get_workflow_handle(next(iter(waiting))).describe()
        result["history_events_while_waiting"] = (
            description.raw_description.workflow_execution_info.history_length
        )

    result["new_application_notice"] = await notices_once(target, waiting, NEW_APPLICATION)
    return result


async def _through_the_edge(system: System, repeat: int) -> dict[str, Any]:
    """The reviewer's inbox as a browser or integrator gets it: the edge process on loopback,
    logged in as the unit's admin; the API's first page of 50 (by deadline) and the HTML page."""
    async with (
        edge_process(system.settings, system.database.parent / "edge.log") as edge,
        httpx.AsyncClient(base_url=edge.url, timeout=60) as http,
    ):
        answer = await http.post(
            "/api/v1/staff/session", json={"username": REVIEWER, "password": STAFF_PASSWORD}
        )
        assert answer.status_code == 200, answer.text[:300]
        api = await timed(http, f"/api/v1/review/inbox?page_size={INBOX_PAGE}", repeat)
        del api["rows_shown"]  # an HTML count: the JSON's rows are counted below
        page = (await http.get(f"/api/v1/review/inbox?page_size={INBOX_PAGE}")).json()
        api |= {"rows": len(page["items"]), "total": page["total"]}
        html = await timed(http, "/staff/inbox", repeat)
        html["rows"] = html.pop("rows_shown")
    return {"api_first_page": api, "html_first_page": html}


async def notices_once(target: Registrations, waiting: set[str], label: str) -> dict[str, Any]:
    """Audit rows and outbox rows of the review reminder `label` of round 1, per registration."""
    pattern = f"%/round-1/{label.replace(' ', '-')}/%"
    async with target.system.sessions() as session:
        audits = Counter(
            registration_id.split("/", 1)[0]
            for registration_id in await session.scalars(
                select(AuditEvent.registration_id).where(AuditEvent.outcome == label)
            )
        )
        outbox = Counter(
            key.split("/", 1)[0]
            for key in await session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.like(pattern)
                )
            )
        )
    # One reviewer (the unit's admin) is told by SMS and e-mail: two outbox rows.
    expected_rows = 2
    audit_counts = Counter(audits[workflow_id] for workflow_id in waiting)
    outbox_counts = Counter(outbox[workflow_id] for workflow_id in waiting)
    return {
        "label": label,
        "registrations": len(waiting),
        "audit_rows_per_registration": {str(k): v for k, v in sorted(audit_counts.items())},
        "outbox_rows_per_registration": {str(k): v for k, v in sorted(outbox_counts.items())},
        "expected_outbox_rows": expected_rows,
        "exactly_once": audit_counts == Counter({1: len(waiting)})
        and outbox_counts == Counter({expected_rows: len(waiting)}),
    }
