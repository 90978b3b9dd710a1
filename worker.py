"""The worker: every workflow and activity of the registration process, on one task queue.

Run: `python worker.py` (settings from JSHR_* environment variables; see config.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.accounts import AccountActivities
from activities.base import RefusedDataIsFinal
from activities.notifications import NotificationActivities
from activities.permissions import PermissionActivities
from activities.phone import PhoneActivities
from activities.retention import RetentionActivities
from activities.review import ReviewActivities
from activities.verification import VerificationActivities
from config import Settings
from notify.outbox import Notifier
from plumbing.connect import connect
from plumbing.schedules import ensure_purge_schedule
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from workflows.erasure import ErasureWorkflow
from workflows.permission_change import PermissionChangeWorkflow
from workflows.permission_revoke import PermissionRevokeWorkflow
from workflows.purge import PurgeWorkflow
from workflows.registration import RegistrationWorkflow
from workflows.vouching import Vouching

log = logging.getLogger("worker")

# Pure, deterministic libraries the contracts use while workflow code deserializes them;
# phonenumbers loads its region tables lazily, which the sandbox would otherwise re-import.
# cryptography verifies assertions: its Rust core imports its exception types lazily, and one
# imported through the sandbox aborts the process.
PASSTHROUGH = (
    "domain",
    "phonenumbers",
    "stdnum",
    "pypinyin",
    "email_validator",
    "argon2",
    "cryptography",
)


# Our workflow modules hold only deterministic code and constants (no state that one run could
# leave to the next); tests/workflows/test_sandbox.py checks that their code calls no clock,
# random or I/O.
WORKFLOW_MODULES = ("workflows",)


def workflow_runner(
    *, strict: bool = False, workflow_modules: tuple[str, ...] = WORKFLOW_MODULES
) -> SandboxedWorkflowRunner:
    """The sandbox with the deterministic libraries passed through and, unless `strict`,
    `workflow_modules` too: imported once per process instead of once per workflow run."""
    modules = PASSTHROUGH if strict else (*PASSTHROUGH, *workflow_modules)
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*modules)
    )


def vouching(settings: Settings) -> Vouching:
    """The interceptor that refuses every message the edge did not vouch for, with the public
    keys of `settings`; the worker and the replayer of recorded histories use it alike."""
    if not settings.assertion_public_keys:
        if settings.environment == "production":
            raise ValueError("ASSERTION_PUBLIC_KEYS must be set in production")
        log.warning("no assertion public keys: every message to a workflow will be refused")
    return Vouching(settings.assertion_verifier())


def build_worker(
    client: Client,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    verification: VerificationActivities | None = None,
    **options: Any,
) -> Worker:
    """The worker with every workflow and activity; `options` go to `Worker` (tests use it).

    `verification` replaces the embedded document store and identity provider; `interceptors`
    in `options` come after the one that checks assertions.
    """
    notifier = Notifier(sessions, settings)
    verification = verification or VerificationActivities.embedded(sessions, settings)
    phone = PhoneActivities(sessions, settings, notifier)
    review = ReviewActivities(sessions, settings, notifier)
    accounts = AccountActivities(sessions, settings, notifier)
    notifications = NotificationActivities(notifier)
    retention = RetentionActivities(sessions, settings, LocalDocumentStore(settings.document_dir))
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            RegistrationWorkflow,
            PermissionChangeWorkflow,
            PermissionRevokeWorkflow,
            PurgeWorkflow,
            ErasureWorkflow,
        ],
        workflow_runner=workflow_runner(strict=settings.strict_workflow_sandbox),
        activities=[
            verification.verify_application,
            verification.record_signature,
            verification.release_invitation,
            phone.send_phone_code,
            phone.check_phone_code,
            review.plan_review,
            review.plan_reminders,
            review.send_reminder,
            review.authorize_decision,
            review.record_audit,
            accounts.assign_role,
            notifications.notify_applicant,
            retention.record_end,
            retention.purge,
            retention.erase,
            *PermissionActivities(sessions, settings, notifier).methods(),
        ],
        interceptors=[vouching(settings), RefusedDataIsFinal(), *options.pop("interceptors", [])],
        **{
            "max_cached_workflows": settings.worker_max_cached_workflows,
            "max_concurrent_activities": settings.worker_max_concurrent_activities,
            **options,
        },
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Files it creates (documents, SQLite journals) are the service user's alone.
    os.umask(0o077)
    settings = Settings()
    engine = make_engine(settings.database_url, settings.data_key)
    client = await connect(settings, metrics=True)
    worker = build_worker(client, settings, make_sessions(engine))
    # Idempotent: every worker that starts brings the daily purge's Schedule up to its settings.
    await ensure_purge_schedule(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        logging.info("worker polling task queue %s", settings.task_queue)
        await stop.wait()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
