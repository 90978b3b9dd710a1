"""Chinese working days: statutory holidays close weekdays, adjusted weekends (调休) open them.

``chinese_calendar`` is the authority for the years it knows (2004-2026 in 1.11.0). For later
years the State Council notice is published each autumn; until the package is upgraded, an
operator records it in ``domain/workday_overrides.json``::

    {"holidays": ["2027-01-01"], "workdays": ["2027-02-07"]}

``holidays`` lists days off (normally weekdays); ``workdays`` lists working days (normally
weekend days). Dates are ISO ``YYYY-MM-DD``; both keys are optional, other keys are rejected.
Overrides win over the package, so they can also correct it. Everything here except
:func:`load_overrides` is pure, so workflows can use it; only activities load the file.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
from pydantic import BaseModel, ConfigDict, model_validator

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The package's own coverage test (see chinese_calendar.utils._validate_date), read once.
_KNOWN_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


class Overrides(BaseModel):
    """Operator-maintained exceptions to the calendar.

    Attributes:
        holidays: Days off, typically weekdays closed by a statutory holiday.
        workdays: Working days, typically weekend days opened by an adjustment (调休).
    """

    # Extra keys are forbidden so a typo such as "holiday" fails loudly instead of being ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @model_validator(mode="after")
    def _disjoint(self) -> Overrides:
        if clash := self.holidays & self.workdays:
            raise ValueError(f"dates both holiday and workday: {sorted(map(str, clash))}")
        return self

    @classmethod
    def from_json(cls, text: str) -> Overrides:
        """Parse ``{"holidays": [...], "workdays": [...]}`` with ISO dates."""
        return cls.model_validate_json(text)


NO_OVERRIDES = Overrides()


def load_overrides(path: Path) -> Overrides:
    """Read overrides from ``path``; a missing file means no overrides. Activities only (I/O)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return NO_OVERRIDES
    return Overrides.from_json(text)


class WorkdayCalendar:
    """Decides working days: overrides, then ``chinese_calendar``, then Monday-Friday."""

    def __init__(self, overrides: Overrides = NO_OVERRIDES) -> None:
        self._overrides = overrides
        self._warned: set[int] = set()

    def knows(self, year: int) -> bool:
        """Return True if ``chinese_calendar`` has holiday data for ``year``."""
        return year in _KNOWN_YEARS

    def is_workday(self, day: date) -> bool:
        """Return True if ``day`` is a working day in mainland China.

        Never raises for an uncovered year: a reminder a day early beats a crashed workflow.
        """
        if day in self._overrides.holidays:
            return False
        if day in self._overrides.workdays:
            return True
        if self.knows(day.year):
            return chinese_calendar.is_workday(day)
        if day.year not in self._warned:
            self._warned.add(day.year)
            logger.warning(
                "chinese_calendar has no data for %d; assuming Monday-Friday plus overrides",
                day.year,
            )
        return day.weekday() < 5

    def nth_workday_after(self, day: date, n: int) -> date:
        """Return the ``n``-th working day strictly after ``day``.

        Raises:
            ValueError: If ``n`` is less than 1.
        """
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        while n:
            day += timedelta(days=1)
            n -= self.is_workday(day)
        return day

    def workday_instant(self, entered: datetime, n: int, at: time = time(9, 0)) -> datetime:
        """Return ``at`` (Asia/Shanghai) on the ``n``-th working day after ``entered``.

        The count starts from the Shanghai calendar date of ``entered``, not its UTC date.

        Raises:
            ValueError: If ``entered`` is naive or ``n`` is less than 1.
        """
        # A naive datetime would be read in the host's local zone: an environment dependency.
        if entered.tzinfo is None or entered.utcoffset() is None:
            raise ValueError("entered must be timezone-aware")
        start = entered.astimezone(SHANGHAI).date()
        return datetime.combine(self.nth_workday_after(start, n), at, SHANGHAI)
