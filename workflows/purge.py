"""PurgeWorkflow: what a daily Temporal Schedule runs to delete personal data past retention.

One activity does the work (`activities.retention`); the workflow gives it the instant to count
from, so a run delayed or retried purges as of when it was due.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from domain.contracts.internal import PurgeInput, PurgeReport

WORKFLOW_TYPE = "PurgeWorkflow"


@workflow.defn(name=WORKFLOW_TYPE)
class PurgeWorkflow:
    @workflow.run
    async def run(self) -> PurgeReport:
        return await workflow.execute_activity_method(
            RetentionActivities.purge,
            PurgeInput(at=workflow.now()),
            summary="purge personal data past retention",
            # Deleting files can take a while when many registrations fall due at once.
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5)),
        )
