"""Working days by law for years chinese_calendar does not know (2027 on, in 1.11.0).

Festival dates pinned here are the published ones (2027 Spring Festival 02-06, 2028 Mid-Autumn
10-03, ...); the days in lieu follow the rule in domain.workdays.days_in_lieu. Override files
are invented for the tests.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from chinese_calendar import Holiday
from lunar_python import Solar
from typer.testing import CliRunner

from domain.reminders import DEFAULT_POLICY, place_reminders
from domain.workdays import (
    LAW_SINCE,
    SHANGHAI,
    Overrides,
    Source,
    WorkdayCalendar,
    days_in_lieu,
    law_days_off,
    statutory_holidays,
)
from starter.cli import app

D = date.fromisoformat
LOGGER = "domain.workdays"


def dates(*texts: str) -> set[date]:
    return {D(text) for text in texts}


def span(first: str, last: str) -> set[date]:
    start, end = D(first), D(last)
    return {start + timedelta(days=i) for i in range((end - start).days + 1)}


# --- the statutory holidays themselves --------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "holiday", "expected"),
    [
        (2027, Holiday.new_years_day, dates("2027-01-01")),
        # Eve 02-05 (lunar 12-29: that month has 29 days), then lunar 1-1..1-3.
        (2027, Holiday.spring_festival, span("2027-02-05", "2027-02-08")),
        (2027, Holiday.tomb_sweeping_day, dates("2027-04-05")),
        (2027, Holiday.labour_day, dates("2027-05-01", "2027-05-02")),
        (2027, Holiday.dragon_boat_festival, dates("2027-06-09")),
        (2027, Holiday.mid_autumn_festival, dates("2027-09-15")),
        (2027, Holiday.national_day, span("2027-10-01", "2027-10-03")),
        (2028, Holiday.spring_festival, span("2028-01-25", "2028-01-28")),
        (2028, Holiday.tomb_sweeping_day, dates("2028-04-04")),
        # 2028 has a leap fifth month: the festival is in the ordinary one.
        (2028, Holiday.dragon_boat_festival, dates("2028-05-28")),
        (2028, Holiday.mid_autumn_festival, dates("2028-10-03")),
        # Lunar new year 2030-02-03; the last month of the year before has 30 days.
        (2030, Holiday.spring_festival, span("2030-02-02", "2030-02-05")),
    ],
)
def test_statutory_holiday_dates(year: int, holiday: Holiday, expected: set[date]) -> None:
    found = {day for day, names in statutory_holidays(year).items() if holiday in names}
    assert found == expected


def test_the_eve_is_the_last_day_of_the_twelfth_lunar_month_of_29_or_30_days() -> None:
    for eve, last_day in [(D("2027-02-05"), 29), (D("2030-02-02"), 30)]:
        lunar = Solar.fromYmd(eve.year, eve.month, eve.day).getLunar()
        assert (lunar.getMonth(), lunar.getDay()) == (12, last_day)
        assert Holiday.spring_festival in statutory_holidays(eve.year)[eve]
        assert eve - timedelta(days=1) not in statutory_holidays(eve.year)


def test_two_holidays_on_one_date_are_one_date() -> None:
    holidays = statutory_holidays(2028)
    assert set(holidays[D("2028-10-03")]) == {Holiday.national_day, Holiday.mid_autumn_festival}
    # Thirteen holiday days by law, on twelve dates in 2028, thirteen in 2027.
    assert sum(map(len, holidays.values())) == 13
    assert len(holidays) == 12
    assert len(statutory_holidays(2027)) == 13


@pytest.mark.parametrize("year", range(LAW_SINCE, LAW_SINCE + 120))
def test_every_year_has_the_laws_shape(year: int) -> None:
    holidays = statutory_holidays(year)
    assert all(day.year == year for day in holidays)
    assert sum(map(len, holidays.values())) == 13
    spring = sorted(day for day, names in holidays.items() if Holiday.spring_festival in names)
    assert [(day - spring[0]).days for day in spring] == [0, 1, 2, 3]
    lunar = [Solar.fromYmd(d.year, d.month, d.day).getLunar() for d in spring]
    assert lunar[0].getMonth() == 12
    assert [(x.getMonth(), x.getDay()) for x in lunar[1:]] == [(1, 1), (1, 2), (1, 3)]
    for holiday, lunar_day in [
        (Holiday.dragon_boat_festival, (5, 5)),
        (Holiday.mid_autumn_festival, (8, 15)),
    ]:
        (day,) = [day for day, names in holidays.items() if holiday in names]
        found = Solar.fromYmd(day.year, day.month, day.day).getLunar()
        assert (found.getMonth(), found.getDay()) == lunar_day  # a leap month would be negative
    (qingming,) = [day for day, names in holidays.items() if Holiday.tomb_sweeping_day in names]
    assert Solar.fromYmd(year, qingming.month, qingming.day).getLunar().getJieQi() == "清明"
    # Days in lieu: one per distinct holiday date on a weekend, on a weekday off nothing else.
    off = law_days_off(year)
    in_lieu = {day for day, why in off.items() if why.in_lieu_of is not None}
    assert len(in_lieu) == sum(day.weekday() >= 5 for day in holidays)
    assert all(day.weekday() < 5 and day not in holidays and day.year == year for day in in_lieu)
    assert set(off) == set(holidays) | in_lieu


@pytest.mark.parametrize("year", [2004, 2024])
def test_the_amended_law_is_not_applied_to_earlier_years(year: int) -> None:
    with pytest.raises(ValueError):
        statutory_holidays(year)


# --- the day-in-lieu rule (invented holiday sets; 2031-03-01 is a Saturday) ---------------------


@pytest.mark.parametrize(
    ("holidays", "expected"),
    [
        pytest.param(["2031-03-05"], {}, id="a weekday holiday earns nothing"),
        pytest.param(["2031-03-01"], {"2031-03-03": "2031-03-01"}, id="Saturday: Monday"),
        pytest.param(["2031-03-02"], {"2031-03-03": "2031-03-02"}, id="Sunday: Monday"),
        pytest.param(
            ["2031-03-01", "2031-03-02"],
            {"2031-03-03": "2031-03-01", "2031-03-04": "2031-03-02"},
            id="Saturday and Sunday: Monday and Tuesday",
        ),
        pytest.param(
            ["2031-02-28", "2031-03-01", "2031-03-02", "2031-03-03"],
            {"2031-03-04": "2031-03-01", "2031-03-05": "2031-03-02"},
            id="Friday to Monday: Tuesday and Wednesday",
        ),
        pytest.param(
            ["2031-03-02", "2031-03-03", "2031-03-04"],
            {"2031-03-05": "2031-03-02"},
            id="Sunday to Tuesday: Wednesday",
        ),
        pytest.param(
            ["2031-03-01", "2031-03-02", "2031-03-04"],
            {"2031-03-03": "2031-03-01", "2031-03-05": "2031-03-02"},
            id="a later weekday holiday is skipped",
        ),
        pytest.param(
            ["2031-03-01", *[f"2031-03-{d:02}" for d in range(3, 8)], "2031-03-08"],
            {"2031-03-10": "2031-03-01", "2031-03-11": "2031-03-08"},
            id="a holiday week pushes the days in lieu past the next weekend",
        ),
        pytest.param(
            ["2031-03-01", "2031-03-01"],
            {"2031-03-03": "2031-03-01"},
            id="two holidays on one weekend date earn one day",
        ),
    ],
)
def test_days_in_lieu(holidays: list[str], expected: dict[str, str]) -> None:
    found = days_in_lieu(D(day) for day in holidays)
    assert found == {D(k): D(v) for k, v in expected.items()}


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (
            2027,
            dates("2027-01-01")
            # Eve Fri 02-05, Sat 02-06, Sun 02-07, Mon 02-08; in lieu Tue 02-09 and Wed 02-10.
            | span("2027-02-05", "2027-02-10")
            | dates("2027-04-05")
            # Sat 05-01 and Sun 05-02; in lieu Mon 05-03 and Tue 05-04.
            | span("2027-05-01", "2027-05-04")
            | dates("2027-06-09", "2027-09-15")
            # Fri 10-01, Sat 10-02, Sun 10-03; in lieu Mon 10-04 and Tue 10-05.
            | span("2027-10-01", "2027-10-05"),
        ),
        (
            2028,
            # Sat 01-01: in lieu Mon 01-03.
            dates("2028-01-01", "2028-01-03")
            | span("2028-01-25", "2028-01-28")
            | dates("2028-04-04", "2028-05-01", "2028-05-02")
            # Dragon Boat on Sun 05-28: in lieu Mon 05-29.
            | dates("2028-05-28", "2028-05-29")
            # Sun 10-01 (in lieu: Wed 10-04, after Mon and Tue off); Mid-Autumn is 10-03, a date
            # already off, so it adds no day: 10-05 is worked.
            | span("2028-10-01", "2028-10-04"),
        ),
    ],
)
def test_law_days_off(year: int, expected: set[date]) -> None:
    assert set(law_days_off(year)) == expected


def test_days_in_lieu_say_which_holiday_they_replace() -> None:
    off = law_days_off(2027)
    assert off[D("2027-02-09")].in_lieu_of == D("2027-02-06")
    assert off[D("2027-02-10")].in_lieu_of == D("2027-02-07")
    assert off[D("2027-10-04")].holidays == (Holiday.national_day,)
    assert off[D("2027-10-04")].in_lieu_of == D("2027-10-02")
    assert "2027-10-02" in off[D("2027-10-04")].describe()
    assert off[D("2027-10-01")].in_lieu_of is None
    assert off[D("2027-01-01")].describe() == "New Year's Day 元旦"


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_law_agrees_with_the_package_where_both_speak(year: int) -> None:
    # An independent oracle: in the years the package knows, every day off by law (days in lieu
    # included) is a day off in the State Council's notice, for the same holiday.
    for day, why in law_days_off(year).items():
        assert not chinese_calendar.is_workday(day), day
        assert chinese_calendar.holidays[day] in {h.value for h in why.holidays}, day


# --- the calendar: deadlines in 2027 and 2028 ---------------------------------------------------


ENTERED = datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI)  # a Wednesday


@pytest.mark.parametrize(
    ("n", "expected_day"),
    [
        (1, D("2026-12-31")),
        (2, D("2027-01-04")),  # not Fri 2027-01-01, New Year's Day
        (3, D("2027-01-05")),
    ],
)
def test_a_review_entered_before_new_year_2027(n: int, expected_day: date) -> None:
    instant = WorkdayCalendar().workday_instant(ENTERED, n)
    assert instant == datetime.combine(expected_day, time(9, 0), SHANGHAI)


def test_the_default_reminders_skip_new_years_day_2027() -> None:
    reminders = place_reminders(ENTERED, list(DEFAULT_POLICY), WorkdayCalendar())
    assert [r.at for r in reminders] == [
        datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI),
        datetime(2027, 1, 4, 9, 0, tzinfo=SHANGHAI),
        datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI),
    ]
    assert [(r.tell_applicant, r.escalation_level) for r in reminders] == [
        (False, 0),
        (True, 0),
        (False, 1),
    ]


@pytest.mark.parametrize(
    ("day", "works"),
    [
        (D("2027-02-04"), True),
        *[(day, False) for day in sorted(span("2027-02-05", "2027-02-10"))],
        (D("2027-02-11"), True),
        (D("2027-04-02"), True),
        (D("2027-04-05"), False),  # Qingming, a Monday
        (D("2027-04-06"), True),
        (D("2027-06-08"), True),
        (D("2027-06-09"), False),  # Dragon Boat, a Wednesday
        (D("2027-06-10"), True),
        (D("2027-09-15"), False),  # Mid-Autumn, a Wednesday
        (D("2027-09-30"), True),
        *[(day, False) for day in sorted(span("2027-10-01", "2027-10-05"))],
        (D("2027-10-06"), True),
        (D("2028-10-03"), False),
        (D("2028-10-04"), False),
        (D("2028-10-05"), True),
        # An ordinary week in a law year: Monday to Friday.
        (D("2027-03-12"), True),
        (D("2027-03-13"), False),
        (D("2027-03-15"), True),
    ],
)
def test_working_days_by_law(day: date, works: bool) -> None:
    assert WorkdayCalendar().is_workday(day) is works


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D("2027-02-04"), 1, D("2027-02-11")),  # over the Spring Festival and its days in lieu
        (D("2027-04-02"), 1, D("2027-04-06")),  # over Qingming
        (D("2027-06-08"), 1, D("2027-06-10")),  # over the Dragon Boat Festival
        (D("2027-09-14"), 1, D("2027-09-16")),  # over the Mid-Autumn Festival
        (D("2027-09-30"), 1, D("2027-10-06")),  # over National Day and its days in lieu
        (D("2028-09-29"), 1, D("2028-10-05")),  # Mid-Autumn inside National Day: no extra day
        (D("2027-12-31"), 1, D("2028-01-04")),  # Sat 2028-01-01 is made up on Monday
    ],
)
def test_nth_workday_after_by_law(start: date, n: int, expected: date) -> None:
    assert WorkdayCalendar().nth_workday_after(start, n) == expected


def test_mid_autumn_2028_is_explained_with_national_day() -> None:
    status = WorkdayCalendar().explain(D("2028-10-03"))
    assert (status.works, status.source) == (False, Source.LAW)
    assert "National Day" in status.reason and "Mid-autumn Festival" in status.reason


@pytest.mark.parametrize(
    ("day", "works"),
    [
        # The package's notice for 2026, where the law alone would answer differently.
        (D("2026-01-02"), False),  # a bridge day, not a statutory one
        (D("2026-01-04"), True),  # an adjusted working Sunday
        (D("2026-02-20"), False),  # the notice's longer Spring Festival
        (D("2026-02-28"), True),  # an adjusted working Saturday
        (D("2026-10-07"), False),
        (D("2026-10-10"), True),
        (D("2025-02-04"), False),
        (D("2025-01-26"), True),
    ],
)
def test_the_law_is_not_used_for_a_year_the_package_knows(day: date, works: bool) -> None:
    law_says = day not in law_days_off(day.year) and day.weekday() < 5
    assert law_says is not works  # so this vector tells the two apart
    calendar = WorkdayCalendar()
    assert calendar.is_workday(day) is works
    assert calendar.explain(day).source is Source.PACKAGE
    assert not calendar.by_law(day.year)


@pytest.mark.parametrize(
    ("overrides", "start", "n", "expected"),
    [
        # Invented operator entries, not the real 2027 notice.
        pytest.param(
            Overrides(workdays=frozenset({D("2027-02-10")})),
            D("2027-02-04"),
            1,
            D("2027-02-10"),
            id="a day in lieu reopened",
        ),
        pytest.param(
            Overrides(workdays=frozenset({D("2027-02-07")})),
            D("2027-02-04"),
            1,
            D("2027-02-07"),
            id="a statutory Sunday worked",
        ),
        pytest.param(
            Overrides(holidays=frozenset({D("2027-02-11"), D("2027-02-12")})),
            D("2027-02-04"),
            1,
            D("2027-02-15"),
            id="bridge days closed",
        ),
        pytest.param(
            Overrides(workdays=frozenset({D("2027-02-20")})),
            D("2027-02-19"),
            1,
            D("2027-02-20"),
            id="an adjusted working Saturday",
        ),
    ],
)
def test_overrides_win_over_the_law(
    overrides: Overrides, start: date, n: int, expected: date
) -> None:
    calendar = WorkdayCalendar(overrides)
    assert calendar.nth_workday_after(start, n) == expected
    for day in overrides.holidays | overrides.workdays:
        assert calendar.explain(day).source is Source.OVERRIDE
    assert WorkdayCalendar().nth_workday_after(start, n) != expected  # the override mattered


def test_before_the_package_and_the_law_monday_to_friday() -> None:
    calendar = WorkdayCalendar()
    assert not calendar.by_law(2003)
    assert calendar.explain(D("2003-10-01")).source is Source.WEEKDAY
    assert calendar.is_workday(D("2003-10-01"))
    assert calendar.explain(D("2003-10-04")).source is Source.WEEKEND


# --- warnings ----------------------------------------------------------------------------------


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


def test_a_law_year_without_overrides_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkdayCalendar()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        calendar.nth_workday_after(D("2027-01-01"), 60)
        calendar.nth_workday_after(D("2026-06-01"), 5)
    (warning,) = warnings(caplog)
    message = warning.getMessage()
    assert "2027" in message and "调休" in message and "by law" in message


def test_a_law_year_with_overrides_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkdayCalendar(Overrides(workdays=frozenset({D("2027-02-20")})))
    with caplog.at_level(logging.INFO, logger=LOGGER):
        assert calendar.nth_workday_after(D("2027-02-04"), 1) == D("2027-02-11")
    assert warnings(caplog) == []
    assert any("2027" in r.getMessage() for r in caplog.records if r.name == LOGGER)


def test_a_year_before_the_package_warns_of_monday_to_friday(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        WorkdayCalendar().nth_workday_after(D("2003-06-02"), 10)
    (warning,) = warnings(caplog)
    assert "2003" in warning.getMessage() and "Monday-Friday" in warning.getMessage()


def test_an_override_answer_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkdayCalendar(Overrides(holidays=frozenset({D("2027-03-01")})))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert not calendar.is_workday(D("2027-03-01"))
    assert warnings(caplog) == []


# --- a year explained ----------------------------------------------------------------------------


def test_a_law_year_explained() -> None:
    calendar = WorkdayCalendar()
    year = calendar.explain_year(2027)
    assert (year.known_to_package, year.by_law, year.has_overrides) == (False, True, False)
    assert year.missing_adjustments
    assert [s.day for s in year.days] == sorted(span("2027-01-01", "2027-12-31"))
    assert {s.day for s in year.days_off} == set(law_days_off(2027))
    assert {s.source for s in year.days_off} == {Source.LAW}
    assert year.adjusted_workdays == []
    assert {s.source for s in year.days} == {Source.LAW, Source.WEEKDAY, Source.WEEKEND}
    assert all(s.works is calendar.is_workday(s.day) for s in year.days)
    # Statutory weekend days are listed; an ordinary weekend is not.
    assert D("2027-02-06") in {s.day for s in year.days_off}
    assert D("2027-03-13") not in {s.day for s in year.days_off}


def test_a_law_year_with_overrides_explained() -> None:
    overrides = Overrides(
        holidays=frozenset({D("2027-02-11")}), workdays=frozenset({D("2027-02-20")})
    )
    year = WorkdayCalendar(overrides).explain_year(2027)
    assert year.has_overrides and not year.missing_adjustments
    by_day = {s.day: s for s in year.days}
    assert (by_day[D("2027-02-11")].works, by_day[D("2027-02-11")].source) == (
        False,
        Source.OVERRIDE,
    )
    assert [(s.day, s.source) for s in year.adjusted_workdays] == [
        (D("2027-02-20"), Source.OVERRIDE)
    ]
    # Overrides of another year do not count for this one.
    assert WorkdayCalendar(overrides).explain_year(2028).missing_adjustments


def test_a_package_year_explained() -> None:
    year = WorkdayCalendar().explain_year(2026)
    assert (year.known_to_package, year.by_law, year.missing_adjustments) == (True, False, False)
    assert {s.source for s in year.days} == {Source.PACKAGE}
    assert len(year.days) == 365 and len(WorkdayCalendar().explain_year(2028).days) == 366
    expected_adjusted = {d for d in chinese_calendar.workdays if d.year == 2026}
    assert {s.day for s in year.adjusted_workdays} == expected_adjusted
    weekday_off = {s.day for s in year.days_off if s.day.weekday() < 5}
    assert weekday_off == {
        d
        for d in span("2026-01-01", "2026-12-31")
        if d.weekday() < 5 and not chinese_calendar.is_workday(d)
    }
    national_day = next(s for s in year.days if s.day == D("2026-10-01"))
    assert national_day.reason == "National Day 国庆节"


# --- the command line: python -m starter calendar show YEAR -----------------------------------


def show(year: str, overrides: Path | None = None, **env: str) -> tuple[int, str]:
    args = ["calendar", "show", year]
    if overrides is not None:
        args += ["--overrides", str(overrides)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200", **env})
    return result.exit_code, result.output


def row(output: str, day: str) -> str:
    """The table row of ``day`` (its first cell), exactly one."""
    (line,) = [line for line in output.splitlines() if line.lstrip("│ ").startswith(day)]
    return line


def test_show_a_law_year_warns_that_its_adjustments_are_missing(tmp_path: Path) -> None:
    code, output = show("2027", tmp_path / "none.json")
    assert code == 0, output
    assert "law" in row(output, "2027-01-01").split() and "元旦" in row(output, "2027-01-01")
    assert "law" in row(output, "2027-02-09") and "补休" in row(output, "2027-02-09")
    assert "2027-03-12" not in output  # an ordinary Friday is not listed
    assert "WARNING" in output and "调休 missing" in output and "no overrides yet" in output


def test_show_a_package_year_names_the_package(tmp_path: Path) -> None:
    code, output = show("2026", tmp_path / "none.json")
    assert code == 0, output
    assert "package" in row(output, "2026-01-01").split()
    assert "package" in row(output, "2026-01-04").split()  # an adjusted working Sunday
    assert "adjusted working day" in row(output, "2026-01-04")
    assert "law" not in output.split() and "WARNING" not in output


def test_show_a_law_year_with_overrides_read_from_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text('{"holidays": ["2027-02-11"], "workdays": ["2027-02-20"]}', encoding="utf-8")
    code, output = show("2027", JSHR_WORKDAY_OVERRIDES_FILE=str(path))
    assert code == 0, output
    assert "override" in row(output, "2027-02-11").split()
    assert "override" in row(output, "2027-02-20").split()
    assert "law" in row(output, "2027-01-01").split()
    assert "WARNING" not in output


def test_show_refuses_a_broken_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "overrides.json"
    path.write_text('{"holiday": ["2027-02-11"]}', encoding="utf-8")
    code, output = show("2027", path)
    assert code == 2
    assert "invalid overrides file" in output
