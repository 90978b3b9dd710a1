"""`make bench` (`python -m bench.run`), small: both sides complete every registration they start
in worker processes of their own, and the report holds what the README says it measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_benchmark_completes_both_sides_and_writes_its_report(tmp_path: Path) -> None:
    output = tmp_path / "latest"
    small = (
        "--total 4 --warmup 1 --rounds 1 --half-load-total 3 --waiting 5 --edge-repeat 2"
        " --profile-total 2 --reminders 3 --edge-applicants 3 --edge-staff 1"
    )
    ran = subprocess.run(
        [sys.executable, "-m", "bench.run", *small.split(), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    found = json.loads(output.with_suffix(".json").read_text())
    for side in ("ours", "skeleton"):
        measured = found["throughput"][side]
        assert measured["completed"] == measured["registrations"] == 4, measured
        assert measured["errors"] == 0 and measured["throughput_per_s"] > 0
        # Each part is metered as its own process: the workers, the dev server, the driver.
        cpu = measured["cpu_ms_per_registration"]
        assert cpu["worker_processes"] > 0 and cpu["dev_server"] > 0 and cpu["driver"] > 0, cpu
        profile = measured["event_loop_profile"]
        assert profile["registrations"] == 2 and profile["by_component_ms"], profile
    assert 0 < found["history"]["happy_path"]["events"] <= 70
    # Through the edge: every applicant registered over HTTP and was approved by the staff.
    edge = found["edge_load"]
    assert edge["completed"] == edge["applicants"] == 3 and edge["errors"] == 0, edge
    assert edge["decision"]["n"] >= 3 and edge["inbox"]["n"] > 0, edge
    waiting = found["waiting"]
    assert waiting["waiting"] == 5 and waiting["new_application_notice"]["exactly_once"]
    assert waiting["rss_after_mib"] > 0
    # The first inbox page came through the edge process, with every waiting registration.
    assert waiting["edge"]["api_first_page"]["rows"] == waiting["edge"]["api_first_page"]["total"]
    assert waiting["edge"]["api_first_page"]["total"] == 5
    # On the time-skipping server, after a kill and restart of the worker: once each.
    reminder = found["first_reminder"]
    assert reminder["moved_on"] == reminder["waiting"] == 3, reminder
    assert reminder["first_reminder"]["exactly_once"], reminder
    report = output.with_suffix(".md").read_text()
    assert "| **throughput** (complete registrations/s) |" in report
    assert "| **CPU per registration: worker process(es)** (ms) |" in report
    assert "worker CPU per registration ours/skeleton <= 1.3" in report
