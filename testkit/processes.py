"""`worker.py` as its own process, for the tests that kill it or need the real entry point."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio.testing import WorkflowEnvironment

from config import ROOT
from testkit.harness import App


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def worker_env(env: WorkflowEnvironment, app: App, metrics_port: int = 0) -> dict[str, str]:
    settings = app.settings
    return {
        "JSHR_METRICS_PORT": str(metrics_port),
        **os.environ,
        "JSHR_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "JSHR_DATABASE_URL": settings.database_url,
        "JSHR_TASK_QUEUE": settings.task_queue,
        "JSHR_APPLICANT_KEY_SECRET": settings.applicant_key_secret,
        "JSHR_DOCUMENT_DIR": str(settings.document_dir),
        "JSHR_CONTINUE_AS_NEW_BETWEEN_ROUNDS": "true",
    }


@contextmanager
def worker_process(
    env: WorkflowEnvironment, app: App, metrics_port: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env=worker_env(env, app, metrics_port),
        cwd=ROOT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
