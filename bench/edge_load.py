"""Through the edge: applicants registering over HTTP while staff browse the inbox and decide.

    python -m bench.edge_load [--applicants 60] [--staff 3] [--deadline 120] [--output PATH]

On loopback, against real processes sharing one set of JSHR_* settings in a temporary
directory: the Temporal dev server (`bench.system`), `worker.py`, and the edge (`python -m
edge`) on a free port. Each applicant, as a browser does: the anonymous CSRF token, the form
with both photos, the SMS code (read from the outbox as the gateway would), then the progress
page's status until the account exists. Each staff session (the unit admin, logged in by
password): inbox pages, some with filters or a later page, and for each registration found
waiting, its application and the approval. Bounded in count and in time: at the deadline every
flow still going is cut off and counted as unfinished.

Per request kind: count, errors (an exception, or a status that is neither 2xx/3xx nor an
expected refusal), refusals that were expected, latency percentiles; beside them the edge's own
time per route (its access log), the worker's per activity (the histories), and CPU seconds of
each process per registration. Writes JSON, prints Markdown. `edge_load` is the same load on a
stack that is already running.

Rate limits: the edge throttles failed logins (per account and per address) and returning
applicants' code requests (per address), and caps SMS codes per phone; none of them is touched
by this load (one login per staff session, each applicant its own phone, no returning
applicant), so every client comes from 127.0.0.1 and nothing is configured away.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import workers
from bench.driver import Notices, OutboxNotices
from bench.history import time_breakdown
from bench.machine import cpu_seconds, describe, find_dev_server, load_average
from bench.report import percentiles
from bench.system import REVIEWER, Applicant, System, build_system, use_run_keys
from bench.workers import Fleet, edge_process
from devtools.samples import card_jpeg
from store.seed import PEOPLE_HOSPITAL
from testkit import PASSWORD
from testkit.edge import STAFF_PASSWORD, set_password
from testkit.harness import App

RESULTS = Path(__file__).parent / "results" / "edge_load"
# The target for these kinds: p99 under 300 ms and no error.
TARGET_KINDS = ("inbox_page", "inbox_api", "decision")
TARGET_P99_MS = 300.0
BREAKDOWN_SAMPLE = 30  # registrations whose histories say where the worker's time went
STATUS_INTERVAL = 2.0  # how often an applicant's progress page asks again
NOT_READY_BACKOFF = (0.05, 0.1, 0.2, 0.4, 0.8)
_APPLICATION_LINK = re.compile(r"/staff/applications/(registration-[0-9a-f]{32})")
# Inbox pages a reviewer opens: the default tab most often, sometimes a filter or a later page.
INBOX_VIEWS = (
    *([{}] * 6),
    {"page": "2"},
    {"role": "user"},
    {"round": "first"},
    {"overdue": "1"},
    {"tab": "decided"},
)

# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Kind:
    count: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, of every answer
    errors: int = 0
    refused: int = 0  # refusals the flow expects (not ready yet, already decided)
    # "409 registration.wrong_stage", "ConnectTimeout": statuses, refusal codes, exception types
    # only, never a body (which may quote what was sent).
    what: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            **percentiles(self.latencies),
            "errors": self.errors,
            "refused": self.refused,
            "what": dict(self.what),
        }


def _refusal_code(answer: httpx.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
        return str(answer.json()["errors"][0]["code"])
    return ""


class Recorder:
    def __init__(self) -> None:
        self.kinds: dict[str, Kind] = {}

    async def call(
        self,
        client: httpx.AsyncClient,
        kind: str,
        method: str,
        url: str,
        *,
        expected: frozenset[str] = frozenset(),
        **options: Any,
    ) -> httpx.Response | None:
        """One request, timed. None if it raised or was an error; a refusal whose code is in
        `expected` is returned (the caller decides what to do next)."""
        stats = self.kinds.setdefault(kind, Kind())
        stats.count += 1
        began = time.perf_counter()
        try:
            answer = await client.request(method, url, **options)
        except httpx.HTTPError as exc:
            stats.errors += 1
            stats.what[type(exc).__name__] += 1
            return None
        stats.latencies.append(time.perf_counter() - began)
        if answer.status_code < 400:
            return answer
        code = _refusal_code(answer)
        stats.what[f"{answer.status_code} {code or '-'}"] += 1
        if code in expected:
            stats.refused += 1
            return answer
        stats.errors += 1
        return None

    def summary(self) -> dict[str, dict[str, Any]]:
        return {kind: stats.summary() for kind, stats in sorted(self.kinds.items())}


class FlowFailed(Exception):
    """A step of a flow answered with an error (already counted by the recorder)."""


# --- applicants ---------------------------------------------------------------------------------


@dataclass
class Flow:
    """How far one applicant got: registered, code accepted, account made."""

    workflow_id: str = ""
    registered: bool = False
    submitted: bool = False
    completed: bool = False
    failure: str = ""  # a step's name and what it answered, no personal data


@dataclass
class Load:
    """What the applicants and the staff share."""

    base_url: str
    notices: Notices
    recorder: Recorder
    deadline: float  # time.monotonic()
    fields: dict[str, str]  # the form's fields every applicant shares (unit, password, notice)
    photos: dict[str, bytes]
    taken: set[str] = field(default_factory=set)  # being decided, or decided, by a session
    decisions: int = 0  # approvals accepted
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def client(self) -> httpx.AsyncClient:
        # One client per person: its own cookies, as separate browsers have.
        return httpx.AsyncClient(base_url=self.base_url, timeout=30.0)


def applicant_fields(load: Load, applicant: Applicant) -> dict[str, str]:
    return {
        **load.fields,
        "name": applicant.name,
        "id_number": applicant.id_number,
        "phone": applicant.phone,
        "email": f"{applicant.username}@example.cn",
        "username": applicant.username,
    }


async def applicant_flow(load: Load, applicant: Applicant, flow: Flow) -> None:
    """Register with the photos, submit the SMS code, follow the progress to the account."""
    rec = load.recorder
    async with load.client() as browser:
        answer = await rec.call(browser, "csrf", "GET", "/api/v1/csrf")
        if answer is None:
            raise FlowFailed("csrf")
        answer = await rec.call(
            browser,
            "register",
            "POST",
            "/api/v1/registrations",
            data=applicant_fields(load, applicant),
            files={side: (f"{side}.jpg", data, "image/jpeg") for side, data in load.photos.items()},
            headers={"X-CSRF-Token": answer.json()["csrf_token"]},
        )
        if answer is None:
            raise FlowFailed("register")
        started = answer.json()
        flow.workflow_id, csrf = started["workflow_id"], started["csrf_token"]
        flow.registered = True
        headers = {"X-CSRF-Token": csrf}
        path = f"/api/v1/registrations/{flow.workflow_id}"

        code = await load.notices.wait(flow.workflow_id, "code", timeout=max(1.0, load.left()))
        for attempt in range(1000):
            answer = await rec.call(
                browser,
                "phone_code",
                "POST",
                f"{path}/phone-code",
                json={"code": code},
                headers=headers,
                # The SMS leaves inside the activity a moment before the workflow waits for
                # the code: the Update's validator refuses until then.
                expected=frozenset({"registration.wrong_stage"}),
            )
            if answer is None:
                raise FlowFailed("phone_code")
            if answer.status_code < 400:
                break
            await asyncio.sleep(NOT_READY_BACKOFF[min(attempt, len(NOT_READY_BACKOFF) - 1)])
        outcome = answer.json().get("outcome")
        if outcome != "accepted":
            raise FlowFailed(f"phone_code answered {outcome}")
        flow.submitted = True

        while True:
            answer = await rec.call(browser, "status", "GET", path)
            if answer is None:
                raise FlowFailed("status")
            stage = answer.json()["stage"]
            if stage == "completed":
                flow.completed = True
                return
            if stage in {"rejected_final", "withdrawn", "expired", "failed"}:
                raise FlowFailed(f"status {stage}")
            await asyncio.sleep(STATUS_INTERVAL)


async def applicant_lanes(load: Load, applicants: list[Applicant], in_flight: int) -> list[Flow]:
    """`in_flight` applicants at a time until every one has had their turn."""
    flows = [Flow() for _ in applicants]
    queue = list(reversed(list(zip(applicants, flows, strict=True))))

    async def lane() -> None:
        while queue and load.left() > 0:
            applicant, flow = queue.pop()
            try:
                await applicant_flow(load, applicant, flow)
            except FlowFailed as exc:
                flow.failure = str(exc)
            except TimeoutError:
                flow.failure = "no SMS code"

    lanes = [asyncio.create_task(lane()) for _ in range(min(in_flight, len(applicants)))]
    _, late = await asyncio.wait(lanes, timeout=max(0.0, load.left()))
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    for flow in flows:
        if not flow.completed and not flow.failure:
            flow.failure = "cut off at the deadline" if flow.registered else "not started"
    return flows


# --- staff --------------------------------------------------------------------------------------


async def staff_session(
    load: Load,
    number: int,
    username: str,
    password: str,
    think: float,
    logged_in: asyncio.Event,
) -> None:
    """Log in (then `logged_in`, whether it worked or not); then, until told to stop: an inbox
    page, and every registration on it that no colleague took yet: its application, then the
    approval."""
    rec = load.recorder
    views = random.Random(number)
    async with load.client() as browser:
        try:
            answer = await rec.call(
                browser,
                "login",
                "POST",
                "/api/v1/staff/session",
                json={"username": username, "password": password},
            )
        finally:
            logged_in.set()
        if answer is None:
            raise FlowFailed("login")
        headers = {"X-CSRF-Token": answer.json()["csrf_token"]}
        turn = 0
        while not load.stop.is_set() and load.left() > 0:
            turn += 1
            view = dict(views.choice(INBOX_VIEWS)) if turn % 3 else {}
            found: list[str] = []
            if turn % 4 == 0:
                answer = await rec.call(
                    browser, "inbox_api", "GET", "/api/v1/review/inbox", params={"page_size": 20}
                )
                if answer is not None:
                    found = [item["workflow_id"] for item in answer.json()["items"]]
            else:
                answer = await rec.call(browser, "inbox_page", "GET", "/staff/inbox", params=view)
                if answer is not None and view.get("tab") != "decided":
                    found = list(dict.fromkeys(_APPLICATION_LINK.findall(answer.text)))
            for workflow_id in found:
                if workflow_id in load.taken or load.stop.is_set():
                    continue
                load.taken.add(workflow_id)
                if not await decide(load, browser, workflow_id, headers):
                    load.taken.discard(workflow_id)  # a later page offers it again
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(load.stop.wait(), think)


# A row the inbox still lists a moment after the registration left review (visibility lags):
# the review rule or the workflow refuses it, and it is not an error of the edge.
DECISION_REFUSALS = frozenset({"registration.wrong_stage", "decision.not_counted"})


async def decide(
    load: Load, browser: httpx.AsyncClient, workflow_id: str, headers: dict[str, str]
) -> bool:
    """Read the application, approve it; whether the approval counted."""
    rec = load.recorder
    path = f"/api/v1/review/{workflow_id}"
    read = await rec.call(browser, "application", "GET", path, expected=DECISION_REFUSALS)
    if read is None or read.status_code >= 400:
        return False
    answer = await rec.call(
        browser,
        "decision",
        "POST",
        f"{path}/decision",
        json={"approve": True, "decision_id": secrets.token_hex(16)},
        headers=headers,
        expected=DECISION_REFUSALS,
    )
    if answer is None or answer.status_code >= 400 or not answer.json().get("accepted"):
        return False
    load.decisions += 1
    return True


# --- the load on a running stack ----------------------------------------------------------------


async def edge_load(
    base_url: str,
    *,
    notices: Notices,
    applicants: list[Applicant],
    staff_password: str,
    staff: int = 3,
    in_flight: int = 20,
    deadline: float = 120.0,
    think: float = 0.5,
    reviewer: str = REVIEWER,
    notice_version: str = "2026-01",
    unit: tuple[str, str] = PEOPLE_HOSPITAL,
) -> dict[str, Any]:
    """The load on an edge already serving at `base_url`, its worker running, and `notices`
    (entered) reading its outbox. `applicants` must be residents (the real-name check) of the
    unit `reviewer` reviews; `reviewer`'s password is `staff_password`. Returns the figures."""
    load = Load(
        base_url=base_url,
        notices=notices,
        recorder=Recorder(),
        deadline=time.monotonic() + deadline,
        fields={
            "unit_code": unit[0],
            "unit_name": unit[1],
            "password": PASSWORD,
            "notice_version": notice_version,
        },
        photos={"id_card_front": card_jpeg("front"), "id_card_back": card_jpeg("back")},
    )
    began = time.perf_counter()
    # The reviewers are at work when the applicants come (a login waits for Argon2 in the
    # edge's thread pool, behind every registration's password hash).
    logins = [asyncio.Event() for _ in range(staff)]
    sessions = [
        asyncio.create_task(staff_session(load, n, reviewer, staff_password, think, logins[n]))
        for n in range(staff)
    ]
    for logged_in in logins:
        await logged_in.wait()
    flows = await applicant_lanes(load, applicants, in_flight)
    load.stop.set()
    staff_failures = [
        str(r) for r in await asyncio.gather(*sessions, return_exceptions=True) if r is not None
    ]
    wall = time.perf_counter() - began
    kinds = load.recorder.summary()
    failures = Counter(flow.failure for flow in flows if flow.failure)
    return {
        "applicants": len(applicants),
        "staff_sessions": staff,
        "in_flight": in_flight,
        "deadline_s": deadline,
        "think_s": think,
        "wall_s": round(wall, 2),
        "flows": {
            "registered": sum(f.registered for f in flows),
            "submitted": sum(f.submitted for f in flows),
            "completed": sum(f.completed for f in flows),
            "failures": dict(failures),
        },
        "decisions": load.decisions,
        # Not personal (keyed hashes); for `time_breakdown`, and left out of the written results.
        "workflow_ids": [flow.workflow_id for flow in flows if flow.completed],
        "staff_failures": staff_failures,
        "requests": kinds,
        "errors": sum(k["errors"] for k in kinds.values()),
        "targets": {
            kind: {
                "p99_ms": kinds[kind].get("p99_ms"),
                "errors": kinds[kind]["errors"],
                "met": kinds[kind]["errors"] == 0
                and kinds[kind].get("p99_ms", 0.0) < TARGET_P99_MS,
            }
            for kind in TARGET_KINDS
            if kind in kinds
        },
    }


