"""`python -m bench.inbox`, the README's command, on a few waiting registrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.inbox import main, parse_args


async def test_the_inbox_benchmark_times_every_page_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite's own payload keys, not a fresh pair in the environment of every later test.
    monkeypatch.setattr("bench.inbox.use_run_keys", lambda: None)
    results = tmp_path / "inbox.json"
    args = parse_args(
        ["--waiting", "45", "--repeat", "1", "--port", "7851", "--results", str(results)]
    )
    found = await main(args)
    assert found == json.loads(results.read_text())
    assert found["visible"] == 45 and found["inbox_total"] == 45
    assert found["first_page"]["rows_shown"] == 20 and found["last_page"]["rows_shown"] == 5
    assert 0 < found["overdue_first_page"]["rows_shown"] <= 20
