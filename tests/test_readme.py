"""The README's commands, run as written: `make run` in a copy of the project, then every ```sh
block in order as one script, its prompts answered on stdin the way a piped terminal would.

`make run` and `make test` themselves are the first block: `make run` is what this test starts,
and `make test` is what runs it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# The addresses the README shows: make run's defaults.
PORTS = {"Temporal": 7233, "the Web UI": 8233, "the edge": 8000, "the codec server": 8081}
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def sh_blocks(text: str) -> list[str]:
    return [block for block in BLOCK.findall(text) if not block.lstrip().startswith("make run")]


def test_the_readme_shows_the_two_commands_first() -> None:
    first = BLOCK.findall(README.read_text())[0].split("\n")
    assert [line.split()[:2] for line in first if line] == [["make", "run"], ["make", "test"]]


@dataclass
class Running:
    directory: Path
    log: Path

    def admin_password(self, username: str) -> str:
        logins = dict(
            line.split("=", 1)
            for line in (self.directory / "var" / "dev-admins.env").read_text().splitlines()
        )
        return logins[username]


def _copy_project(target: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (path.decode() for path in tracked)):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # The venv this test runs in was installed from this very lock file: make must see it as
    # up to date, not rebuild it (which `make test`'s first step already did).
    (target / ".venv").symlink_to(ROOT / ".venv")
    installed = (ROOT / ".venv" / ".installed").stat().st_mtime
    for prerequisite in ("requirements.lock", "pyproject.toml"):
        os.utime(target / prerequisite, (installed - 1, installed - 1))


def _in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get("http://127.0.0.1:8000/healthz", timeout=2).status_code == 200 and (
                "Demo admins" in log.read_text()
            ):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"make run was not ready in time:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    busy = [name for name, port in PORTS.items() if _in_use(port)]
    if busy:
        pytest.fail(f"stop what listens on the README's ports first ({', '.join(busy)})")
    directory = tmp_path_factory.mktemp("readme")
    _copy_project(directory)
    log = directory / "make-run.log"
    # A machine's own JSHR_* settings would make this another system than the README's.
    env = {key: value for key, value in os.environ.items() if not key.startswith("JSHR_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=directory,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_ready(process, log, time.monotonic() + 180)
        yield Running(directory, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_every_command_of_the_readme_runs_as_written(make_run: Running) -> None:
    blocks = sh_blocks(README.read_text())
    marker = "::readme-block::"
    script = "set -euo pipefail\n" + "".join(f"echo {marker}\n{block}" for block in blocks)
    applicant_password = f"Ouyang#Ming-{secrets.token_hex(3)}"  # invented, new each run
    answers = [
        applicant_password,
        applicant_password,  # register: the password, and again
        "admin_hospital",
        make_run.admin_password("admin_hospital"),
        "ouyangmingyue1988",
        applicant_password,
        "admin_hospital",
        make_run.admin_password("admin_hospital"),
        "sysadmin",
        make_run.admin_password("sysadmin"),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("JSHR_")}
    ran = subprocess.run(
        ["bash", "-c", script],
        cwd=make_run.directory,
        env=env,
        input="".join(f"{line}\n" for line in answers),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, (
        f"{output[-6000:]}\n--- make run ---\n{make_run.log.read_text()[-3000:]}"
    )
    outputs = ran.stdout.split(f"{marker}\n")[1:]
    assert len(outputs) == len(blocks)
    ran_block = dict(zip(blocks, outputs, strict=True))

    def output_of(command: str) -> str:
        return next(out for block, out in ran_block.items() if command in block)

    cli = output_of("$S register")
    assert "您的注册验证码为" in cli  # the SMS as the embedded channel shows it
    assert "logged in as admin_hospital" in cli
    assert "欧*" in cli  # the inbox shows the masked name

    forged = output_of("temporal workflow signal")
    assert "Signal workflow succeeded" in forged and '"stage": "awaiting_review"' in forged
    metrics = httpx.get("http://127.0.0.1:9464/metrics", timeout=5).text
    forged_count = (
        r'^jshr_forged_messages\{code="assertion.missing",message="review_decision"[^}]*\} 1$'
    )
    assert re.search(forged_count, metrics, re.M), metrics

    curl = output_of("X-CSRF-Token")
    assert "csrf_token" in curl and '"stage": "completed"' in curl

    integrate = output_of("token create")
    wf2 = integrate.strip().splitlines()[-1]
    assert "workflow_id" in integrate and "320114200012314045" not in integrate

    permissions = output_of("permission request")
    assert "revoked: ouyangmingyue1988 is now user" in permissions
    assert wf2


# The commands the README names in its prose, beyond its ```sh blocks, and the test that runs
# each (a path, and a string that file must hold to prove it). Commands this module runs itself
# are in test_the_prose_commands_run below.
RUN_ELSEWHERE = {
    "make test": (".ci/run", "make test"),
    "$S review approve": ("tests/edge/test_cli.py", '"review", "approve"'),
    "docker-compose config": ("tests/deploy/test_compose.py", '"config"'),
    # No Docker daemon here: the file is read as data, its wiring checked service by service.
    "docker compose up -d --scale worker=4": ("tests/deploy/test_compose.py", "worker"),
    "python -m bench.inbox": ("tests/bench/test_bench_inbox.py", "from bench.inbox import main"),
    "make screenshots": ("tests/browser/conftest.py", "JSHR_SCREENSHOTS"),
    "make bench": ("tests/bench/test_bench_run.py", "bench.run"),
}
RUN_HERE = (
    "make run",
    "make clean",
    "make histories",
    ".venv/bin/python -m starter sms-inbox 13800000002",
    "python -m starter codec-key",
    "python -m starter openapi",
    "python -m starter schema",
    "python -m starter calendar show 2027",
)
COMMAND = re.compile(r"`((?:make|python -m|\.venv/bin/|\$S|docker)[^`]*)`")


def prose_commands(text: str) -> set[str]:
    prose = BLOCK.sub("", text)
    commands = {" ".join(found.split()) for found in COMMAND.findall(prose)}
    return {command for command in commands if " " in command}


def test_every_command_in_the_prose_is_run_by_a_test() -> None:
    named = prose_commands(README.read_text())
    unaccounted = {
        command
        for command in named
        if not any(command.startswith(known) for known in (*RUN_ELSEWHERE, *RUN_HERE))
    }
    assert not unaccounted, f"no test runs these README commands: {sorted(unaccounted)}"
    for command, (path, evidence) in RUN_ELSEWHERE.items():
        assert evidence in (ROOT / path).read_text(), f"{path} does not run {command}"


def _python(*args: str, cwd: Path = ROOT) -> str:
    ran = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout


def test_the_prose_commands_run(tmp_path: Path) -> None:
    key = _python("starter", "codec-key").strip()
    assert len(base64.b64decode(key, validate=True)) == 32

    _python("starter", "openapi", str(tmp_path / "openapi.json"))
    assert (tmp_path / "openapi.json").read_text() == (ROOT / "docs/openapi.json").read_text()
    _python("starter", "schema", str(tmp_path / "schemas"))
    written = {path.name: path.read_text() for path in (tmp_path / "schemas").iterdir()}
    committed = {path.name: path.read_text() for path in (ROOT / "docs/schemas").iterdir()}
    assert written == committed

    calendar = _python("starter", "calendar", "show", "2027")
    assert "2027-02-05" in calendar and "2027-10-01" in calendar  # the eve, National Day

    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "app.db").write_bytes(b"")
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    assert not (tmp_path / "var").exists()


def test_make_histories_re_records_the_replayed_histories(tmp_path: Path) -> None:
    _copy_project(tmp_path)
    histories = tmp_path / "tests" / "workflows" / "histories"
    before = {path.name: path.stat().st_mtime for path in histories.glob("*.json")}
    subprocess.run(["make", "histories"], cwd=tmp_path, check=True, capture_output=True)
    rewritten = {
        path.name for path in histories.glob("*.json") if path.stat().st_mtime > before[path.name]
    }
    # Every history but the one kept from before the edge's assertions, which no code records now.
    assert rewritten == set(before) - {"before_assertions.json"}
