"""`make bench`: throughput, latency, history size and memory of registrations.

    python -m bench.run [--in-flight 20] [--total 200] [--waiting 1200] ...   (--help for all)

In one run, on a fresh dev server and database (temporary directory). This process is the
driver, an integrator: it reaches the workers only through Temporal (the typed client) and the
SMS outbox (read from the SQLite file, as the gateway would). Ours is `--workers` real `worker.py`
processes, the skeleton as many `python -m bench.skeleton` processes; the edge, when used, is
`python -m edge`.

1. history: one happy-path registration and one with a rejection round; events and payload bytes;
2. throughput: the skeleton and ours, each with `--in-flight` registrations going until
   `--total` are complete (after `--warmup`), in `--rounds` chunks with the sides alternating;
   ours/skeleton and the CPU per registration of the workers, the dev server and the driver;
3. half load: ours again, arrivals at half of ours' measured throughput; decide → account;
   then the edge load test (`bench.edge_load`): `--edge-applicants` register over HTTP while
   `--edge-staff` staff sessions browse the inbox and approve, through `python -m edge`;
4. profile: each side's workers restarted under cProfile (`bench.profiled_worker`), untimed;
5. waiting: `--waiting` registrations brought to review by fresh workers and left there: their
   memory, the first inbox page through the edge, the "new application" notice exactly once;
6. first reminder: `--reminders` registrations on the time-skipping test server, the worker
   killed and restarted, time skipped past the first reminder: it fired exactly once each.

Writes bench/results/latest.json and latest.md, and prints the Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import functools
import logging
import shlex
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import report, workers
from bench.driver import (
    NoticeRows,
    OutboxNotices,
    Pass,
    Registrations,
    Skeleton,
    Target,
    closed_loop,
    open_loop,
    register,
)
from bench.edge_load import edge_load
from bench.history import happy_path, history_size, rejection_round, run_chain, time_breakdown
from bench.machine import cpu_seconds, describe, find_dev_server, load_average
from bench.profile import ThreadCpu, attribute, photo_check_ms
from bench.reminders import first_reminder_once
from bench.skeleton import create_notices
from bench.system import REVIEWER, System, build_system, use_run_keys
from bench.waiting import many_waiting
from bench.workers import Fleet, edge_process
from testkit.edge import STAFF_PASSWORD, set_password
from testkit.harness import App

# The applicants' requests in the edge load test, reported beside the inbox and decisions.
APPLICANT_KINDS = ("register", "phone_code", "status")
BREAKDOWN_SAMPLE = 30
PROFILE_WARMUP = 5  # registrations per side before the profile starts (caches, sandbox imports)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--in-flight",
        type=int,
        default=20,
        help="registrations at once (from 40 up, 100 concurrent activities time out; 8 do not)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes per side (both sides alike)"
    )
    parser.add_argument("--total", type=int, default=200, help="measured registrations per side")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured, before each side")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="the measured registrations of each side in this many chunks, sides alternating",
    )
    parser.add_argument(
        "--half-load-total", type=int, default=200, help="registrations in the half-load pass"
    )
    parser.add_argument(
        "--waiting",
        type=int,
        default=1000,
        help="registrations left waiting for review (10000: ~20 min on 2 cores); 0 skips",
    )
    parser.add_argument("--waiting-in-flight", type=int, default=20)
    parser.add_argument(
        "--reminders",
        type=int,
        default=200,
        help="registrations whose first reminder is checked on the time-skipping server; 0 skips",
    )
    parser.add_argument(
        "--edge-repeat", type=int, default=7, help="timed requests of the inbox page"
    )
    parser.add_argument(
        "--edge-applicants",
        type=int,
        default=60,
        help="applicants registering over HTTP in the edge load test (bench.edge_load); 0 skips",
    )
    parser.add_argument("--edge-staff", type=int, default=3, help="staff sessions at once")
    parser.add_argument(
        "--edge-deadline", type=float, default=180.0, help="seconds the edge load test may take"
    )
    parser.add_argument(
        "--profile-total",
        type=int,
        default=30,
        help="registrations per side in the untimed cProfile pass of the workers; 0 skips",
    )
    parser.add_argument("--poll-ms", type=int, default=25, help="driver's outbox poll interval")
    parser.add_argument("--temporal-db", choices=("file", "memory"), default="file")
    parser.add_argument(
        "--max-concurrent-activities",
        type=int,
        default=None,
        help="worker setting for an experiment, both sides (default: the real worker's own)",
    )
    parser.add_argument(
        "--max-cached-workflows",
        type=int,
        default=None,
        help="worker setting for an experiment, both sides (default: the real worker's own)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=report.RESULTS / "latest",
        help="writes <output>.json and <output>.md (experiments: bench/results/raw/<name>)",
    )
    return parser.parse_args(argv)


class Meter:
    """CPU seconds of a side's worker processes, of the dev server and of this driver."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def read(self, fleet: Fleet) -> dict[str, float]:
        return {
            "worker_processes": fleet.cpu_seconds(),
            "dev_server": cpu_seconds(self.server_pid) if self.server_pid else 0.0,
            "driver": cpu_seconds(),
        }

    @staticmethod
    def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        return {key: after[key] - before[key] for key in before}


