"""Working days left until a deadline: what the inbox shows as "还剩 N 个工作日"."""

from __future__ import annotations

from datetime import date

import pytest

from domain.workdays import WorkdayCalendar

D = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (D("2026-06-08"), D("2026-06-08"), 0),  # due today
        (D("2026-06-08"), D("2026-06-05"), 0),  # already past
        (D("2026-06-08"), D("2026-06-10"), 2),  # Monday to Wednesday
        (D("2026-06-05"), D("2026-06-08"), 1),  # Friday to Monday: the weekend does not count
        (D("2026-09-30"), D("2026-10-10"), 3),  # National Day week off; Saturday 10-10 worked
        (D("2026-02-13"), D("2026-02-24"), 2),  # Spring Festival: Saturday 02-14 worked
    ],
)
def test_workdays_between(start: date, end: date, expected: int) -> None:
    assert WorkdayCalendar().workdays_between(start, end) == expected
