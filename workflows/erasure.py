"""ErasureWorkflow: an applicant asks that a registration which created no account be deleted
now rather than at the end of its retention (PIPL art. 47).

Small on purpose: one activity checks (no account, nothing still running) and deletes, with
one audit row. It is a workflow so that the request is vouched for by the edge like every other
message of the applicant's, retried until done, and visible in the Temporal UI.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.retention import RetentionActivities
    from domain.contracts.internal import ErasureInput, ErasureRequest, ErasureResult
    from domain.vouching import Senders, senders


@workflow.defn
class ErasureWorkflow:
    """Workflow ID `erasure-<registration workflow ID>`; the edge's assertion must be the
    applicant of `registration` (the session bound to it), or it fails at once."""

    STARTED_BY: ClassVar[tuple[str, Senders]] = (
        "erase",
        senders("applicant", names_actor="registration"),
    )

    @workflow.run
    async def run(self, request: ErasureRequest) -> ErasureResult:
        return await workflow.execute_activity_method(
            RetentionActivities.erase,
            ErasureInput(registration=request.registration, at=workflow.now()),
            summary="erase the registration's data (the applicant asked)",
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
        )
