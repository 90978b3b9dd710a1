"""Where the worker processes spend their CPU: per thread group over a pass (from
/proc/PID/task, cheap, always on), and for the event-loop thread a deterministic profile on its CPU
clock (`bench.profiled_worker`, a separate, untimed pass: cProfile slows what it watches)."""

from __future__ import annotations

import pstats
import sysconfig
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.machine import CLOCK_TICKS, cpu_seconds

STDLIB = sysconfig.get_paths()["stdlib"]
ASYNCIO = (f"{STDLIB}/asyncio/", f"{STDLIB}/selectors.py")

# By the file a function lives in; the first fragment found wins.
COMPONENTS = (
    ("/PIL/", "photo checks (Pillow)"),
    ("/domain/photos.py", "photo checks (Pillow)"),
    ("/sqlalchemy/", "database (SQLAlchemy, aiosqlite)"),
    ("/aiosqlite/", "database (SQLAlchemy, aiosqlite)"),
    ("/pydantic", "pydantic contracts"),
    ("/cryptography/", "encryption (payload codec, data key)"),
    ("/starter/codec.py", "encryption (payload codec, data key)"),
    ("/store/crypto.py", "encryption (payload codec, data key)"),
    ("/google/protobuf/", "Temporal SDK, Python side"),
    ("/temporalio/", "Temporal SDK, Python side"),
    ("/phonenumbers/", "phonenumbers, e-mail validation"),
    ("/email_validator/", "phonenumbers, e-mail validation"),
    ("/bench/", "the skeleton's own code"),
    ("/activities/", "activities' own code, domain rules"),
    ("/store/", "activities' own code, domain rules"),
    ("/domain/", "activities' own code, domain rules"),
    ("/workflows/", "activities' own code, domain rules"),
    ("/starter/", "activities' own code, domain rules"),
    ("/site-packages/", "other libraries"),
)


def _task_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Thread ID → (its name, CPU seconds) of every thread of process `pid` now."""
    cpu = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return {}
    for task in tasks:
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[int(task.name)] = (comm, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return cpu


def _thread_group(pid: int, tid: int, comm: str) -> str:
    """By what /proc tells: the main thread is the event loop; the Temporal core's Rust threads
    are Tokio's; the SDK's workflow activations and aiosqlite's connections are Python threads,
    which Python 3.11 leaves unnamed, so they share one group."""
    if tid == pid:
        return "main thread (event loop: activities, codec, SDK's Python side)"
    if comm.startswith("tokio"):
        return "Temporal core (Rust: gRPC, state machines)"
    if comm.startswith("python"):
        return "other Python threads (workflow activations, SQLite)"
    return f"other threads ({comm})"


class ThreadCpu:
    """CPU seconds per thread group of the processes `pids` between `start` and `stop`."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids

    def start(self) -> None:
        self._before = {pid: _task_cpu(pid) for pid in self._pids}
        self._process = sum(cpu_seconds(pid) for pid in self._pids)

    def stop(self) -> dict[str, float]:
        groups: defaultdict[str, float] = defaultdict(float)
        for pid in self._pids:
            before = self._before[pid]
            for tid, (comm, seconds) in _task_cpu(pid).items():
                previous = before.get(tid, (comm, 0.0))[1]
                groups[_thread_group(pid, tid, comm)] += seconds - previous
        total = sum(cpu_seconds(pid) for pid in self._pids) - self._process
        # Threads that ended during the pass took their counters with them.
        groups["threads that ended"] += max(0.0, total - sum(groups.values()))
        heaviest_first = sorted(groups.items(), key=lambda item: -item[1])
        return {group: round(seconds, 2) for group, seconds in heaviest_first}


def _component(filename: str) -> str:
    if filename.startswith(ASYNCIO):
        return "asyncio event loop"
    for fragment, name in COMPONENTS:
        if fragment in filename:
            return name
    return "standard library"


def _charged_to_caller(filename: str) -> bool:
    """C functions and standard-library helpers count for whoever called them."""
    return filename == "~" or (filename.startswith(STDLIB) and not filename.startswith(ASYNCIO))


def attribute(dumps: list[Path], registrations: int) -> dict[str, Any]:
    """CPU ms per registration by component and the heaviest functions, from the pstats dumps
    of the profiled worker processes (`bench.profiled_worker`)."""
    stats = pstats.Stats(*map(str, dumps)).stats  # type: ignore[attr-defined]  # not in typeshed
    components: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for (filename, _line, name), (_cc, _nc, own, _cum, callers) in stats.items():
        charged = [(caller, edge[2]) for caller, edge in callers.items() if edge[2] > 0]
        if not (_charged_to_caller(filename) and charged):
            charged = [((filename, 0, name), own)]
        paid = sum(weight for _, weight in charged) or 1.0
        for (payer_file, _, payer_name), weight in charged:
            share = own * weight / paid
            components[_component(payer_file)] += share
            label = f"{'/'.join(payer_file.split('/')[-2:])}:{payer_name}"
            functions[label if payer_name == name else f"{label} → {name}"] += share
    per = max(registrations, 1) / 1000
    return {
        "registrations": registrations,
        "cpu_ms_per_registration": round(sum(components.values()) / per, 1),
        "by_component_ms": {k: round(v / per, 1) for k, v in components.most_common()},
        "top_functions_ms": {k: round(v / per, 1) for k, v in functions.most_common(15)},
    }


def photo_check_ms(rounds: int = 10) -> float:
    """CPU time of the photo checks one verification runs (both sides, then the pair)."""
    from domain.photos import PhotoLimits, check_pair, clean_photo
    from testkit import sample_documents

    front, back = sample_documents().values()
    began = time.thread_time()
    for _ in range(rounds):
        check_pair(
            clean_photo(front, field="id_card_front", limits=PhotoLimits()),
            clean_photo(back, field="id_card_back", limits=PhotoLimits()),
        )
    return round((time.thread_time() - began) / rounds * 1000, 1)