@dataclass
class Side:
    """One side's measured registrations, gathered over the rounds."""

    target: Target
    fleet: Fleet
    run: Pass = field(default_factory=Pass)
    cpu: Counter[str] = field(default_factory=Counter)
    threads: Counter[str] = field(default_factory=Counter)
    rounds: list[dict[str, Any]] = field(default_factory=list)

    async def measure(self, system: System, count: int, in_flight: int, meter: Meter) -> None:
        load_before = load_average()
        before = meter.read(self.fleet)
        threads = ThreadCpu(self.fleet.pids)
        threads.start()
        chunk = await closed_loop(
            lambda a: register(self.target, a), list(system.applicants(count)), in_flight
        )
        self.fleet.check()
        self.cpu.update(Meter.since(before, meter.read(self.fleet)))
        self.threads.update(threads.stop())
        self.run.traces += chunk.traces
        self.run.wall += chunk.wall
        self.rounds.append(
            {
                "completed": len(chunk.ok),
                "wall_s": round(chunk.wall, 2),
                "throughput_per_s": round(len(chunk.ok) / chunk.wall, 2) if chunk.wall else 0.0,
                "load_average": {"before": load_before, "after": load_average()},
            }
        )
        log(
            f"{self.target.name}: {len(chunk.ok)}/{count} in {chunk.wall:.1f} s = "
            f"{self.rounds[-1]['throughput_per_s']}/s, errors {len(chunk.errors)}, "
            f"load {load_average()[0]}"
        )

    def summary(self) -> dict[str, Any]:
        summary = report.summarize(self.run, dict(self.cpu))
        summary["worker_processes"] = self.fleet.count
        summary["worker_cpu_by_thread_s"] = {
            group: round(seconds, 2) for group, seconds in self.threads.most_common()
        }
        summary["rounds"] = self.rounds
        return summary


