"""The bench driver: plays applicant and reviewer for many registrations at once.

One registration: start it; wait for the SMS (read from the outbox once delivered) and submit the
code with the `submit_phone_code` Update; wait for the reviewer's "new application" SMS and
approve with the `decide` Update; wait for the result. The skeleton is driven by the same code
through the `Target` it is given; only where the notices are read from differs (the outbox table,
or the skeleton's notices file), and both are polled by one task at the same interval. The driver
is a process of its own: it reaches the workers only through Temporal and these SQLite files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from temporalio.client import Client, WorkflowUpdateFailedError

from bench.skeleton import SkeletonWorkflow
from bench.system import REVIEWER, Applicant, System
from domain.contracts.registration import PhoneCodeOutcome, Stage
from starter.client import RegistrationClient
from store.crypto import DataCipher

log = logging.getLogger(__name__)

# --- notices: what the applicant's phone and the reviewer's inbox receive -----------------------


class Notices:
    """Futures for (workflow ID, kind) notices, resolved by one polling task for everyone."""

    def __init__(self, poll_interval: float) -> None:
        self._interval = poll_interval
        self._waiting: dict[tuple[str, str], asyncio.Future[str]] = {}
        self._task: asyncio.Task[None] | None = None

    async def fetch_new(self) -> list[tuple[str, str, str]]:
        raise NotImplementedError

    def _future(self, key: tuple[str, str]) -> asyncio.Future[str]:
        if key not in self._waiting:
            self._waiting[key] = asyncio.get_running_loop().create_future()
        return self._waiting[key]

    async def wait(self, workflow_id: str, kind: str, timeout: float = 120) -> str:
        key = (workflow_id, kind)
        try:
            return await asyncio.wait_for(asyncio.shield(self._future(key)), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no {kind} notice within {timeout:.0f} s{await self.explain(workflow_id)}"
            ) from None
        finally:
            self._waiting.pop(key, None)

    async def explain(self, workflow_id: str) -> str:
        """Why a notice may never come (for the error report)."""
        return ""

    async def _poll(self) -> None:
        while True:
            try:
                for workflow_id, kind, value in await self.fetch_new():
                    future = self._future((workflow_id, kind))
                    if not future.done():
                        future.set_result(value)
            except sqlite3.Error as exc:  # e.g. busy during a checkpoint: read again next time
                log.warning("outbox poll failed: %s", exc)
            await asyncio.sleep(self._interval)

    async def __aenter__(self) -> Notices:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


_CODE = re.compile(r"验证码为(\d{6})")
BODY_CONTEXT = "outbox.body"  # the context of OutboxMessage.body's Sealed column
_REVIEW = re.compile(r"/round-(\d+)/new-application/")


class OutboxNotices(Notices):
    """The embedded SMS channel: SMS rows of the outbox once delivered (`delivered_at` set),
    which is when a real gateway would have sent them.

    Read with the standard library's sqlite3 in a thread, read-only, as a gateway process
    would. Rows are scanned from the oldest one not yet delivered.
    """

    def __init__(self, database: Path, data_key: str, poll_interval: float) -> None:
        super().__init__(poll_interval)
        # Bodies are sealed (store.sealed): opened here as the SMS gateway would.
        self._cipher = DataCipher(data_key)
        self._db = sqlite3.connect(
            f"file:{database}?mode=ro", uri=True, check_same_thread=False, timeout=10
        )
        self._floor = 0  # every SMS row up to this rowid was delivered and handled
        self._handled: set[int] = set()

    def _read(self) -> list[tuple[int, str, str, int]]:
        return self._db.execute(
            "SELECT rowid, idempotency_key, body, delivered_at IS NOT NULL FROM outbox"
            " WHERE rowid > ? AND channel = 'sms' ORDER BY rowid",
            (self._floor,),
        ).fetchall()

    async def fetch_new(self) -> list[tuple[str, str, str]]:
        found = []
        rows = await asyncio.to_thread(self._read)
        undelivered = [rowid for rowid, _, _, delivered in rows if not delivered]
        for rowid, key, body, delivered in rows:
            if not delivered or rowid in self._handled:
                continue
            self._handled.add(rowid)
            workflow_id = key.split("/", 1)[0]
            if "/phone-code-" in key and (
                code := _CODE.search(self._cipher.decrypt(body, context=BODY_CONTEXT))
            ):
                found.append((workflow_id, "code", code.group(1)))
            elif (review := _REVIEW.search(key)) and key.endswith(f"/{REVIEWER}/sms"):
                found.append((workflow_id, f"review-{review.group(1)}", ""))
        if rows:
            self._floor = undelivered[0] - 1 if undelivered else rows[-1][0]
            self._handled = {rowid for rowid in self._handled if rowid > self._floor}
        return found

    async def explain(self, workflow_id: str) -> str:
        def undelivered() -> int:
            return self._db.execute(
                "SELECT count(*) FROM outbox WHERE idempotency_key LIKE ?"
                " AND channel = 'sms' AND delivered_at IS NULL",
                (f"{workflow_id}/%",),
            ).fetchone()[0]

        count = await asyncio.to_thread(undelivered)
        return f": {count} SMS of it queued but never delivered" if count else ""

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        self._db.close()


class NoticeRows(Notices):
    """The skeleton's notices (`bench.skeleton.NoticeFile`): its rows in their own SQLite file,
    read the same way as the outbox, from the last row seen."""

    def __init__(self, path: Path, poll_interval: float) -> None:
        super().__init__(poll_interval)
        self._db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=10
        )
        self._last = 0

    def _read(self) -> list[tuple[int, str, str, str]]:
        return self._db.execute(
            "SELECT rowid, workflow_id, kind, value FROM notices WHERE rowid > ? ORDER BY rowid",
            (self._last,),
        ).fetchall()

    async def fetch_new(self) -> list[tuple[str, str, str]]:
        rows = await asyncio.to_thread(self._read)
        if rows:
            self._last = rows[-1][0]
        return [(workflow_id, kind, value) for _, workflow_id, kind, value in rows]

    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        self._db.close()


# --- targets: the registration system, or the skeleton --------------------------------------------


class Target(Protocol):
    name: str
    notices: Notices

    async def start(self, applicant: Applicant) -> str: ...
    async def submit_code(self, workflow_id: str, code: str) -> bool: ...
    async def decide(self, workflow_id: str) -> None: ...
    async def result(self, workflow_id: str) -> None: ...


class NotReady(Exception):
    """An Update's validator refused it: the workflow has not entered the stage yet."""


