"""The dependencies most activity classes own (the session factory, settings, the outbox), and
the worker's rule that data the database refuses is never retried."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from config import Settings
from notify.outbox import Notifier


class StoreActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        notifier: Notifier,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._notifier = notifier


def refused_data(exc: BaseException) -> ApplicationError | None:
    """The non-retryable failure for data the database refuses (SQLSTATE class 22: a NUL in a
    text column, a value out of range), which no retry can change; None for anything else, a
    lost connection or a lock, which retries may cure. Says nothing of the data itself."""
    if not isinstance(exc, DBAPIError):
        return None
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if isinstance(exc, DataError) or sqlstate.startswith("22"):
        return ApplicationError(
            f"the database refused the data (SQLSTATE {sqlstate or 'n/a'})",
            type="DataError",
            non_retryable=True,
        )
    return None


class RefusedDataIsFinal(Interceptor):
    """Turns every activity's refused-data error into a non-retryable failure."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _RefusedData(next)


class _RefusedData(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except DBAPIError as exc:
            final = refused_data(exc)
            if final is None:
                raise
            raise final from None  # the statement's error may quote the row
