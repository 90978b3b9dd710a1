"""The worker's concurrency comes from the settings, with the default the benchmark measured."""

from __future__ import annotations

import pytest

from config import Settings
from worker import build_worker

pytestmark = pytest.mark.asyncio


async def test_concurrent_activities_are_a_setting(time_env, app, monkeypatch) -> None:
    worker = build_worker(time_env.client, app.settings, app.sessions)
    assert worker.config()["max_concurrent_activities"] == 8
    monkeypatch.setenv("JSHR_WORKER_MAX_CONCURRENT_ACTIVITIES", "3")
    worker = build_worker(time_env.client, Settings(), app.sessions)
    assert worker.config()["max_concurrent_activities"] == 3