async def throughput(
    sides: tuple[Side, Side], system: System, args: argparse.Namespace, meter: Meter
) -> None:
    """Warm both up, then alternate them in ABBA order (A B, B A, A B, …), so that a change in
    the machine's background load during the run falls on both sides alike."""
    for side in sides:
        await closed_loop(
            functools.partial(register, side.target),
            list(system.applicants(args.warmup)),
            args.in_flight,
        )
    rounds = max(1, args.rounds)
    chunks = [args.total // rounds + (i < args.total % rounds) for i in range(rounds)]
    for i, count in enumerate(chunks):
        for side in sides if i % 2 == 0 else reversed(sides):
            await side.measure(system, count, args.in_flight, meter)


async def sample_histories(client: Any, run: Pass) -> list[Any]:
    histories = []
    for trace in run.ok[:BREAKDOWN_SAMPLE]:
        histories += await run_chain(client, trace.workflow_id)
    return histories


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def worker_settings(system: System, args: argparse.Namespace) -> dict[str, Any]:
    """Both sides' worker settings: the real worker's, or the experiment's."""
    update: dict[str, Any] = {}
    if args.max_concurrent_activities:
        update["worker_max_concurrent_activities"] = args.max_concurrent_activities
    if args.max_cached_workflows is not None:
        update["worker_max_cached_workflows"] = args.max_cached_workflows
    return update


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "command": " ".join(["python -m bench.run", shlex.join(sys.argv[1:])]).strip(),
        "machine": describe(),
        "load_average": {"start": load_average()},
        "parameters": {
            "in_flight": args.in_flight,
            "workers": args.workers,
            "total": args.total,
            "warmup": args.warmup,
            "rounds": args.rounds,
            "half_load_total": args.half_load_total,
            "waiting": args.waiting,
            "waiting_in_flight": args.waiting_in_flight,
            "edge_repeat": args.edge_repeat,
            "edge_applicants": args.edge_applicants,
            "edge_staff": args.edge_staff,
            "reminders": args.reminders,
            "poll_ms": args.poll_ms,
            "profile_total": args.profile_total,
            "temporal_db": args.temporal_db,
            "max_concurrent_activities": args.max_concurrent_activities,
            "max_cached_workflows": args.max_cached_workflows,
        },
    }
    began = time.perf_counter()
    use_run_keys()
    with tempfile.TemporaryDirectory(prefix="jshr-bench-") as tmp:
        workdir = Path(tmp)
        needed = (
            2
            + 2 * (args.warmup + args.total + args.profile_total + PROFILE_WARMUP)
            + args.half_load_total
            + args.waiting
            + args.reminders
            + args.edge_applicants
        )
        log(f"building the system in {workdir} ({needed} invented applicants)")
        system = await build_system(
            workdir, applicants=needed, in_memory=args.temporal_db == "memory"
        )
        try:
            results.update(await _run(args, system, workdir))
        finally:
            await system.engine.dispose()
            await system.env.shutdown()
    results["load_average"]["end"] = load_average()
    results["duration_s"] = round(time.perf_counter() - began, 1)
    results["targets"] = report.targets(results)
    return results


async def _run(args: argparse.Namespace, system: System, workdir: Path) -> dict[str, Any]:
    client = system.env.client
    port = client.service_client.config.target_host.rsplit(":", 1)[1]
    meter = Meter(find_dev_server(port))
    update = worker_settings(system, args)
    system.settings = system.settings.model_copy(update=update)
    skeleton_settings = system.settings.model_copy(
        update={"task_queue": f"bench-skeleton-{uuid.uuid4().hex[:8]}"}
    )
    notices_file = workdir / "skeleton-notices.db"
    create_notices(notices_file)
    ours_fleet = Fleet("ours", system.settings, args.workers, workdir / "ours.log")
    skeleton_fleet = Fleet("skeleton", skeleton_settings, args.workers, workdir / "skeleton.log")
    poll = args.poll_ms / 1000
    log(f"starting {args.workers} worker process(es) per side")
    try:
        await ours_fleet.start(client, workers.ours)
        await skeleton_fleet.start(client, workers.skeleton(notices_file))
        async with (
            OutboxNotices(system.database, system.settings.data_key, poll) as outbox,
            NoticeRows(notices_file, poll) as notices,
        ):
            ours = Registrations(system, outbox)
            skeleton = Skeleton(client, skeleton_settings.task_queue, notices)
            return await _phases(
                args,
                system,
                Side(ours, ours_fleet),
                Side(skeleton, skeleton_fleet),
                meter,
                workdir,
                notices_file,
            )
    finally:
        await ours_fleet.stop()
        await skeleton_fleet.stop()


