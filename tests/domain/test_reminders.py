"""Reminder instants: the policy placed on China's working days by the planning activity."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from activities.review import ReviewActivities
from config import Settings
from domain.contracts.internal import ReminderBatchInput
from domain.reminders import DEFAULT_POLICY, reminder_steps
from notify.outbox import Notifier

SHANGHAI = ZoneInfo("Asia/Shanghai")


def planner(tmp_path: Path, overrides: str | None = None) -> ReviewActivities:
    settings = Settings(workday_overrides_file=tmp_path / "overrides.json")
    if overrides is not None:
        settings.workday_overrides_file.write_text(overrides)
    # plan_reminders touches neither the database nor a channel.
    # Placing reminders reads settings only: no database behind the activities.
    return ReviewActivities(None, settings, Notifier(None, settings))  # type: ignore[arg-type]  # see above


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("entered", "expected"),
    [
        # National Day 2026: days off 10-01..10-07; Saturday 10-10 is an adjusted working day.
        ("2026-09-30 10:00", ["2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"]),
        # Spring Festival 2026: Saturday 02-14 works, 02-16..02-23 are off.
        ("2026-02-13 16:00", ["2026-02-14", "2026-02-24", "2026-02-25", "2026-02-26"]),
        # An ordinary weekend.
        ("2026-06-05 09:30", ["2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11"]),
        # 2027 is past the package's data: weekends only (and a logged warning), never a crash.
        ("2027-01-01 12:00", ["2027-01-04", "2027-01-05", "2027-01-06", "2027-01-07"]),
    ],
)
async def test_reminders_fall_at_nine_on_working_days(tmp_path, entered, expected) -> None:
    reminders = await planner(tmp_path).plan_reminders(
        ReminderBatchInput(entered_review_at=at(entered), first=0, count=4)
    )
    assert [r.at.astimezone(SHANGHAI).date().isoformat() for r in reminders] == expected
    assert {r.at.astimezone(SHANGHAI).hour for r in reminders} == {9}
    assert [r.escalation_level for r in reminders] == [0, 0, 1, 1]
    assert reminders[1].tell_applicant and not reminders[3].tell_applicant


async def test_an_operator_override_moves_reminders_in_an_unknown_year(tmp_path) -> None:
    overrides = '{"holidays": ["2027-01-04"], "workdays": ["2027-01-02"]}'
    reminders = await planner(tmp_path, overrides).plan_reminders(
        ReminderBatchInput(entered_review_at=at("2027-01-01 12:00"), first=0, count=2)
    )
    assert [r.at.date().isoformat() for r in reminders] == ["2027-01-02", "2027-01-05"]


def test_after_the_policy_one_reminder_a_working_day_goes_to_the_escalation_target() -> None:
    steps = reminder_steps(DEFAULT_POLICY, first=2, count=3)
    assert [(s.day, s.escalation_level) for s in steps] == [(3, 1), (4, 1), (5, 1)]
    assert [s.label for s in steps[1:]] == ["repeat reminder 1", "repeat reminder 2"]
