"""Our entry points as processes of their own (`worker.py`, the bench's skeleton, the edge), for
the tests that kill a worker or need the real entry point, and for the benchmark."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from temporalio.testing import WorkflowEnvironment

from config import ROOT, Settings
from testkit.harness import App

WORKER = (sys.executable, str(ROOT / "worker.py"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def settings_env(settings: Settings, metrics_port: int = 0) -> dict[str, str]:
    """The JSHR_* environment that makes a process of ours build `settings` again (with the
    keys it does not name, codec and assertion keys, inherited from this process)."""
    return {
        "JSHR_METRICS_PORT": str(metrics_port),
        **os.environ,
        "JSHR_TEMPORAL_ADDRESS": settings.temporal_address,
        "JSHR_DATABASE_URL": settings.database_url,
        "JSHR_TASK_QUEUE": settings.task_queue,
        "JSHR_APPLICANT_KEY_SECRET": settings.applicant_key_secret,
        "JSHR_PHONE_CODE_SECRET": settings.phone_code_secret,
        "JSHR_DATA_KEY": settings.data_key,
        "JSHR_DOCUMENT_DIR": str(settings.document_dir),
        "JSHR_CONTINUE_AS_NEW_BETWEEN_ROUNDS": str(settings.continue_as_new_between_rounds).lower(),
        "JSHR_WORKER_MAX_CACHED_WORKFLOWS": str(settings.worker_max_cached_workflows),
        "JSHR_WORKER_MAX_CONCURRENT_ACTIVITIES": str(settings.worker_max_concurrent_activities),
    }


def worker_env(env: WorkflowEnvironment, app: App, metrics_port: int = 0) -> dict[str, str]:
    settings = app.settings.model_copy(
        update={
            "temporal_address": env.client.service_client.config.target_host,
            # The dev-server tests continue-as-new between rounds, as the system does.
            "continue_as_new_between_rounds": True,
        }
    )
    return settings_env(settings, metrics_port)


@contextmanager
def process(
    argv: Sequence[str], env: dict[str, str], output: IO[bytes] | Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`argv` running in the project's root until the block ends, then stopped with SIGTERM
    (its own graceful shutdown); `output` takes its stdout and stderr (default: ours)."""
    log = output.open("ab") if isinstance(output, Path) else output
    try:
        started = subprocess.Popen(
            list(argv), env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT if log else None
        )
        try:
            yield started
        finally:
            if started.poll() is None:
                started.send_signal(signal.SIGTERM)
                try:
                    started.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    started.kill()
                    started.wait()
    finally:
        if isinstance(output, Path) and log is not None:
            log.close()


@contextmanager
def worker_process(
    env: WorkflowEnvironment, app: App, metrics_port: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    with process(WORKER, worker_env(env, app, metrics_port)) as started:
        yield started