async def _phases(
    args: argparse.Namespace,
    system: System,
    ours_side: Side,
    skeleton_side: Side,
    meter: Meter,
    workdir: Path,
    notices_file: Path,
) -> dict[str, Any]:
    client = system.env.client
    ours = ours_side.target
    assert isinstance(ours, Registrations)
    out: dict[str, Any] = {}

    out["photo_check_cpu_ms"] = photo_check_ms()
    log("history: one happy path, one rejection round")
    happy_id, _ = await happy_path(ours)
    rejected_id = await rejection_round(ours)
    out["history"] = {
        "happy_path": history_size(await run_chain(client, happy_id)),
        "rejection_round": history_size(await run_chain(client, rejected_id)),
    }

    log(
        f"throughput: {args.total} per side, {args.in_flight} in flight, "
        f"{args.rounds} alternating rounds, {args.workers} worker process(es) per side"
    )
    await throughput((skeleton_side, ours_side), system, args, meter)
    skeleton_run, ours_run = skeleton_side.run, ours_side.run
    ours_summary, skeleton_summary = ours_side.summary(), skeleton_side.summary()
    for name, summary in (("skeleton", skeleton_summary), ("ours", ours_summary)):
        log(
            f"{name}: {summary['completed']}/{summary['registrations']} = "
            f"{summary['throughput_per_s']}/s, p50 {summary['latency_total'].get('p50_ms')} ms, "
            f"p99 {summary['latency_total'].get('p99_ms')} ms, CPU ms/registration "
            f"{summary['cpu_ms_per_registration']}"
        )
    ratio = (
        ours_summary["throughput_per_s"] / skeleton_summary["throughput_per_s"]
        if skeleton_summary["throughput_per_s"]
        else 0.0
    )
    out["throughput"] = {"ours": ours_summary, "skeleton": skeleton_summary, "ratio": ratio}
    skeleton_histories = await sample_histories(client, skeleton_run)
    out["history"]["skeleton"] = history_size(skeleton_histories[:1])
    out["breakdown"] = {
        "sampled": min(BREAKDOWN_SAMPLE, len(ours_run.ok), len(skeleton_run.ok)),
        "ours": time_breakdown(await sample_histories(client, ours_run)),
        "skeleton": time_breakdown(skeleton_histories),
    }

    rate = ours_summary["throughput_per_s"] / 2
    log(f"half load: {args.half_load_total} arriving at {rate:.2f}/s")
    half = await open_loop(
        lambda a: register(ours, a), list(system.applicants(args.half_load_total)), rate
    )
    ours_side.fleet.check()
    out["half_load"] = {
        "rate_per_s": round(rate, 2),
        "registrations": len(half.traces),
        "errors": len(half.errors),
        "error_samples": sorted(set(half.errors))[:5],
        "wall_s": round(half.wall, 1),
        "load_average_after": load_average(),
        "decide_to_account": report.percentiles([t.decision_to_account for t in half.ok]),
        "total": report.percentiles([t.total for t in half.ok]),
    }
    log(f"half load: decide → account {out['half_load']['decide_to_account']}")

    if args.edge_applicants:
        log(f"edge load: {args.edge_applicants} applicants over HTTP, {args.edge_staff} staff")
        out["edge_load"] = await _edge_load(args, system, ours, workdir)
        ours_side.fleet.check()

    if args.profile_total:
        log(f"profile: {args.profile_total} per side, workers restarted under cProfile (untimed)")
        dumps = workdir / "profiles"
        dumps.mkdir()
        profiled = (
            (
                skeleton_side,
                skeleton_summary,
                workers.profiled("skeleton", dumps, str(notices_file)),
            ),
            (ours_side, ours_summary, workers.profiled("worker", dumps)),
        )
        for side, summary, argv in profiled:
            summary["event_loop_profile"] = await _profile(side, argv, system, args, client)

    if args.waiting:
        # Fresh worker processes: their memory is the waiting registrations', not the passes'.
        await skeleton_side.fleet.stop()
        await ours_side.fleet.stop()
        await ours_side.fleet.start(client, workers.ours)
        log(f"waiting: {args.waiting} registrations to review, {args.waiting_in_flight} in flight")
        out["waiting"] = await many_waiting(
            ours,
            args.waiting,
            args.waiting_in_flight,
            ours_side.fleet,
            meter.server_pid,
            args.edge_repeat,
        )
        log(f"waiting: {out['waiting']}")

    if args.reminders:
        await skeleton_side.fleet.stop()
        await ours_side.fleet.stop()
        log(f"first reminder: {args.reminders} registrations on the time-skipping server")
        out["first_reminder"] = await first_reminder_once(
            system, ours.notices, args.reminders, args.waiting_in_flight, workdir
        )
        log(f"first reminder: {out['first_reminder']}")
    return out


