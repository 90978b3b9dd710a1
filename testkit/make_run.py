"""`make run` as a user starts it, in a copy of the project: for the tests that use the whole
system through its own doors (the README's commands, the raw `temporal` CLI, curl).

It listens where the README says (7233, 8233, 8000, 9464), so nothing else may. The
environment it gets has no JSHR_* variable: the test suite's own keys would make it another
system than the one `make run` sets up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from config import ROOT

PORTS = {"Temporal": 7233, "the Web UI": 8233, "the edge": 8000, "the metrics": 9464}
EDGE = "http://127.0.0.1:8000"


def copy_project(target: Path) -> None:
    """The tracked files, and the venv this process runs in (installed from this very lock)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (path.decode() for path in tracked)):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    (target / ".venv").symlink_to(ROOT / ".venv")
    # make must see that venv as up to date rather than rebuild it: `make test` just did.
    installed = (ROOT / ".venv" / ".installed").stat().st_mtime
    for prerequisite in ("requirements.lock", "pyproject.toml"):
        os.utime(target / prerequisite, (installed - 1, installed - 1))


def user_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("JSHR_")}


@dataclass
class Running:
    directory: Path
    log: Path

    def admin_password(self, username: str) -> str:
        logins = (self.directory / "var" / "dev-admins.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in logins)[username]

    def secrets(self) -> dict[str, str]:
        """What make run made on its first start (var/dev-secrets.env)."""
        lines = (self.directory / "var" / "dev-secrets.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and line[0] != "#")

    def shell(self, script: str, answers: Sequence[str] = (), timeout: float = 300) -> str:
        """`script` in bash, in the project's folder, as a user's terminal would run it; its
        prompts answered from `answers`, one line each. Fails with the output when it fails."""
        ran = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{script}"],
            cwd=self.directory,
            env=user_env(),
            input="".join(f"{line}\n" for line in answers),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if ran.returncode != 0:
            raise AssertionError(
                f"exit {ran.returncode}:\n{ran.stdout[-6000:]}\n{ran.stderr[-6000:]}\n"
                f"--- make run ---\n{self.log.read_text()[-3000:]}"
            )
        return ran.stdout

    def temporal(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The raw `temporal` CLI, as anyone who reaches the server's port can use it."""
        return subprocess.run(
            [str(self.directory / ".venv" / "bin" / "temporal"), *args],
            cwd=self.directory,
            env={**user_env(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )


def _in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"make run exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            ready = httpx.get(f"{EDGE}/healthz", timeout=2).status_code == 200
            if ready and "Demo admins" in log.read_text():
                return
        time.sleep(0.5)
    raise AssertionError(f"make run was not ready in time:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def make_run(directory: Path) -> Iterator[Running]:
    busy = [name for name, port in PORTS.items() if _in_use(port)]
    if busy:
        raise AssertionError(f"stop what listens on make run's ports first ({', '.join(busy)})")
    copy_project(directory)
    log = directory / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=directory,
            env=user_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(process, log, time.monotonic() + 180)
        yield Running(directory, log)
    finally:
        # Ctrl-C, as a user stops it; then whatever did not stop.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