class Registrations:
    """The real system through its typed client, as an integrator drives it."""

    name = "ours"

    def __init__(self, system: System, notices: Notices) -> None:
        self.system = system
        self.notices = notices
        self.client = RegistrationClient(
            system.env.client,
            task_queue=system.settings.task_queue,
            applicant_key_secret=system.settings.applicant_key_secret,
            # The edge's part: it signs each message for the applicant or the reviewer.
            signer=system.settings.assertion_signer(),
        )

    async def start(self, applicant: Applicant) -> str:
        return await self.client.start(self.system.request(applicant))

    async def submit_code(self, workflow_id: str, code: str) -> bool:
        try:
            answer = await self.client.submit_phone_code(workflow_id, code)
        except WorkflowUpdateFailedError as exc:
            if "not awaiting_phone_code" in str(exc.cause):
                raise NotReady from exc
            raise
        if answer.outcome != PhoneCodeOutcome.ACCEPTED:
            raise AssertionError(f"SMS code {code} answered {answer.outcome.value}")
        return True

    async def decide(self, workflow_id: str) -> None:
        result = await self.client.decide(workflow_id, reviewer_id=REVIEWER, approve=True)
        assert result.accepted, result.code

    async def result(self, workflow_id: str) -> None:
        outcome = await self.client.result(workflow_id)
        assert outcome.stage == Stage.COMPLETED, outcome.stage


class Skeleton:
    name = "skeleton"

    def __init__(self, client: Client, task_queue: str, notices: Notices) -> None:
        self.client = client
        self.task_queue = task_queue
        self.notices = notices

    async def start(self, applicant: Applicant) -> str:
        handle = await self.client.start_workflow(
            SkeletonWorkflow.run,
            f"applicant {applicant.index}",
            id=f"skeleton-{applicant.index}-{uuid.uuid4().hex[:8]}",
            task_queue=self.task_queue,
        )
        return handle.id

    async def submit_code(self, workflow_id: str, code: str) -> bool:
        handle = self.client.get_workflow_handle(workflow_id)
        try:
            return await handle.execute_update(SkeletonWorkflow.submit_phone_code, code)
        except WorkflowUpdateFailedError as exc:
            if "not awaiting_phone_code" in str(exc.cause):
                raise NotReady from exc
            raise

    async def decide(self, workflow_id: str) -> None:
        handle = self.client.get_workflow_handle(workflow_id)
        assert await handle.execute_update(SkeletonWorkflow.decide, True)

    async def result(self, workflow_id: str) -> None:
        handle = self.client.get_workflow_handle(workflow_id)
        assert await handle.result() == "completed"


