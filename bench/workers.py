"""The processes under test, each its own OS process started from the bench's Settings (the
idiom of testkit.processes): N real `worker.py` processes, N skeleton workers, and the edge.

A worker counts as started once Temporal lists it (by its client identity, `pid@host`) among the
pollers of its task queue, for workflow and activity tasks alike; the edge, once /healthz answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from bench.machine import cpu_seconds, rss_mib, status_kib
from config import Settings
from testkit.processes import WORKER, free_port, process, settings_env

START_TIMEOUT = 120.0
READY_LINE = "worker polling task queue"  # worker.main logs it once its worker runs
TASK_TYPES = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)


def ours(_: int) -> Sequence[str]:
    return WORKER


def ts_worker(_: int) -> Sequence[str]:
    return (sys.executable, "-m", "bench.ts_worker")


def skeleton(notices: Path) -> Callable[[int], Sequence[str]]:
    return lambda _: (sys.executable, "-m", "bench.skeleton", str(notices))


def profiled(target: str, dumps: Path, *rest: str) -> Callable[[int], Sequence[str]]:
    """`bench.profiled_worker` of `target`; process i dumps its profile to dumps/<target>-i."""
    return lambda i: (
        sys.executable,
        "-m",
        "bench.profiled_worker",
        str(dumps / f"{target}-{i}.pstats"),
        target,
        *rest,
    )


async def _polling(client: Client, settings: Settings, pids: list[int]) -> bool:
    """Whether every one of `pids` polls the task queue for both kinds of task."""
    for kind in TASK_TYPES:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=settings.temporal_namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=kind,
            )
        )
        identities = {poller.identity.split("@", 1)[0] for poller in described.pollers}
        if not {str(pid) for pid in pids} <= identities:
            return False
    return True


@dataclass
class Fleet:
    """`count` worker processes of one side, all on `settings.task_queue`."""

    name: str
    settings: Settings
    count: int
    logs: Path  # stdout and stderr of every process, appended
    extra_env: dict[str, str] = field(default_factory=dict)
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def _said_ready(self) -> int:
        text = self.logs.read_text(errors="replace") if self.logs.exists() else ""
        return text.count(READY_LINE)

    async def _ready(self, client: Client, said_before: int) -> bool:
        try:
            return await _polling(client, self.settings, self.pids)
        except RPCError as exc:
            # The Java time-skipping server cannot describe a task queue: the worker's word.
            if exc.status != RPCStatusCode.UNIMPLEMENTED:
                raise
            return self._said_ready() >= said_before + self.count

    async def start(self, client: Client, argv: Callable[[int], Sequence[str]]) -> None:
        env = settings_env(self.settings) | self.extra_env
        said_before = self._said_ready()
        for i in range(self.count):
            self.processes.append(self._stack.enter_context(process(argv(i), env, self.logs)))
        deadline = time.monotonic() + START_TIMEOUT
        while not await self._ready(client, said_before):
            self.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: not polling after {START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.2)

    def check(self) -> None:
        """Raise if one of them exited: the run's figures would be another system's."""
        for p in self.processes:
            if p.poll() is not None:
                tail = self.logs.read_text(errors="replace")[-3000:] if self.logs.exists() else ""
                raise RuntimeError(f"{self.name} worker {p.pid} exited ({p.returncode}):\n{tail}")

    def signal(self, signum: int) -> None:
        for p in self.processes:
            p.send_signal(signum)

    async def kill(self) -> None:
        """SIGKILL, as a crash: no graceful shutdown; every cached workflow is gone with it."""
        self.signal(signal.SIGKILL)
        await self.stop()

    async def stop(self) -> None:
        """SIGTERM to all at once (each shuts down gracefully), then wait for every one."""
        self.signal(signal.SIGTERM)
        await asyncio.to_thread(self._stack.close)
        self.processes = []
        self._stack = contextlib.ExitStack()

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss_mib(self) -> float:
        return round(sum(rss_mib(pid) for pid in self.pids), 1)

    def peak_rss_mib(self) -> float:
        return round(sum(status_kib("VmHWM", pid) for pid in self.pids) / 1024, 1)


@dataclass(frozen=True)
class ServedEdge:
    url: str
    pid: int


@contextlib.asynccontextmanager
async def edge_process(settings: Settings, logs: Path) -> AsyncIterator[ServedEdge]:
    """`python -m edge` on a free loopback port, once /healthz answers."""
    port = free_port()
    env = settings_env(settings) | {
        "JSHR_EDGE_HOST": "127.0.0.1",
        "JSHR_EDGE_PORT": str(port),
        "JSHR_EDGE_URL": f"http://127.0.0.1:{port}",
        "JSHR_SESSION_KEY": secrets.token_urlsafe(32),
    }
    url = f"http://127.0.0.1:{port}"
    with process((sys.executable, "-m", "edge"), env, logs) as edge:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=url) as http:
            while True:
                if edge.poll() is not None:
                    raise RuntimeError(f"the edge exited ({edge.returncode}): see {logs}")
                with contextlib.suppress(httpx.TransportError, socket.error):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the edge did not answer within {START_TIMEOUT:.0f} s")
                await asyncio.sleep(0.2)
        yield ServedEdge(url, edge.pid)
