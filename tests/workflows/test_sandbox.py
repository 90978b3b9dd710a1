"""The worker passes our workflow modules through the sandbox (worker.WORKFLOW_MODULES): their
code then runs unrestricted, so nothing in it may read a clock, draw random numbers or do I/O.
The suite runs them sandboxed (JSHR_STRICT_WORKFLOW_SANDBOX), which catches what the tests
reach; this reads every line, reached or not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from config import ROOT, Settings
from worker import WORKFLOW_MODULES, workflow_runner

# Names whose use in workflow code would differ between a run and its replay.
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "sleep"),
    ("asyncio", "sleep"),
    ("uuid", "uuid1"),
    ("uuid", "uuid4"),
    ("os", "getenv"),
    ("os", "urandom"),
}
FORBIDDEN_MODULES = {"random", "secrets", "socket", "subprocess", "requests", "httpx", "sqlalchemy"}
FORBIDDEN_NAMES = {"open", "print", "input"}


def _modules() -> list[Path]:
    return sorted(path for name in WORKFLOW_MODULES for path in (ROOT / name).rglob("*.py"))


def _findings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found += [f"import {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in FORBIDDEN_CALLS or (
                node.value.id == "os" and node.attr == "environ"
            ):
                found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in FORBIDDEN_NAMES:
                found.append(f"{node.func.id}() (line {node.lineno})")
    return found


def test_the_passed_through_workflow_modules_exist() -> None:
    assert _modules(), WORKFLOW_MODULES


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_workflow_code_reads_no_clock_randomness_or_environment(path: Path) -> None:
    assert _findings(path) == []


def test_the_checker_sees_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import random\nfrom datetime import datetime\nimport os\n"
        "def f():\n    open('x')\n    return datetime.now(), os.environ['A']\n"
    )
    assert len(_findings(bad)) == 4


def test_production_passes_workflow_modules_through_and_tests_do_not() -> None:
    fast = workflow_runner().restrictions.passthrough_modules
    strict = workflow_runner(strict=True).restrictions.passthrough_modules
    assert "workflows" in fast and "workflows" not in strict
    assert Settings().strict_workflow_sandbox, "the suite runs JSHR_STRICT_WORKFLOW_SANDBOX"