# --- one registration ---------------------------------------------------------------------------


@dataclass
class Trace:
    """Instants (perf_counter seconds) of one registration, and what went wrong if anything."""

    workflow_id: str = ""
    started: float = 0.0  # the driver called start
    code_seen: float = 0.0  # the SMS was delivered (outbox)
    code_accepted: float = 0.0  # the submit_phone_code Update answered "accepted"
    review_seen: float = 0.0  # the reviewer's "new application" SMS was delivered
    decided: float = 0.0  # the decide Update answered
    decide_sent: float = 0.0
    completed: float = 0.0  # the workflow result (completed) arrived
    not_ready_retries: int = 0
    error: str = ""

    @property
    def total(self) -> float:
        return self.completed - self.started

    @property
    def decision_to_account(self) -> float:
        return self.completed - self.decide_sent


NOT_READY_BACKOFF = (0.05, 0.1, 0.2, 0.4)


async def submit_code(target: Target, trace: Trace) -> None:
    code = await target.notices.wait(trace.workflow_id, "code")
    trace.code_seen = time.perf_counter()
    while True:
        try:
            accepted = await target.submit_code(trace.workflow_id, code)
            break
        except NotReady:
            # The SMS goes out inside the activity, a moment before the workflow enters
            # awaiting_phone_code: the validator refuses without touching history. Try again,
            # backing off, as a person would (each refusal costs a workflow task).
            backoff = NOT_READY_BACKOFF[min(trace.not_ready_retries, len(NOT_READY_BACKOFF) - 1)]
            trace.not_ready_retries += 1
            await asyncio.sleep(backoff)
    if not accepted:
        raise AssertionError("SMS code not accepted")
    trace.code_accepted = time.perf_counter()


async def to_review(target: Target, applicant: Applicant, trace: Trace) -> Trace:
    """Start, submit the SMS code, wait until the reviewer is told."""
    trace.started = time.perf_counter()
    trace.workflow_id = await target.start(applicant)
    await submit_code(target, trace)
    await target.notices.wait(trace.workflow_id, "review-1")
    trace.review_seen = time.perf_counter()
    return trace


async def register(target: Target, applicant: Applicant) -> Trace:
    """One complete registration, from the start to the account."""
    trace = Trace()
    try:
        await to_review(target, applicant, trace)
        trace.decide_sent = time.perf_counter()
        await target.decide(trace.workflow_id)
        trace.decided = time.perf_counter()
        await target.result(trace.workflow_id)
        trace.completed = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
        trace.error = f"{type(exc).__name__}: {exc}"[:300]
    return trace


# --- load shapes --------------------------------------------------------------------------------


@dataclass
class Pass:
    traces: list[Trace] = field(default_factory=list)
    wall: float = 0.0

    @property
    def ok(self) -> list[Trace]:
        return [t for t in self.traces if not t.error]

    @property
    def errors(self) -> list[str]:
        return [t.error for t in self.traces if t.error]


async def closed_loop(
    work: Callable[[Applicant], Awaitable[Trace]], applicants: list[Applicant], in_flight: int
) -> Pass:
    """Keep `in_flight` registrations going until all `applicants` are through."""
    queue = list(reversed(applicants))
    result = Pass()

    async def lane() -> None:
        while queue:
            result.traces.append(await work(queue.pop()))

    began = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(in_flight, len(applicants)))))
    result.wall = time.perf_counter() - began
    return result


async def open_loop(
    work: Callable[[Applicant], Coroutine[Any, Any, Trace]],
    applicants: list[Applicant],
    rate: float,
) -> Pass:
    """Start registrations at `rate` per second (Poisson arrivals), however many are in flight."""
    arrivals = random.Random(7)
    result = Pass()
    tasks: list[asyncio.Task[Trace]] = []
    began = time.perf_counter()
    due = began
    for applicant in applicants:
        due += arrivals.expovariate(rate)
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(work(applicant)))
    result.traces = list(await asyncio.gather(*tasks))
    result.wall = time.perf_counter() - began
    return result
