"""Chinese working days: statutory holidays close weekdays, adjusted weekends (调休) open them.

Each day is answered by the first of these that has something to say:

1. **Overrides** in ``domain/workday_overrides.json``, kept by an operator::

       {"holidays": ["2027-01-01"], "workdays": ["2027-02-20"]}

   ``holidays`` lists days off (normally weekdays); ``workdays`` lists working days (normally
   weekend days). Dates are ISO ``YYYY-MM-DD``; both keys are optional, other keys are rejected.
   Overrides win over everything below, so they can also correct the package.
2. **The package** ``chinese_calendar``, for the years it knows (2004-2026 in 1.11.0): the
   State Council's annual notice, 调休 included.
3. **The law**, for years after the package's: the days off fixed by the State Council's
   《全国年节及纪念日放假办法》 as amended in 2024 (in force since 2025), computed with
   ``lunar_python`` (see :func:`law_days_off`). New Year's Day (1-1), the Spring Festival
   (lunar new year's eve and lunar 1-1..1-3), Qingming (the day of the 清明 solar term),
   Labour Day (5-1, 5-2), the Dragon Boat Festival (lunar 5-5), the Mid-Autumn Festival
   (lunar 8-15) and National Day (10-1..10-3), plus a day in lieu for each of these dates that
   falls on a weekend (the exact rule, and what a date shared by two holidays gets:
   :func:`days_in_lieu`). The law's days are computed from the law alone; overrides then win
   day by day. The notice published each autumn adds adjusted working weekends and bridge
   days, which the law cannot predict: until the package is upgraded, an operator records
   them as overrides. A year answered by the law that has no override yet logs a warning, once.
4. **Monday-Friday**, for years neither the package nor the law covers (before 2004), with a
   warning, once per year.

Everything here except :func:`load_overrides` is pure and deterministic (no clock, no I/O), so
workflows could use it; in fact only activities compute deadlines, so that a calendar change
never changes a replay.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import Holiday
from lunar_python import Lunar, Solar
from pydantic import BaseModel, ConfigDict, model_validator

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The package's own coverage test (see chinese_calendar.utils._validate_date), read once.
_KNOWN_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
# 《全国年节及纪念日放假办法》 as amended in 2024 applies from 2025; earlier years had other days.
LAW_SINCE = 2025
_LAW_YEARS = range(LAW_SINCE, date.max.year + 1)


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

    def has_year(self, year: int) -> bool:
        """Return True if any override, day off or working day, falls in ``year``."""
        return any(day.year == year for day in self.holidays | self.workdays)

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


# --- the law ----------------------------------------------------------------------------------

_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that is the locale's


def holiday_name(holiday: Holiday) -> str:
    """English and Chinese, e.g. ``National Day 国庆节``."""
    return f"{holiday.value} {holiday.chinese}"


def _is_weekend(day: date) -> bool:
    return day.weekday() >= 5


def _solar_day(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _solar(lunar: Lunar) -> date:
    return _solar_day(lunar.getSolar())


@cache
def statutory_holidays(year: int) -> Mapping[date, tuple[Holiday, ...]]:
    """The holiday dates the law fixes for ``year``, each with the holiday(s) falling on it.

    Lunar dates and the 清明 solar term come from ``lunar_python`` (China's time zone). The
    Spring Festival is the lunar new year's eve (the day before lunar 1-1, whether the last
    month has 29 or 30 days) and lunar 1-1..1-3. Two holidays can share a date (in 2028 the
    Mid-Autumn Festival is 10-03, National Day's third day): that date is listed once, with
    both holidays. Days in lieu are not included (see :func:`law_days_off`).

    Raises:
        ValueError: If ``year`` is before :data:`LAW_SINCE`, when other days applied.
    """
    if year not in _LAW_YEARS:
        raise ValueError(f"the amended holiday law applies from {LAW_SINCE} on, not to {year}")
    new_year = Lunar.fromYmd(year, 1, 1)
    qingming = new_year.getJieQiTable()["清明"]  # a Solar: the term's instant in China
    lunar_new_year = _solar(new_year)
    days: dict[date, list[Holiday]] = {}
    fixed = [
        (date(year, 1, 1), Holiday.new_years_day),
        *((lunar_new_year + timedelta(days=i), Holiday.spring_festival) for i in range(-1, 3)),
        (_solar_day(qingming), Holiday.tomb_sweeping_day),
        (date(year, 5, 1), Holiday.labour_day),
        (date(year, 5, 2), Holiday.labour_day),
        # Month 5 and 8 are the ordinary months; a leap month of the same number is -5 or -8.
        (_solar(Lunar.fromYmd(year, 5, 5)), Holiday.dragon_boat_festival),
        (_solar(Lunar.fromYmd(year, 8, 15)), Holiday.mid_autumn_festival),
        *((date(year, 10, d), Holiday.national_day) for d in (1, 2, 3)),
    ]
    for day, holiday in fixed:
        days.setdefault(day, []).append(holiday)
    return MappingProxyType({day: tuple(days[day]) for day in sorted(days)})


def days_in_lieu(holidays: Iterable[date]) -> dict[date, date]:
    """Days off in lieu of holidays that fall on a weekend, each mapped to the holiday's date.

    The rule implemented: take the distinct holiday dates in order; for each one on a Saturday
    or Sunday, the first later day that is a Monday-Friday, not itself a holiday and not already
    a day in lieu becomes a day off. So a holiday on Saturday and one on Sunday give two days in
    lieu (e.g. Monday and Tuesday, or later if those are holidays). A date counts once however
    many holidays fall on it: two holidays sharing a date are one day off and earn no day in
    lieu, since the law makes up for a holiday lost to a weekend, not for one holiday lost to
    another. (The annual notice may grant more; an operator then records it as an override.)
    """
    off = frozenset(holidays)
    in_lieu: dict[date, date] = {}
    for day in sorted(off):
        if not _is_weekend(day):
            continue
        candidate = day + timedelta(days=1)
        while _is_weekend(candidate) or candidate in off or candidate in in_lieu:
            candidate += timedelta(days=1)
        in_lieu[candidate] = day
    return in_lieu


@dataclass(frozen=True)
class LawDayOff:
    """A day off by law: a holiday's own date, or a day in lieu of one (``in_lieu_of``)."""

    holidays: tuple[Holiday, ...]
    in_lieu_of: date | None = None

    def describe(self) -> str:
        names = ", ".join(map(holiday_name, self.holidays))
        if self.in_lieu_of is None:
            return names
        weekday = _WEEKDAY_NAMES[self.in_lieu_of.weekday()]
        return f"day in lieu (补休) of {names} on {weekday} {self.in_lieu_of.isoformat()}"


@cache
def law_days_off(year: int) -> Mapping[date, LawDayOff]:
    """Every day off the law gives in ``year``: :func:`statutory_holidays` and their
    :func:`days_in_lieu`, in date order. Adjusted working days (调休) are not the law's.

    Raises:
        ValueError: If ``year`` is before :data:`LAW_SINCE`.
    """
    holidays = statutory_holidays(year)
    days = {day: LawDayOff(names) for day, names in holidays.items()}
    for day, replaced in days_in_lieu(holidays).items():
        days[day] = LawDayOff(holidays[replaced], in_lieu_of=replaced)
    return MappingProxyType({day: days[day] for day in sorted(days)})


# --- the calendar -----------------------------------------------------------------------------


class Source(StrEnum):
    """Which rule answered for a day, in the order they are asked."""

    OVERRIDE = "override"
    PACKAGE = "package"
    LAW = "law"
    WEEKDAY = "weekday"
    WEEKEND = "weekend"


@dataclass(frozen=True)
class DayStatus:
    """One day's answer: whether people work, which rule said so, and why (may be empty)."""

    day: date
    works: bool
    source: Source
    reason: str = ""

    @property
    def weekday_name(self) -> str:
        return _WEEKDAY_NAMES[self.day.weekday()]

    @property
    def is_day_off(self) -> bool:
        """A day off other than an ordinary weekend: a weekday off, or a named holiday."""
        return not self.works and (not _is_weekend(self.day) or bool(self.reason))

    @property
    def is_adjusted_workday(self) -> bool:
        """A Saturday or Sunday worked (调休)."""
        return self.works and _is_weekend(self.day)


@dataclass(frozen=True)
class YearCalendar:
    """Every day of a year with its status and source, and what the year's answers rest on."""

    year: int
    known_to_package: bool
    by_law: bool
    has_overrides: bool
    days: tuple[DayStatus, ...]

    @property
    def missing_adjustments(self) -> bool:
        """True if the year's 调休 are certainly missing: no package data and no overrides."""
        return not self.known_to_package and not self.has_overrides

    @property
    def days_off(self) -> list[DayStatus]:
        return [status for status in self.days if status.is_day_off]

    @property
    def adjusted_workdays(self) -> list[DayStatus]:
        return [status for status in self.days if status.is_adjusted_workday]


class WorkdayCalendar:
    """Decides working days: overrides, then ``chinese_calendar``, then the law, then Mon-Fri."""

    def __init__(self, overrides: Overrides = NO_OVERRIDES) -> None:
        self._overrides = overrides
        self._warned: set[int] = set()

    def knows(self, year: int) -> bool:
        """Return True if ``chinese_calendar`` has holiday data for ``year``."""
        return year in _KNOWN_YEARS

    def by_law(self, year: int) -> bool:
        """Return True if ``year``'s days off come from the law (the package does not know it)."""
        return not self.knows(year) and year in _LAW_YEARS

    def explain(self, day: date) -> DayStatus:
        """Return whether ``day`` is a working day, which rule says so, and why. Logs nothing."""
        if day in self._overrides.holidays:
            return DayStatus(day, False, Source.OVERRIDE, "day off by override")
        if day in self._overrides.workdays:
            return DayStatus(day, True, Source.OVERRIDE, "working day by override")
        if self.knows(day.year):
            works = chinese_calendar.is_workday(day)
            # The package's tables map a date to its Holiday's value (the English name).
            value = (chinese_calendar.workdays if works else chinese_calendar.holidays).get(day)
            reason = holiday_name(Holiday(value)) if value else ""
            if works and value:
                reason = f"adjusted working day (调休) for {reason}"
            return DayStatus(day, works, Source.PACKAGE, reason)
        if self.by_law(day.year) and (law := law_days_off(day.year).get(day)):
            return DayStatus(day, False, Source.LAW, law.describe())
        if _is_weekend(day):
            return DayStatus(day, False, Source.WEEKEND)
        return DayStatus(day, True, Source.WEEKDAY)

    def explain_year(self, year: int) -> YearCalendar:
        """Return every day of ``year`` explained, and whether the year has overrides yet."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        return YearCalendar(
            year=year,
            known_to_package=self.knows(year),
            by_law=self.by_law(year),
            has_overrides=self._overrides.has_year(year),
            days=tuple(self.explain(day) for day in days),
        )

    def is_workday(self, day: date) -> bool:
        """Return True if ``day`` is a working day in mainland China.

        Never raises for an uncovered year: a reminder a day early beats a crashed workflow.
        """
        status = self.explain(day)
        if status.source is not Source.OVERRIDE and not self.knows(day.year):
            self._warn_once(day.year)
        return status.works

    def _warn_once(self, year: int) -> None:
        if year in self._warned:
            return
        self._warned.add(year)
        if not self.by_law(year):
            logger.warning(
                "chinese_calendar has no data for %d and the holiday law used here applies from "
                "%d; assuming Monday-Friday plus overrides",
                year,
                LAW_SINCE,
            )
        elif self._overrides.has_year(year):
            logger.info(
                "chinese_calendar has no data for %d; using the statutory days off and the "
                "overrides recorded for %d",
                year,
                year,
            )
        else:
            logger.warning(
                "chinese_calendar has no data for %d; using the statutory days off by law, but "
                "no overrides for %d yet: the annual notice's adjusted working days (调休) and "
                "bridge days are missing",
                year,
                year,
            )

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

    def workdays_between(self, start: date, end: date) -> int:
        """Return how many working days lie after ``start``, up to and including ``end``
        (0 when ``end`` is not after ``start``): "还剩 N 个工作日" from today to a deadline."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count

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
