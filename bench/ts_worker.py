"""`worker.py` on the Java time-skipping test server, for the bench's first-reminder pass:

    python -m bench.ts_worker    (settings from JSHR_* variables, as worker.py's)

That server does not implement Schedules, so the daily purge's Schedule is not created; all else
is `worker.main` as it is.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client

import worker
from config import Settings


async def _no_schedule(client: Client, settings: Settings) -> None:
    """CreateSchedule is unimplemented on the test server; the purge plays no part here."""


def main() -> None:
    worker.ensure_purge_schedule = _no_schedule  # type: ignore[attr-defined]
    asyncio.run(worker.main())


if __name__ == "__main__":
    main()
