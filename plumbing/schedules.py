"""The Temporal Schedule of the daily purge, and the namespace retention that matches it."""

from __future__ import annotations

from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from config import Settings

PURGE_WORKFLOW = "PurgeWorkflow"
# 03:30 in Shanghai (19:30 UTC): the quietest hour of a health-sector HR system.
PURGE_AT = timedelta(hours=19, minutes=30)


def purge_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PURGE_WORKFLOW,
            id=f"{settings.purge_schedule_id}-run",
            task_queue=settings.task_queue,
            static_summary="purge personal data past retention",
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(days=1), offset=PURGE_AT)]
        ),
        # A purge still running when the next is due: the next one has nothing else to do.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_purge_schedule(client: Client, settings: Settings) -> None:
    """Create the daily purge's Schedule, or bring an existing one up to these settings."""
    schedule = purge_schedule(settings)
    try:
        await client.create_schedule(settings.purge_schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(settings.purge_schedule_id).update(update)


async def set_namespace_retention(client: Client, settings: Settings) -> None:
    """Closed histories (which hold an applicant's data, encrypted) go when the purge has taken
    the rest: after `retention_applicant_days`."""
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=settings.temporal_namespace,
            config=NamespaceConfig(
                workflow_execution_retention_ttl=Duration(
                    seconds=settings.retention_applicant_days * 86400
                )
            ),
        )
    )