# --- the stack: worker and edge as their own processes ------------------------------------------


@dataclass
class Stack:
    system: System
    base_url: str
    pids: dict[str, int]

    def cpu(self) -> dict[str, float]:
        # "driver": this process, the applicants' and staff's browsers with the outbox reader.
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()} | {
            "driver": cpu_seconds()
        }


_ACCESS = re.compile(r" edge\.access (\w+) (\S+) (\d{3}) ([\d.]+)ms$")


def edge_side(log: Path) -> dict[str, dict[str, Any]]:
    """The edge's own time per route (its access log: the route's template, never a path),
    which leaves out the client's side and the wait for a connection."""
    durations: dict[str, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if match := _ACCESS.search(line):
            method, route, _status, ms = match.groups()
            durations.setdefault(f"{method} {route}", []).append(float(ms) / 1000)
    return {route: percentiles(values) for route, values in sorted(durations.items())}


def logged_problems(log: Path, keep: int = 40) -> list[str]:
    """The ERROR and WARNING lines of a process's log (the first `keep`), to say what an error
    was once the temporary directory is gone. The edge and the worker log no personal data."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line[:300] for line in lines if " ERROR " in line or " WARNING " in line][:keep]


@contextlib.asynccontextmanager
async def running_stack(
    workdir: Path, applicants: int, **worker_settings: object
) -> AsyncIterator[Stack]:
    """Dev server, database with `applicants` residents, `worker.py` (with `worker_settings`
    over the run's settings) and `python -m edge` (bench.workers)."""
    use_run_keys()
    system = await build_system(workdir, applicants=applicants, in_memory=False)
    system.settings = system.settings.model_copy(update=worker_settings)
    fleet = Fleet("ours", system.settings, 1, workdir / "worker.log")
    try:
        await set_password(App(system.settings, system.sessions), REVIEWER, STAFF_PASSWORD)
        await fleet.start(system.env.client, workers.ours)
        async with edge_process(system.settings, workdir / "edge.log") as edge:
            server_port = system.settings.temporal_address.rsplit(":", 1)[1]
            pids = {"edge": edge.pid, "worker": fleet.pids[0]}
            if (server := find_dev_server(server_port)) is not None:
                pids["dev_server"] = server
            yield Stack(system, edge.url, pids)
    finally:
        await fleet.stop()
        await system.engine.dispose()
        await system.env.shutdown()


# --- the command --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.edge_load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--applicants", type=int, default=60)
    parser.add_argument("--staff", type=int, default=3, help="staff sessions at once")
    parser.add_argument("--in-flight", type=int, default=20, help="applicants at once")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds, then it stops")
    parser.add_argument("--think", type=float, default=0.5, help="seconds between inbox pages")
    parser.add_argument("--poll-ms", type=int, default=25, help="the outbox poll interval")
    parser.add_argument(
        "--max-concurrent-activities",
        type=int,
        default=None,
        help="worker option for an experiment (default: the real worker's own setting)",
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep the run's files (logs, databases) here, not in /tmp"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="writes <output>.json and <output>.md"
    )
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with contextlib.ExitStack() as cleanup:
        if args.workdir is None:
            workdir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="edge-load-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True)
        worker = {}
        if args.max_concurrent_activities is not None:
            worker["worker_max_concurrent_activities"] = args.max_concurrent_activities
        async with running_stack(workdir, args.applicants, **worker) as stack:
            system = stack.system
            load_before, cpu_before = load_average(), stack.cpu()
            async with OutboxNotices(
                system.database, system.settings.data_key, args.poll_ms / 1000
            ) as notices:
                result = await edge_load(
                    stack.base_url,
                    notices=notices,
                    applicants=list(system.applicants(args.applicants)),
                    staff_password=STAFF_PASSWORD,
                    staff=args.staff,
                    in_flight=args.in_flight,
                    deadline=args.deadline,
                    think=args.think,
                    notice_version=system.settings.notice_version,
                )
            cpu_after = stack.cpu()
            # Where a decision's time goes: its activity's wait for a worker slot, the tasks.
            sample = result.pop("workflow_ids")[:BREAKDOWN_SAMPLE]
            client = system.env.client
            histories = [await client.get_workflow_handle(w).fetch_history() for w in sample]
        served = edge_side(workdir / "edge.log")
        complaints = {name: logged_problems(workdir / f"{name}.log") for name in ("edge", "worker")}
    completed = result["flows"]["completed"] or 1
    cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_before}
    return {
        **result,
        "command": "python -m bench.edge_load " + " ".join(sys.argv[1:]),
        "worker_settings": worker,
        "cpu_s": cpu,
        "cpu_ms_per_registration": {
            name: round(seconds * 1000 / completed, 1) for name, seconds in cpu.items()
        },
        "edge_side": served,
        "worker_time": time_breakdown(histories),
        "logged_problems": {name: lines for name, lines in complaints.items() if lines},
        "load_average": {"before": load_before, "after": load_average()},
        "machine": describe(),
    }


def markdown(r: dict[str, Any]) -> str:
    flows = r["flows"]
    lines = [
        f"Edge load: {r['applicants']} applicants ({r['in_flight']} at once), "
        f"{r['staff_sessions']} staff sessions, deadline {r['deadline_s']:.0f} s; "
        f"{r['wall_s']:.1f} s wall, load average {r['load_average']['after']}.",
        "",
        f"Flows: {flows['registered']} registered, {flows['submitted']} code accepted, "
        f"{flows['completed']} with an account; {r['decisions']} approvals"
        + (f"; unfinished: {flows['failures']}" if flows["failures"] else "")
        + ".",
        "",
        "| request | count | errors | expected refusals | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, k in r["requests"].items():
        mark = " (target p99 < 300)" if kind in TARGET_KINDS else ""
        lines.append(
            f"| {kind}{mark} | {k['count']} | {k['errors']} | {k['refused']} | "
            f"{k.get('p50_ms', '-')} | {k.get('p90_ms', '-')} | {k.get('p99_ms', '-')} | "
            f"{k.get('max_ms', '-')} |"
        )
    if r.get("edge_side"):
        lines += [
            "",
            "The edge's own time (its access log), same run:",
            "",
            "| route | n | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {route} | {k['n']} | {k['p50_ms']} | {k['p99_ms']} | {k['max_ms']} |"
            for route, k in r["edge_side"].items()
            if k["n"] and route != "GET /healthz"
        ]
    if r.get("worker_time"):
        lines += [
            "",
            f"Worker side, from {min(BREAKDOWN_SAMPLE, flows['completed'])} registrations'"
            " histories (queued: scheduled → started; running: started → completed):",
            "",
            "| task | queued p50 ms | queued max ms | running p50 ms | running max ms |",
            "|---|---|---|---|---|",
        ]
        for task, t in r["worker_time"].items():
            queued, running = t["queued"], t["running"]
            lines.append(
                f"| {task} | {queued.get('p50_ms', '-')} | {queued.get('max_ms', '-')} | "
                f"{running.get('p50_ms', '-')} | {running.get('max_ms', '-')} |"
            )
    if "cpu_ms_per_registration" in r:
        per = ", ".join(f"{name} {ms} ms" for name, ms in r["cpu_ms_per_registration"].items())
        lines += ["", f"CPU per completed registration: {per}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(run(args))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    )
    text = markdown(result)
    args.output.with_suffix(".md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
