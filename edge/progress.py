"""Where a registration stands, as its applicant reads it (注册进度): the steps as a timeline,
the reviewing unit, the review's deadline in working days, and the reminders sent so far.

Everything comes from the workflow's `status` query, the units table and the settings'
review policy on the official working-day calendar: nothing is kept beside the workflow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import select

from config import Settings
from domain.contracts.base import AuditEntry
from domain.contracts.registration import RegistrationStatus, Stage
from domain.roles import Role
from domain.workdays import SHANGHAI, WorkdayCalendar, load_overrides
from edge.web.services import EdgeServices
from store.models import PhoneCode, Unit
from store.verification import signature_required

StepState = Literal["done", "current", "todo", "failed"]

_STAGE_STEP = {
    Stage.VERIFYING: 0,
    Stage.AWAITING_PHONE_CODE: 1,
    Stage.AWAITING_SIGNATURE: 2,
    Stage.AWAITING_REVIEW: 3,
    Stage.AWAITING_CORRECTION: 3,
    Stage.ASSIGNING_ROLE: 4,
    Stage.COMPLETED: 5,
}
_ENDED_TEXT = {
    Stage.REJECTED_FINAL: "审核未通过",
    Stage.WITHDRAWN: "已撤回",
    Stage.EXPIRED: "已过期",
    Stage.FAILED: "系统处理失败",
}
# The reminder labels of the review policy (domain.reminders), as the applicant reads them.
_REMINDER_TEXT = (
    (re.compile(r"^new application$"), "已通知审核人"),
    (re.compile(r"^nudge \d+$"), "您催办了一次"),
    (re.compile(r"escalation"), "已上报系统管理员"),
    (re.compile(r"^working-day (\d+) reminder$"), "第{0}个工作日,已提醒审核人"),
    (re.compile(r"^repeat reminder"), "已再次提醒"),
)


@dataclass(frozen=True)
class Step:
    label: str
    state: StepState


@dataclass(frozen=True)
class ReviewClock:
    entered_at: datetime
    due_at: datetime
    days: int
    workdays_left: int
    overdue: bool


@dataclass(frozen=True)
class Reminder:
    at: datetime
    text: str


@dataclass(frozen=True)
class Progress:
    status: RegistrationStatus
    unit_name: str
    reviewer_text: str
    steps: list[Step]
    ended_text: str | None
    review: ReviewClock | None
    reminders: list[Reminder]
    nudged_today: bool
    # The correction asked for came from the reviewer (else from the checks).
    rejected_by_reviewer: bool


def china_text(instant: datetime, *, with_year: bool = False) -> str:
    """An instant as the applicant reads it: Beijing time, Chinese date."""
    local = instant.astimezone(SHANGHAI)
    text = f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.year}年{text}" if with_year else text


def reminder_text(label: str) -> str:
    for pattern, text in _REMINDER_TEXT:
        if match := pattern.search(label):
            return text.format(*match.groups())
    return "已提醒审核人"


def _steps(stage: Stage, with_signature: bool) -> list[Step]:
    labels = ["提交申请", "手机验证", "电子签名", "单位审核", "开通账号"]
    reached = _STAGE_STEP.get(stage)
    steps = []
    for index, label in enumerate(labels):
        if index == 2 and not with_signature:
            continue
        if reached is None or index > reached:
            state: StepState = "todo"
        elif index < reached:
            state = "done"
        else:
            state = "failed" if stage == Stage.AWAITING_CORRECTION else "current"
        steps.append(Step(label, state))
    return steps


def _round_reminders(history: list[AuditEntry]) -> list[AuditEntry]:
    """The reminders of the review in progress: from its last 'new application' on."""
    reminders = [entry for entry in history if entry.kind in ("reminder", "escalation")]
    starts = [i for i, entry in enumerate(reminders) if entry.outcome == "new application"]
    return reminders[starts[-1] :] if starts else []


def _workdays_between(calendar: WorkdayCalendar, start: date, end: date) -> int:
    """Working days after `start` up to and including `end`."""
    count, day = 0, start
    while day < end:
        day = calendar.nth_workday_after(day, 1)
        count += day <= end
    return count


def review_clock(settings: Settings, entered: datetime, now: datetime) -> ReviewClock:
    """The review's deadline: the policy's last step (3 working days by default)."""
    calendar = WorkdayCalendar(load_overrides(settings.workday_overrides_file))
    days = max(step.day for step in settings.review_policy)
    due = calendar.workday_instant(entered, days)
    left = _workdays_between(
        calendar, now.astimezone(SHANGHAI).date(), due.astimezone(SHANGHAI).date()
    )
    return ReviewClock(entered, due, days, left, now >= due)


async def progress(edge: EdgeServices, status: RegistrationStatus) -> Progress:
    async with edge.db() as session:
        unit = await session.get(Unit, status.unit_code)
    now = datetime.now(UTC)
    reminders = _round_reminders(status.history)
    review = None
    if status.stage == Stage.AWAITING_REVIEW and reminders:
        review = review_clock(edge.settings, reminders[0].at, now)
    today = now.astimezone(SHANGHAI).date()
    if status.requested_role == Role.UNIT_ADMIN:
        reviewer = "系统管理员"
    elif status.escalation_level:
        reviewer = "本单位管理员(已上报系统管理员)"
    else:
        reviewer = "本单位管理员"
    return Progress(
        status=status,
        unit_name=unit.name if unit else status.unit_code,
        reviewer_text=reviewer,
        steps=_steps(status.stage, signature_required(unit, status.requested_role)),
        ended_text=_ENDED_TEXT.get(status.stage),
        review=review,
        reminders=[Reminder(entry.at, reminder_text(entry.outcome)) for entry in reminders],
        nudged_today=any(
            entry.outcome.startswith("nudge") and entry.at.astimezone(SHANGHAI).date() == today
            for entry in reminders
        ),
        rejected_by_reviewer=any(r.code.startswith("review.") for r in status.refusals),
    )


async def code_retry_after(edge: EdgeServices, workflow_id: str) -> int:
    """Seconds until a new SMS code may be asked for: the resend cooldown of the last one (the
    workflow decides; the page only counts down)."""
    async with edge.db() as session:
        sent_at = await session.scalar(
            select(PhoneCode.sent_at)
            .where(PhoneCode.registration_id.startswith(f"{workflow_id}/"))
            .order_by(PhoneCode.sent_at.desc())
            .limit(1)
        )
    if sent_at is None:
        return 0
    cooldown = timedelta(seconds=edge.settings.phone_code_resend_cooldown_seconds)
    return max(0, int((sent_at + cooldown - datetime.now(UTC)).total_seconds() + 0.999))
