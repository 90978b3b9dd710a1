"""Many registrations waiting for review at once: worker memory, the reviewer's inbox, and the
"new application" notice sent exactly once to each."""

from __future__ import annotations

import asyncio
import gc
import time
from collections import Counter
from typing import Any

from sqlalchemy import select

from bench.driver import Registrations, Trace, closed_loop, to_review
from bench.machine import rss_mib, status_kib
from bench.system import REVIEWER, Applicant
from domain.review_rule import review_reach
from edge.inbox import inbox_query, reviewer_inbox
from store.models import Account, AuditEvent, OutboxMessage

NEW_APPLICATION = "new application"


async def _to_review(target: Registrations, applicant: Applicant) -> Trace:
    trace = Trace()
    try:
        await to_review(target, applicant, trace)
    except Exception as exc:  # noqa: BLE001 - counted and reported
        trace.error = f"{type(exc).__name__}: {exc}"[:300]
    return trace


async def many_waiting(
    target: Registrations, count: int, in_flight: int, worker_cache: int
) -> dict[str, Any]:
    system = target.system
    client = system.env.client
    gc.collect()
    baseline = rss_mib()
    applicants = list(system.applicants(count))
    curve: list[tuple[int, float, float]] = []  # waiting, seconds since the start, RSS MiB
    step = max(1, count // 10)

    done = 0
    began = time.perf_counter()

    async def one(applicant: Applicant) -> Trace:
        nonlocal done
        trace = await _to_review(target, applicant)
        done += 1
        if done % step == 0:
            curve.append((done, round(time.perf_counter() - began, 1), rss_mib()))
        return trace

    run = await closed_loop(one, applicants, in_flight)
    waiting = {t.workflow_id for t in run.ok}
    gc.collect()
    after = rss_mib()
    result: dict[str, Any] = {
        "registrations": count,
        "waiting": len(waiting),
        "error_samples": sorted(set(run.errors))[:5],
        "error_count": len(run.errors),
        "seconds_to_reach_review": round(run.wall, 1),
        "rate_per_s": round(len(waiting) / run.wall, 2) if run.wall else 0,
        "in_flight": in_flight,
        "worker_max_cached_workflows": worker_cache,
        "rss_baseline_mib": baseline,
        "rss_after_mib": after,
        "rss_delta_mib": round(after - baseline, 1),
        "rss_peak_mib": round(status_kib("VmHWM") / 1024, 1),
        "rss_curve": curve,
    }

    async with system.sessions() as session:
        reviewer = await session.get(Account, REVIEWER)
    assert reviewer is not None
    reach = review_reach(reviewer)
    assert reach is not None
    query = inbox_query(reach)
    # Visibility is eventually consistent: wait until it lists every waiting registration.
    deadline = time.monotonic() + 120
    while (listed := (await client.count_workflows(query)).count) < len(waiting):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    result["visible_in_inbox_query"] = listed

    began = time.perf_counter()
    raw = [execution.id async for execution in client.list_workflows(query)]
    result["list_workflows_seconds"] = round(time.perf_counter() - began, 3)
    result["list_workflows_count"] = len(raw)
    began = time.perf_counter()
    inbox = await reviewer_inbox(client, reviewer)
    result["reviewer_inbox_first_page_seconds"] = round(time.perf_counter() - began, 3)
    result["reviewer_inbox_count"] = inbox.total
    result["inbox_query"] = query
    if raw:
        description = await client.get_workflow_handle(raw[0]).describe()
        result["history_events_while_waiting"] = (
            description.raw_description.workflow_execution_info.history_length
        )

    result["new_application_notice"] = await _notices_once(target, waiting)
    return result


async def _notices_once(target: Registrations, waiting: set[str]) -> dict[str, Any]:
    """Audit rows and outbox rows of the "new application" reminder, per registration."""
    async with target.system.sessions() as session:
        audits = Counter(
            registration_id.split("/", 1)[0]
            for registration_id in await session.scalars(
                select(AuditEvent.registration_id).where(AuditEvent.outcome == NEW_APPLICATION)
            )
        )
        outbox = Counter(
            key.split("/", 1)[0]
            for key in await session.scalars(
                select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.like("%/round-1/new-application/%")
                )
            )
        )
    # One reviewer (the unit's admin) is told by SMS and e-mail: two outbox rows.
    expected_rows = 2
    audit_counts = Counter(audits[workflow_id] for workflow_id in waiting)
    outbox_counts = Counter(outbox[workflow_id] for workflow_id in waiting)
    return {
        "registrations": len(waiting),
        "audit_rows_per_registration": {str(k): v for k, v in sorted(audit_counts.items())},
        "outbox_rows_per_registration": {str(k): v for k, v in sorted(outbox_counts.items())},
        "expected_outbox_rows": expected_rows,
        "exactly_once": audit_counts == Counter({1: len(waiting)})
        and outbox_counts == Counter({expected_rows: len(waiting)}),
    }
