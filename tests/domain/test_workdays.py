"""Tests for domain.workdays. Calendar vectors were read from chinese_calendar 1.11.0 itself."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.workdays import (
    SHANGHAI,
    Overrides,
    WorkdayCalendar,
    load_overrides,
)

D = date.fromisoformat
LOGGER = "domain.workdays"


@pytest.mark.parametrize(
    ("day", "works"),
    [
        # National Day 2026: Oct 1-7 off, Sat Oct 10 (and Sun Sep 20) adjusted working days.
        *[(D(f"2026-10-{d:02}"), False) for d in range(1, 8)],
        (D("2026-10-08"), True),
        (D("2026-10-09"), True),
        (D("2026-10-10"), True),
        (D("2026-10-11"), False),
        (D("2026-09-20"), True),
        # Spring Festival 2026: Sat Feb 14 and Sat Feb 28 worked, Feb 16-23 off.
        (D("2026-02-14"), True),
        (D("2026-02-16"), False),
        (D("2026-02-23"), False),
        (D("2026-02-24"), True),
        (D("2026-02-28"), True),
        # National Day 2025: Sun Sep 28 and Sat Oct 11 worked, Oct 1-8 off.
        (D("2025-09-28"), True),
        (D("2025-10-08"), False),
        (D("2025-10-11"), True),
    ],
)
def test_vectors_agree_with_the_package(day: date, works: bool) -> None:
    # The package is the authority: if it disagrees, the vectors below are wrong, not the code.
    assert chinese_calendar.is_workday(day) is works
    assert WorkdayCalendar().is_workday(day) is works


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # The canonical example: entered review during the working day before National Day.
        (D("2026-09-30"), 1, D("2026-10-08")),
        (D("2026-09-30"), 2, D("2026-10-09")),
        (D("2026-09-30"), 3, D("2026-10-10")),  # a Saturday, adjusted working day
        (D("2026-09-30"), 4, D("2026-10-12")),
        # Spring Festival 2026.
        (D("2026-02-13"), 1, D("2026-02-14")),  # Saturday worked
        (D("2026-02-13"), 2, D("2026-02-24")),
        (D("2026-02-14"), 1, D("2026-02-24")),
        (D("2026-02-27"), 1, D("2026-02-28")),  # Saturday worked
        (D("2026-02-27"), 2, D("2026-03-02")),
        # National Day and Mid-autumn 2025.
        (D("2025-09-26"), 1, D("2025-09-28")),  # Sunday worked
        (D("2025-09-26"), 2, D("2025-09-29")),
        (D("2025-09-30"), 1, D("2025-10-09")),
        (D("2025-09-30"), 3, D("2025-10-11")),  # Saturday worked
        (D("2025-09-30"), 4, D("2025-10-13")),
        # Ordinary weekends: Friday to Monday.
        (D("2026-06-05"), 1, D("2026-06-08")),
        (D("2026-03-13"), 1, D("2026-03-16")),
        (D("2026-03-14"), 1, D("2026-03-16")),
    ],
)
def test_nth_workday_after(start: date, n: int, expected: date) -> None:
    assert WorkdayCalendar().nth_workday_after(start, n) == expected


@pytest.mark.parametrize("n", [0, -1])
def test_n_must_be_positive(n: int) -> None:
    with pytest.raises(ValueError):
        WorkdayCalendar().nth_workday_after(D("2026-01-05"), n)


@pytest.mark.parametrize(
    ("entered", "n", "expected_day"),
    [
        (datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI), 1, D("2026-10-08")),
        (datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI), 3, D("2026-10-10")),
        # 17:30 UTC on Thursday is 01:30 Friday in Shanghai: count from Friday.
        (datetime(2026, 6, 4, 17, 30, tzinfo=UTC), 1, D("2026-06-08")),
        (datetime(2026, 6, 4, 15, 59, tzinfo=UTC), 1, D("2026-06-05")),
    ],
)
def test_workday_instant(entered: datetime, n: int, expected_day: date) -> None:
    instant = WorkdayCalendar().workday_instant(entered, n)
    assert instant.tzinfo is SHANGHAI
    assert instant.utcoffset() == timedelta(hours=8)
    assert (instant.date(), instant.time()) == (expected_day, time(9, 0))
    assert instant.astimezone(UTC) == datetime.combine(expected_day, time(1, 0), UTC)


def test_workday_instant_custom_time_and_naive_rejected() -> None:
    calendar = WorkdayCalendar()
    entered = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert calendar.workday_instant(entered, 1, time(14, 30)).time() == time(14, 30)
    with pytest.raises(ValueError):
        calendar.workday_instant(datetime(2026, 9, 30, 10, 0), 1)


@pytest.mark.parametrize(
    ("year", "known"), [(2003, False), (2004, True), (2026, True), (2027, False)]
)
def test_knows(year: int, known: bool) -> None:
    assert WorkdayCalendar().knows(year) is known


def test_unknown_year_falls_back_to_the_law_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calendar = WorkdayCalendar()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        # 2027-01-01 is a Friday and New Year's Day: a day off by law, though the package is silent.
        assert calendar.nth_workday_after(D("2026-12-31"), 1) == D("2027-01-04")
        assert calendar.nth_workday_after(D("2027-01-01"), 1) == D("2027-01-04")
        # Weekends alone would give 02-26; the Spring Festival closes 02-05 and 02-08..02-10.
        assert calendar.nth_workday_after(D("2027-01-01"), 40) == D("2027-03-04")
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "2027" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("overrides", "start", "n", "expected"),
    [
        # Hypothetical operator entries; the real 2027 notice is not encoded anywhere here.
        (Overrides(holidays=frozenset({D("2027-01-01")})), D("2026-12-31"), 1, D("2027-01-04")),
        (Overrides(holidays=frozenset({D("2027-03-03")})), D("2027-03-02"), 1, D("2027-03-04")),
        (Overrides(workdays=frozenset({D("2027-01-09")})), D("2027-01-08"), 1, D("2027-01-09")),
        (Overrides(workdays=frozenset({D("2027-01-09")})), D("2027-01-08"), 2, D("2027-01-11")),
        # Overrides also win inside covered years.
        (Overrides(holidays=frozenset({D("2026-06-08")})), D("2026-06-05"), 1, D("2026-06-09")),
    ],
)
def test_overrides(overrides: Overrides, start: date, n: int, expected: date) -> None:
    assert WorkdayCalendar(overrides).nth_workday_after(start, n) == expected


def test_overrides_json_round_trip() -> None:
    overrides = Overrides(
        holidays=frozenset({D("2027-01-01"), D("2027-02-08")}),
        workdays=frozenset({D("2027-02-06")}),
    )
    assert Overrides.from_json(overrides.model_dump_json()) == overrides
    text = '{"holidays": ["2027-01-01", "2027-02-08"], "workdays": ["2027-02-06"]}'
    assert Overrides.from_json(text) == overrides
    assert Overrides.from_json("{}") == Overrides()


@pytest.mark.parametrize(
    "text",
    [
        '{"holiday": ["2027-01-01"]}',
        '{"holidays": ["2027-13-01"]}',
        '{"holidays": ["2027-01-02"], "workdays": ["2027-01-02"]}',
    ],
)
def test_overrides_json_rejects_mistakes(text: str) -> None:
    with pytest.raises(ValueError):
        Overrides.from_json(text)


def test_load_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path / "missing.json") == Overrides()
    path = tmp_path / "overrides.json"
    path.write_text('{"workdays": ["2027-02-06"]}', encoding="utf-8")
    assert load_overrides(path) == Overrides(workdays=frozenset({D("2027-02-06")}))


def test_shipped_overrides_file_is_valid_and_empty() -> None:
    path = Path(__file__).resolve().parents[2] / "domain" / "workday_overrides.json"
    assert load_overrides(path) == Overrides()


@given(
    st.dates(min_value=date(2004, 1, 1), max_value=date(2028, 12, 31)),
    st.integers(min_value=1, max_value=10),
)
def test_nth_workday_after_property(start: date, n: int) -> None:
    calendar = WorkdayCalendar()
    result = calendar.nth_workday_after(start, n)
    assert result > start
    assert calendar.is_workday(result)
    between = (start + timedelta(days=i) for i in range(1, (result - start).days))
    assert sum(calendar.is_workday(d) for d in between) == n - 1


@given(
    st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 11, 30)),
    st.integers(min_value=1, max_value=10),
)
def test_matches_package_find_workday(start: date, n: int) -> None:
    # An independent oracle: find_workday(k, d) is the (k+1)th working day on or after d.
    expected = chinese_calendar.find_workday(n - 1, start + timedelta(days=1))
    assert WorkdayCalendar().nth_workday_after(start, n) == expected
