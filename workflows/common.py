"""What the workflows share: activity options and China's clock (UTC+8, no daylight saving)."""

from collections.abc import MutableMapping
from datetime import datetime, timedelta, timezone
from typing import TypedDict, TypeVar

from temporalio.common import RetryPolicy


class ActivityOptions(TypedDict):
    """Typed, so that `**ACTIVITY` type-checks against `workflow.execute_activity_method`."""

    start_to_close_timeout: timedelta
    retry_policy: RetryPolicy


# Every activity is a few database statements: a worker that died mid-activity is noticed, and
# the activity retried elsewhere, after this timeout.
# Retries by kind: a transient failure (a locked database, an identity service down, a killed
# worker) is retried with backoff, 1 s doubling to a minute, for about 25 minutes in all; a
# business refusal is a non-retryable ApplicationError raised by the activity itself; bad data
# that the database refuses (a DataError) or that does not decode can never succeed, and is not
# retried. A workflow whose activity gives up ends in the stage `failed` (RETRIES_EXHAUSTED).
ACTIVITY_MAX_ATTEMPTS = 30
ACTIVITY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=ACTIVITY_MAX_ATTEMPTS,
        non_retryable_error_types=["DataError", "ValidationError"],
    ),
}

CHINA = timezone(timedelta(hours=8))


def china_time(instant: datetime) -> str:
    """An instant as operators read it in the UI: `2026-10-08 09:00` (UTC+8)."""
    return instant.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


V = TypeVar("V")


def keep_last(answers: MutableMapping[str, V | None], count: int) -> None:
    """Forget all but the latest `count` answered entries (None: still being answered)."""
    answered = [key for key, value in answers.items() if value is not None]
    for key in answered[: max(0, len(answered) - count)]:
        del answers[key]
