"""The review reminder policy: data, placed in time by a pure function (DESIGN §4)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from domain.contracts import Reminder

SHANGHAI = ZoneInfo("Asia/Shanghai")
REMINDER_TIME = time(9, 0)


class ReminderStep(BaseModel):
    """On the Nth day after the application entered review, at 09:00 Asia/Shanghai."""

    model_config = ConfigDict(frozen=True)

    day: int
    label: str
    remind_reviewers: bool = True
    tell_applicant: bool = False
    escalation_level: int = 0


DEFAULT_POLICY: tuple[ReminderStep, ...] = (
    ReminderStep(day=1, label="day-1 reminder"),
    ReminderStep(day=2, label="day-2 reminder", tell_applicant=True),
    ReminderStep(day=3, label="day-3 escalation", escalation_level=1),
)


def place_reminders(entered: datetime, policy: tuple[ReminderStep, ...]) -> list[Reminder]:
    """Turn the policy into instants. Days are calendar days here; working days come later."""
    start = entered.astimezone(SHANGHAI).date()
    return [
        Reminder(
            at=datetime.combine(start + timedelta(days=step.day), REMINDER_TIME, SHANGHAI),
            label=step.label,
            remind_reviewers=step.remind_reviewers,
            tell_applicant=step.tell_applicant,
            escalation_level=step.escalation_level,
        )
        for step in sorted(policy, key=lambda s: s.day)
    ]
