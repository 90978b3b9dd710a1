"""The first review reminder fires exactly once, after skipped time.

The dev server cannot skip time, and the policy's first reminder is at 09:00 on the next working
day. So this pass runs on the Java time-skipping test server (`testkit.harness`'s, with the
suite's codec key): the real worker as its own process (`bench.ts_worker`: worker.main without the
purge Schedule, which that server lacks) on the bench's database, its workflow cache off;
registrations brought to review; the worker killed (SIGKILL) and started again; time skipped to
just past the latest first reminder, every timer firing in a workflow replayed from its history;
then, once every registration shows its next reminder moved on, the reminder's audit and outbox
rows counted per registration.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bench import workers
from bench.driver import Notices, Registrations, closed_loop
from bench.system import System
from bench.waiting import notices_once, to_review_only
from bench.workers import Fleet
from domain.contracts.registration import RegistrationStatus
from testkit.harness import CODEC_ENV, time_skipping_server

PAST_IT = timedelta(minutes=1)
SETTLE_TIMEOUT = 600.0
STATUS_IN_FLIGHT = 20


async def first_reminder_once(
    system: System, notices: Notices, count: int, in_flight: int, workdir: Path
) -> dict[str, Any]:
    label = system.settings.review_policy[0].label
    async with time_skipping_server() as env:
        settings = system.settings.model_copy(
            update={
                "temporal_address": env.client.service_client.config.target_host,
                "task_queue": f"bench-reminders-{uuid.uuid4().hex[:8]}",
                # The Java test server cannot continue-as-new (only a rejection round would).
                "continue_as_new_between_rounds": False,
                # No cache, so no sticky task queue: that server never hands a dead worker's
                # sticky tasks back to the task queue (the dev server does, after 5 s), and every
                # workflow task, the timers' included, replays the workflow from its history.
                "worker_max_cached_workflows": 0,
            }
        )
        fleet = Fleet("ours (time-skipping)", settings, 1, workdir / "reminders.log", CODEC_ENV)
        # Applicants drawn from the bench's own sequence: each is a resident of the database.
        applicants = list(system.applicants(count))
        target = Registrations(dataclasses.replace(system, env=env, settings=settings), notices)
        try:
            await fleet.start(env.client, workers.ts_worker)
            run = await closed_loop(lambda a: to_review_only(target, a), applicants, in_flight)
            waiting = [t.workflow_id for t in run.ok]
            # Asked before the kill: the instants the workflows planned, not what a replay says.
            planned = [s.next_reminder_at for s in await _statuses(target, waiting)]
            due = max([at for at in planned if at is not None], default=None)
            await fleet.kill()
            await fleet.start(env.client, workers.ts_worker)
            result: dict[str, Any] = {
                "registrations": count,
                "waiting": len(waiting),
                "error_count": len(run.errors),
                "error_samples": sorted(set(run.errors))[:5],
                "worker_killed_and_restarted": True,
            }
            if due is None:
                return result | {"exactly_once": False, "note": "no reminder was planned"}
            now = await env.get_current_time()
            await env.sleep(due - now + PAST_IT)
            result["skipped_s"] = round((due - now + PAST_IT).total_seconds())
            began = time.perf_counter()
            result["reminded"] = await _reminded(target, set(waiting), label)
            moved = await _moved_on(target, waiting, due)
            result["settled_s"] = round(time.perf_counter() - began, 1)
            result["moved_on"] = moved
            fleet.check()
            result["first_reminder"] = await notices_once(target, set(waiting), label)
        finally:
            await fleet.stop()
    return result


async def _reminded(target: Registrations, waiting: set[str], label: str) -> int:
    """Wait until every registration has its reminder's audit row (or the deadline passed)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        found = await notices_once(target, waiting, label)
        done = len(waiting) - found["audit_rows_per_registration"].get("0", 0)
        if done >= len(waiting) or time.monotonic() > deadline:
            return done
        await asyncio.sleep(1)


async def _statuses(target: Registrations, ids: list[str]) -> list[RegistrationStatus]:
    """Their status queries, a few at a time (each one a replay on a fresh worker)."""
    gate = asyncio.Semaphore(STATUS_IN_FLIGHT)

    async def one(workflow_id: str) -> RegistrationStatus:
        async with gate:
            return await target.client.status(workflow_id)

    return list(await asyncio.gather(*map(one, ids)))


async def _moved_on(target: Registrations, waiting: list[str], due: datetime) -> int:
    """Wait until every registration's next reminder lies past `due`: its first reminder's
    activity completed and the workflow planned the next (so no retry is still to come)."""
    pending = set(waiting)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while pending and time.monotonic() < deadline:
        statuses = await _statuses(target, sorted(pending))
        pending = {
            w
            for w, status in zip(sorted(pending), statuses, strict=True)
            if status.next_reminder_at is None or status.next_reminder_at <= due
        }
        if pending:
            await asyncio.sleep(1)
    return len(waiting) - len(pending)
