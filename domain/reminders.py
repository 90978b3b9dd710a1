"""The review reminder policy: data, placed on working days by a pure function (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.contracts.internal import Reminder
from domain.workdays import WorkdayCalendar


class ReminderStep(BaseModel):
    """On the Nth working day after the application entered review, at 09:00 Asia/Shanghai."""

    model_config = ConfigDict(frozen=True)

    day: int
    label: str
    remind_reviewers: bool = True
    tell_applicant: bool = False
    escalation_level: int = 0


DEFAULT_POLICY: tuple[ReminderStep, ...] = (
    ReminderStep(day=1, label="working-day 1 reminder"),
    ReminderStep(day=2, label="working-day 2 reminder", tell_applicant=True),
    ReminderStep(day=3, label="working-day 3 escalation", escalation_level=1),
)


def reminder_steps(
    policy: tuple[ReminderStep, ...], first: int, count: int, repeat_days: int = 1
) -> list[ReminderStep]:
    """Steps `first` … `first + count - 1`: the policy's, then one every `repeat_days` working
    days after the last, to the same people (the escalation target once escalated)."""
    ordered = sorted(policy, key=lambda step: step.day)
    last = ordered[-1]
    steps = []
    for index in range(first, first + count):
        if index < len(ordered):
            steps.append(ordered[index])
        else:
            extra = index - len(ordered) + 1
            steps.append(
                last.model_copy(
                    update={
                        "day": last.day + extra * repeat_days,
                        "label": f"repeat reminder {extra}",
                        "tell_applicant": False,
                    }
                )
            )
    return steps


def place_reminders(
    entered: datetime, steps: list[ReminderStep], calendar: WorkdayCalendar
) -> list[Reminder]:
    """Turn steps into instants: 09:00 Asia/Shanghai on the step's working day."""
    return [
        Reminder(
            at=calendar.workday_instant(entered, step.day),
            label=step.label,
            remind_reviewers=step.remind_reviewers,
            tell_applicant=step.tell_applicant,
            escalation_level=step.escalation_level,
        )
        for step in steps
    ]
