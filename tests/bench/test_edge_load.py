"""`python -m bench.edge_load`, small: every applicant gets an account through the edge while a
staff session browses and approves, without an error, and the report has its figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.edge_load import TARGET_KINDS


def test_the_edge_load_completes_every_flow_without_an_error(tmp_path: Path) -> None:
    output = tmp_path / "edge_load"
    ran = subprocess.run(
        [sys.executable, "-m", "bench.edge_load", "--applicants", "4", "--staff", "1"]
        + ["--deadline", "120", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    found = json.loads(output.with_suffix(".json").read_text())
    assert found["flows"] == {"registered": 4, "submitted": 4, "completed": 4, "failures": {}}
    assert found["decisions"] == 4 and found["staff_failures"] == []
    assert found["errors"] == 0, found["requests"]
    requests = found["requests"]
    for kind in ("csrf", "register", "phone_code", "status", "login", "inbox_page", "decision"):
        assert requests[kind]["count"] >= 1, kind
        assert 0 < requests[kind]["p50_ms"] <= requests[kind]["p99_ms"] <= requests[kind]["max_ms"]
    assert requests["register"]["count"] == requests["decision"]["count"] == 4
    assert set(found["targets"]) <= set(TARGET_KINDS) and "decision" in found["targets"]
    assert found["cpu_s"]["edge"] > 0 and found["cpu_s"]["worker"] > 0
    assert found["edge_side"]["POST /api/v1/review/{workflow_id}/decision"]["n"] == 4
    assert found["worker_time"]["authorize_decision"]["running"]["n"] == 4
    assert "workflow_ids" not in found
    assert "| decision (target p99 < 300) | 4 | 0 |" in output.with_suffix(".md").read_text()
