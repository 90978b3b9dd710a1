"""`make bench` (`python -m bench.run`), small: both sides complete every registration they start,
and the report holds what the README says it measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_benchmark_completes_both_sides_and_writes_its_report(tmp_path: Path) -> None:
    output = tmp_path / "latest"
    small = "--total 4 --warmup 1 --rounds 1 --half-load-total 3 --waiting 5 --profile-total 0"
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
    assert 0 < found["history"]["happy_path"]["events"] < 100
    assert found["waiting"]["waiting"] == 5
    report = output.with_suffix(".md").read_text()
    assert "| **throughput** (complete registrations/s) |" in report
