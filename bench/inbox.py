"""The reviewer's inbox with many registrations waiting: how long its first page takes.

    python -m bench.inbox [--waiting 10000] [--repeat 5]

On a fresh dev server (SQLite file, the pragmas of `make run`, port 7850) and database, it
starts `--waiting` workflows of a no-op type, `InboxBenchWaiting`, that no worker ever runs:
each carries at its start the search attributes and the memo of a registration waiting for
review (one unit, entry instants spread over the past four weeks, some resubmitted, escalated
or nudged), which is all the inbox reads, so the listing costs what it costs with real ones,
while starting them costs no verification, SMS or reminders. Then, through the edge (its app in
this process, over ASGI, logged in as the unit's admin), it times the first inbox page, a middle
page, the last page and the overdue filter, and the count behind the tabs.

Writes bench/results/inbox.json and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from bench.machine import describe, load_average
from bench.system import BIN, bench_settings, migrate, use_run_keys
from config import Settings
from devtools.local import SQLITE_FLAGS
from domain.assertions import new_signing_key
from domain.contracts.registration import Stage
from domain.roles import Role
from domain.workdays import WorkdayCalendar
from plumbing import search
from plumbing.connect import data_converter_for
from starter.client import MEMO_MASKED_NAME, MEMO_UNIT_NAME
from store.db import make_engine, make_sessions
from store.models import Account
from store.seed import PEOPLE_HOSPITAL, seed_demo

PORT = 7850
REVIEWER = "admin_hospital"
PASSWORD = "Bench#Inbox-2026"
RESULTS = Path(__file__).parent / "results" / "inbox.json"
WAITING_TYPE = "InboxBenchWaiting"


def waiting_attributes(
    index: int, count: int, now: datetime, unit_code: str = PEOPLE_HOSPITAL[0]
) -> TypedSearchAttributes:
    """Registration `index` of `count`: entered review some time in the past four weeks, due
    at 09:00 on the third working day after, as the default policy places it."""
    calendar = WorkdayCalendar()
    entered = now - timedelta(days=28) * (index + 0.5) / count
    return TypedSearchAttributes(
        [
            SearchAttributePair(search.STAGE, Stage.AWAITING_REVIEW.value),
            SearchAttributePair(search.UNIT_CODE, unit_code),
            SearchAttributePair(search.REQUESTED_ROLE, Role.USER.value),
            SearchAttributePair(search.REVIEW_ROUND, 2 if index % 9 == 0 else 1),
            SearchAttributePair(search.ESCALATION_LEVEL, 1 if index % 4 == 0 else 0),
            SearchAttributePair(search.NUDGE_COUNT, 1 if index % 7 == 0 else 0),
            SearchAttributePair(search.REVIEW_DUE_AT, now + timedelta(hours=12)),
            SearchAttributePair(search.REVIEW_ENTERED_AT, entered),
            SearchAttributePair(search.REVIEW_DEADLINE, calendar.workday_instant(entered, 3)),
        ]
    )


async def populate(
    client: Client,
    count: int,
    *,
    unit_code: str = PEOPLE_HOSPITAL[0],
    id_prefix: str = "",
    in_flight: int = 64,
) -> float:
    """Start `count` waiting no-op workflows; returns the seconds it took."""
    now = datetime.now(UTC)
    gate = asyncio.Semaphore(in_flight)

    async def one(index: int) -> None:
        async with gate:
            await client.start_workflow(
                WAITING_TYPE,
                id=f"registration-{id_prefix}{index:0{32 - len(id_prefix)}x}",
                task_queue="inbox-bench-nobody",
                search_attributes=waiting_attributes(index, count, now, unit_code),
                memo={MEMO_MASKED_NAME: "测*", MEMO_UNIT_NAME: PEOPLE_HOSPITAL[1]},
            )

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - began


async def visible(client: Client, count: int, timeout: float = 300) -> int:
    """Visibility lags the starts a little: wait until the count shows them all."""
    query = f'WorkflowType="{WAITING_TYPE}"'
    deadline = time.monotonic() + timeout
    while (seen := (await client.count_workflows(query)).count) < count:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return seen


async def timed(http: httpx.AsyncClient, path: str, repeat: int) -> dict[str, Any]:
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = await http.get(path)
        seconds.append(time.perf_counter() - began)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return {
        "path": path,
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "runs": repeat,
        "rows_shown": answer.text.count("inbox-row"),
    }


async def through_the_edge(settings: Settings, client: Client, repeat: int) -> dict[str, Any]:
    from domain import passwords
    from edge.web.app import create_app

    engine = make_engine(settings.database_url, settings.data_key)
    async with make_sessions(engine).begin() as session:
        account = await session.get(Account, REVIEWER)
        assert account is not None
        account.password_hash = passwords.hasher().hash(PASSWORD)
    await engine.dispose()
    signing_key, _ = new_signing_key("bench1")
    settings = settings.model_copy(
        update={
            "assertion_signing_key": SecretStr(signing_key),
            "session_key": SecretStr(secrets.token_urlsafe(32)),
        }
    )
    app = create_app(settings, temporal=client)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http,
    ):
        answer = await http.post(
            "/api/v1/staff/session", json={"username": REVIEWER, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        first = await timed(http, "/staff/inbox", repeat)
        total = _total(await http.get("/staff/inbox"))
        pages = max(1, -(-total // 20))
        return {
            "inbox_total": total,
            "first_page": first,
            "middle_page": await timed(http, f"/staff/inbox?page={pages // 2}", repeat),
            "last_page": await timed(http, f"/staff/inbox?page={pages}", repeat),
            "overdue_first_page": await timed(http, "/staff/inbox?overdue=1", repeat),
        }


def _total(answer: httpx.Response) -> int:
    marker = 'data-total="'
    text = answer.text
    start = text.index(marker) + len(marker)
    return int(text[start : text.index('"', start)])


async def main(args: argparse.Namespace) -> dict[str, Any]:
    use_run_keys()
    with tempfile.TemporaryDirectory(prefix="jshr-bench-inbox-") as tmp:
        workdir = Path(tmp)
        converter = data_converter_for(Settings(_env_file=None))
        env = await WorkflowEnvironment.start_local(
            port=args.port,
            dev_server_existing_path=str(BIN / "temporal"),
            dev_server_database_filename=str(workdir / "temporal.db"),
            data_converter=converter,
            search_attributes=search.ALL,
            dev_server_log_level="error",
            dev_server_extra_args=[
                *SQLITE_FLAGS,
            ],
        )
        try:
            settings = bench_settings(workdir, f"127.0.0.1:{args.port}")
            await asyncio.to_thread(migrate, settings.database_url)
            engine = make_engine(settings.database_url, settings.data_key)
            await seed_demo(make_sessions(engine), settings)
            await engine.dispose()
            started = await populate(env.client, args.waiting)
            seen = await visible(env.client, args.waiting)
            result = {
                "machine": describe(),
                "load_average_before": load_average(),
                "waiting": args.waiting,
                "visible": seen,
                "seconds_to_start_them": round(started, 1),
                "workflow_type": WAITING_TYPE + " (no-op, never run: its start carries the row)",
                **await through_the_edge(settings, env.client, args.repeat),
                # Other work on this shared machine slows every figure: read them beside this.
                "load_average_after": load_average(),
            }
        finally:
            await env.shutdown()
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.inbox", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--waiting", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--port", type=int, default=PORT, help="the dev server's port")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the JSON goes")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse_args())), ensure_ascii=False, indent=2))