async def _profile(
    side: Side, argv: Any, system: System, args: argparse.Namespace, client: Any
) -> dict[str, Any]:
    """One side's workers replaced by profiled ones for an untimed pass; left stopped."""
    fleet = side.fleet
    await fleet.stop()
    await fleet.start(client, argv)
    await closed_loop(
        functools.partial(register, side.target),
        list(system.applicants(PROFILE_WARMUP)),
        args.in_flight,
    )
    fleet.signal(signal.SIGUSR2)  # bench.profiled_worker: start profiling now
    profiled = await closed_loop(
        functools.partial(register, side.target),
        list(system.applicants(args.profile_total)),
        args.in_flight,
    )
    fleet.check()
    dumps = [Path(a[3]) for a in map(argv, range(fleet.count))]
    await fleet.stop()  # SIGTERM: each dumps its profile as it exits
    result = attribute(dumps, len(profiled.ok))
    result["warmup"] = PROFILE_WARMUP
    result["error_samples"] = sorted(set(profiled.errors))[:5]
    return result


async def _edge_load(
    args: argparse.Namespace, system: System, ours: Registrations, workdir: Path
) -> dict[str, Any]:
    """bench.edge_load on our workers and an edge process: applicants register over HTTP with
    their photos while staff sessions browse the inbox and approve."""
    await set_password(App(system.settings, system.sessions), REVIEWER, STAFF_PASSWORD)
    async with edge_process(system.settings, workdir / "edge-load.log") as edge:
        before = load_average()
        found = await edge_load(
            edge.url,
            notices=ours.notices,
            applicants=list(system.applicants(args.edge_applicants)),
            staff_password=STAFF_PASSWORD,
            staff=args.edge_staff,
            deadline=args.edge_deadline,
            notice_version=system.settings.notice_version,
        )
    requests = found["requests"]
    flows = found["flows"]
    return {
        "inbox": requests.get("inbox_page", {}),
        "inbox_api": requests.get("inbox_api", {}),
        "decision": requests.get("decision", {}),
        **{
            kind: requests[kind]
            for kind in ("register", "phone_code", "status")
            if kind in requests
        },
        "errors": found["errors"],
        "completed": flows["completed"],
        "applicants": found["applicants"],
        "summary": (
            f"{found['applicants']} applicants ({found['in_flight']} at once) registered over HTTP"
            f" with their photos and SMS code while {found['staff_sessions']} staff sessions"
            f" browsed the inbox and approved: {flows['completed']} accounts in"
            f" {found['wall_s']} s, {found['errors']} errors (load average {before[0]} before,"
            f" {load_average()[0]} after). `python -m bench.edge_load` runs it alone."
        ),
        "note": "an inbox page and a decision wait behind the registrations' Argon2 hashes and"
        " photo checks in the edge's threads and behind their activities in the worker, on the"
        " same 2 cores; see the requests below",
    }


async def _interruptible(work: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """SIGTERM cancels the run, so that the `finally` blocks stop the dev server (a process of
    its own, which would outlive us) and remove the temporary directory."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await work


def main() -> None:
    args = parse_args(sys.argv[1:])
    # `kill -USR1 <pid>` prints every thread's stack: what a long run is waiting for.
    faulthandler.register(signal.SIGUSR1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    try:
        results = asyncio.run(_interruptible(bench(args)))
    except asyncio.CancelledError:
        log("terminated: the dev server and the temporary directory were cleaned up")
        sys.exit(128 + signal.SIGTERM)
    text = report.write(results, args.output.with_suffix(""))
    print(text)


if __name__ == "__main__":
    main()
