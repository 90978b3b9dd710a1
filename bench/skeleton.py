"""The skeleton: a workflow of the registration's happy-path shape whose steps do nothing.

Same number of activities (7: verify, send code, check code inside the code Update, plan review,
new-application reminder, authorize inside the decision Update, assign role), timers (2: the phone
step's expiry and the first review reminder, both cancelled by the Update that satisfies them),
Updates (2: `submit_phone_code` with a stage validator, `decide`) and Signals (`review_decision`,
`withdraw`, defined but unused on the happy path, as in the real workflow). What it lacks is
exactly what the benchmark weighs: the activities' database work and photo checks, the pydantic
contracts, the search-attribute upserts and current details.

The only thing two of the activities do is insert one row into a small SQLite file, the
skeleton's stand-in for the outbox, so that the driver waits for "the SMS went out" and "the
reviewer was told" in the same way, at the same poll interval, and the write costs about what one
outbox row costs.

    python -m bench.skeleton NOTICES.db    (settings from JSHR_* variables, as worker.py's)
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sqlite3
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from workflows.common import ACTIVITY  # the registration's own activity options

if TYPE_CHECKING:
    from config import Settings

SKELETON_CODE = "000000"
NOTICES_TABLE = "CREATE TABLE IF NOT EXISTS notices (workflow_id TEXT, kind TEXT, value TEXT)"


def create_notices(path: Path) -> None:
    """The notices file, made by the driver before any skeleton worker starts (WAL: the driver
    reads while the workers write)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(NOTICES_TABLE)


class NoticeFile:
    """One autocommitted row per notice, written in a thread as the outbox's rows are."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
        self._lock = threading.Lock()

    def _insert(self, row: tuple[str, str, str]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO notices VALUES (?, ?, ?)", row)

    async def post(self, workflow_id: str, kind: str, value: str) -> None:
        await asyncio.to_thread(self._insert, (workflow_id, kind, value))

    def close(self) -> None:
        self._db.close()


class SkeletonActivities:
    """No-op activities, but for the two notices they post for the driver."""

    def __init__(self, board: NoticeFile) -> None:
        self._board = board

    @activity.defn(name="skeleton_verify")
    async def verify(self) -> None:
        pass

    @activity.defn(name="skeleton_send_code")
    async def send_code(self) -> None:
        await self._board.post(activity.info().workflow_id or "", "code", SKELETON_CODE)

    @activity.defn(name="skeleton_check_code")
    async def check_code(self) -> None:
        pass

    @activity.defn(name="skeleton_plan_review")
    async def plan_review(self) -> None:
        pass

    @activity.defn(name="skeleton_send_reminder")
    async def send_reminder(self) -> None:
        await self._board.post(activity.info().workflow_id or "", "review-1", "")

    @activity.defn(name="skeleton_authorize")
    async def authorize(self) -> None:
        pass

    @activity.defn(name="skeleton_assign_role")
    async def assign_role(self) -> None:
        pass

    def methods(self) -> list[Callable[..., Any]]:
        return [
            self.verify,
            self.send_code,
            self.check_code,
            self.plan_review,
            self.send_reminder,
            self.authorize,
            self.assign_role,
        ]


@workflow.defn
class SkeletonWorkflow:
    """Start → verify → code → review → decide → account, with nothing inside the steps."""

    def __init__(self) -> None:
        self._stage = "verifying"
        self._phone_verified = False
        self._approved: bool | None = None
        self._withdrawn = False

    @workflow.run
    async def run(self, applicant: str) -> str:
        await workflow.execute_activity_method(SkeletonActivities.verify, **ACTIVITY)
        await workflow.execute_activity_method(SkeletonActivities.send_code, **ACTIVITY)
        self._stage = "awaiting_phone_code"
        await workflow.wait_condition(
            lambda: self._phone_verified or self._withdrawn, timeout=timedelta(hours=24)
        )
        await workflow.execute_activity_method(SkeletonActivities.plan_review, **ACTIVITY)
        self._stage = "awaiting_review"
        await workflow.execute_activity_method(SkeletonActivities.send_reminder, **ACTIVITY)
        await workflow.wait_condition(
            lambda: self._approved is not None or self._withdrawn, timeout=timedelta(days=1)
        )
        self._stage = "assigning_role"
        await workflow.execute_activity_method(SkeletonActivities.assign_role, **ACTIVITY)
        self._stage = "completed"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._stage

    @workflow.update
    async def submit_phone_code(self, code: str) -> bool:
        await workflow.execute_activity_method(SkeletonActivities.check_code, **ACTIVITY)
        self._phone_verified = code == SKELETON_CODE
        return self._phone_verified

    @submit_phone_code.validator
    def _validate_submit_phone_code(self, code: str) -> None:
        if self._stage != "awaiting_phone_code":
            raise ValueError(f"registration is {self._stage}, not awaiting_phone_code")

    @workflow.update
    async def decide(self, approve: bool) -> bool:
        await workflow.execute_activity_method(SkeletonActivities.authorize, **ACTIVITY)
        self._approved = approve
        return True

    @workflow.signal
    async def review_decision(self, approve: bool) -> None:
        await workflow.execute_activity_method(SkeletonActivities.authorize, **ACTIVITY)
        self._approved = approve

    @workflow.signal
    def withdraw(self) -> None:
        self._withdrawn = True

    @workflow.query
    def status(self) -> str:
        return self._stage


def build_skeleton_worker(
    client: Client, settings: Settings, board: NoticeFile, **options: Any
) -> Worker:
    """The skeleton on `settings.task_queue`, with the real worker's sandboxed runner and its
    cache and concurrency settings."""
    from worker import WORKFLOW_MODULES, workflow_runner

    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[SkeletonWorkflow],
        # Passed through as ours are (worker.WORKFLOW_MODULES): the sides pay the sandbox alike.
        workflow_runner=workflow_runner(
            strict=settings.strict_workflow_sandbox,
            workflow_modules=(*WORKFLOW_MODULES, __name__),
        ),
        activities=SkeletonActivities(board).methods(),
        **{
            "max_cached_workflows": settings.worker_max_cached_workflows,
            "max_concurrent_activities": settings.worker_max_concurrent_activities,
            **options,
        },
    )


async def serve(notices: Path) -> None:
    """The skeleton's worker process, shaped like `worker.main`: our client (`plumbing.connect`,
    the same data converter and codec) until SIGTERM or SIGINT."""
    from config import Settings
    from plumbing.connect import connect

    settings = Settings()
    client = await connect(settings)
    board = NoticeFile(notices)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with build_skeleton_worker(client, settings, board):
            await stop.wait()
    finally:
        board.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.skeleton", description=__doc__)
    parser.add_argument("notices", type=Path, help="the SQLite file of create_notices")
    return parser.parse_args(argv)


def main() -> None:
    asyncio.run(serve(parse_args().notices))


if __name__ == "__main__":
    main()
