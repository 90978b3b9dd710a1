"""The real worker, with one fault injected: it stops dead at a chosen activity so that a test
can `kill -9` it there. Run as `python -m tests.e2e.fault_worker <activity> <before|after> <dir>`.

"before": the activity never starts; "after": it ran (its transaction committed) but its result
never reaches the server. The worker writes `<dir>/reached` when it gets there.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from config import Settings
from plumbing.connect import connect
from store.db import make_engine, make_sessions
from worker import build_worker


class _Hold(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, spec: tuple[str, str, Path]) -> None:
        super().__init__(next)
        self._activity, self._when, self._marker = spec

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        held = input.fn.__name__ == self._activity
        if held and self._when == "before":
            await self._stop_here()
        result = await self.next.execute_activity(input)
        if held and self._when == "after":
            await self._stop_here()
        return result

    async def _stop_here(self) -> None:
        self._marker.write_text("reached")
        await asyncio.Event().wait()  # until the test kills the process


class HoldAt(Interceptor):
    def __init__(self, activity: str, when: str, directory: Path) -> None:
        self._spec = (activity, when, directory / "reached")

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Hold(next, self._spec)


async def main(activity: str, when: str, directory: str) -> None:
    settings = Settings()
    worker = build_worker(
        await connect(settings),
        settings,
        make_sessions(make_engine(settings.database_url, settings.data_key)),
        interceptors=[HoldAt(activity, when, Path(directory))],
    )
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
