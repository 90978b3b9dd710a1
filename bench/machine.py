"""What the machine looked like while the benchmark ran, read from /proc (Linux)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import ROOT

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def status_kib(field: str, pid: int | str = "self") -> int:
    """A `VmRSS:`-style line of /proc/<pid>/status, in KiB (0 if the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def rss_mib(pid: int | str = "self") -> float:
    return round(status_kib("VmRSS", pid) / 1024, 1)


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def find_dev_server(port: str) -> int | None:
    """The pid of the `temporal server start-dev` listening on `port` (ours, not another's)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "start-dev" in argv and any(
            arg == "--port" and i + 1 < len(argv) and argv[i + 1] == port
            for i, arg in enumerate(argv)
        ):
            return int(entry.name)
    return None


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _command(*argv: str) -> str:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=10, cwd=ROOT, check=False
        ).stdout.strip()
    except OSError:
        return ""


def describe() -> dict[str, Any]:
    """The machine, the software and the code under test (read-only git commands)."""
    import temporalio

    temporal_cli = _command(str(Path(sys.executable).parent / "temporal"), "--version")
    return {
        "date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": temporal_cli.splitlines()[0] if temporal_cli else "",
        "git_commit": _command("git", "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(
            _command("git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
        ),
    }
