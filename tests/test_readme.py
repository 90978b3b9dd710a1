"""The README's commands, run as written: `make run` in a copy of the project, then every ```sh
block in order as one script, its prompts answered on stdin the way a piped terminal would.

`make run` and `make test` themselves are the first block: `make run` is what this test starts,
and `make test` is what runs it.
"""

from __future__ import annotations

import base64
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import httpx

from testkit.make_run import Running, copy_project

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def sh_blocks(text: str) -> list[str]:
    return [block for block in BLOCK.findall(text) if not block.lstrip().startswith("make run")]


def test_the_readme_shows_the_two_commands_first() -> None:
    first = BLOCK.findall(README.read_text())[0].split("\n")
    assert [line.split()[:2] for line in first if line] == [["make", "run"], ["make", "test"]]


def forged_decisions() -> int:
    """`review_decision` signals the worker dropped for want of the edge's assertion."""
    metrics = httpx.get("http://127.0.0.1:9464/metrics", timeout=5).text
    pattern = (
        r'^jshr_forged_messages\{code="assertion.missing",message="review_decision"[^}]*\} (\d+)$'
    )
    return sum(int(found) for found in re.findall(pattern, metrics, re.M))


def test_every_command_of_the_readme_runs_as_written(make_run: Running) -> None:
    blocks = sh_blocks(README.read_text())
    marker = "::readme-block::"
    script = "".join(f"echo {marker}\n{block}" for block in blocks)
    applicant_password = f"Ouyang#Ming-{secrets.token_hex(3)}"  # invented, new each run
    answers = [
        applicant_password,
        applicant_password,  # register: the password, and again
        "admin_hospital",
        make_run.admin_password("admin_hospital"),
        "sysadmin",  # the operator whose codec encrypts the forged decision
        make_run.admin_password("sysadmin"),
        "sysadmin",  # the operator who decodes payloads in the UI and the CLI
        make_run.admin_password("sysadmin"),
        applicant_password,  # register --print-request: the password, and again
        applicant_password,
        "ouyangmingyue1988",
        applicant_password,
        "admin_hospital",
        make_run.admin_password("admin_hospital"),
        "sysadmin",
        make_run.admin_password("sysadmin"),
    ]
    forged_before = forged_decisions()
    stdout = make_run.shell(script, answers, timeout=600)
    outputs = stdout.split(f"{marker}\n")[1:]
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
    # The encrypted one was dropped for want of the edge's assertion, and counted.
    assert forged_decisions() == forged_before + 1

    curl = output_of("X-CSRF-Token")
    assert "csrf_token" in curl and '"stage": "completed"' in curl

    decoded = output_of('query -w "$WF" --name status')
    assert "logged in as sysadmin" in decoded and "binary/encrypted" not in decoded
    assert '"stage":"completed"' in decoded  # the status query's answer, decrypted

    raw = output_of("--print-request")  # an operator's start through the codec, then the code
    assert "outcome:accepted" in raw and '"stage":"awaiting_review"' in raw, raw

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
    "python -m bench.run": ("tests/bench/test_bench_run.py", '"-m", "bench.run"'),
    # Started by bench.run (bench/workers.py), whose test checks both sides completed.
    "python -m bench.skeleton": ("tests/bench/test_bench_run.py", 'found["throughput"][side]'),
    "python -m edge": ("tests/bench/test_edge_load.py", '"-m", "bench.edge_load"'),
    "python -m bench.edge_load": ("tests/bench/test_edge_load.py", '"-m", "bench.edge_load"'),
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
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True)
    assert not (tmp_path / "var").exists()


def test_make_histories_re_records_the_replayed_histories(tmp_path: Path) -> None:
    copy_project(tmp_path)
    histories = tmp_path / "tests" / "workflows" / "histories"
    before = {path.name: path.stat().st_mtime for path in histories.glob("*.json")}
    made = subprocess.run(["make", "histories"], cwd=tmp_path, capture_output=True, text=True)
    assert made.returncode == 0, made.stdout[-4000:] + made.stderr[-2000:]
    rewritten = {
        path.name for path in histories.glob("*.json") if path.stat().st_mtime > before[path.name]
    }
    # Every history but the one kept from before the edge's assertions, which no code records now.
    assert rewritten == set(before) - {"before_assertions.json"}
