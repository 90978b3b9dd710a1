"""A worker process under cProfile, for the bench's untimed profile pass:

    python -m bench.profiled_worker OUT.pstats worker
    python -m bench.profiled_worker OUT.pstats skeleton NOTICES.db

It runs `worker.main` (or the skeleton's `serve`) as its own entry point would. The profile, on
the main thread's CPU clock (the event loop: activities, payload codec, the SDK's Python side;
idle costs nothing), starts on SIGUSR2, once the driver has warmed the worker up, so that start-up
(imports, the sandbox's validation of workflows) is left out; SIGTERM stops the worker as usual and
the profile is dumped to OUT.pstats as it exits.
"""

from __future__ import annotations

import asyncio
import cProfile
import signal
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from types import FrameType
from typing import Any


def _target(name: str, rest: list[str]) -> Coroutine[Any, Any, None]:
    if name == "worker":
        import worker

        return worker.main()
    if name == "skeleton":
        from bench.skeleton import parse_args, serve

        return serve(parse_args(rest).notices)
    raise SystemExit(f"unknown target {name!r}: worker or skeleton")


def main() -> None:
    out, name, *rest = sys.argv[1:]
    profile = cProfile.Profile(time.thread_time)

    def start(signum: int, frame: FrameType | None) -> None:
        profile.enable()

    signal.signal(signal.SIGUSR2, start)
    try:
        asyncio.run(_target(name, rest))
    finally:
        profile.disable()
        profile.dump_stats(Path(out))


if __name__ == "__main__":
    main()
