"""What the edge counts: every refusal by code (no personal data in any label), for Prometheus
at /metrics and, one line each, in the log."""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger("edge.refusals")

_REFUSALS: Counter[str] = Counter()


def refused(code: str) -> None:
    _REFUSALS[code] += 1
    log.info("refused code=%s", code)


def refusal_count(code: str) -> int:
    return _REFUSALS[code]


def exposition() -> str:
    """The Prometheus text format of the counters."""
    lines = [
        "# HELP jshr_edge_refusals_total Requests the edge refused, by refusal code.",
        "# TYPE jshr_edge_refusals_total counter",
    ]
    lines += [
        f'jshr_edge_refusals_total{{code="{code}"}} {count}'
        for code, count in sorted(_REFUSALS.items())
    ]
    return "\n".join(lines) + "\n"
