"""The daily purge's Schedule and the namespace retention, on the real dev server."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleIntervalSpec
from temporalio.testing import WorkflowEnvironment

from domain.contracts.internal import PurgeReport
from plumbing.schedules import PURGE_AT, ensure_purge_schedule, set_namespace_retention
from testkit import eventually
from testkit.harness import App
from worker import build_worker

pytestmark = pytest.mark.asyncio


async def test_the_purge_runs_daily_on_a_schedule(dev_env: WorkflowEnvironment, app: App) -> None:
    settings = app.settings.model_copy(
        update={"purge_schedule_id": f"purge-{uuid.uuid4().hex[:8]}"}
    )
    await ensure_purge_schedule(dev_env.client, settings)
    await ensure_purge_schedule(dev_env.client, settings)  # every worker start: no second one
    handle = dev_env.client.get_schedule_handle(settings.purge_schedule_id)
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "PurgeWorkflow" and action.task_queue == settings.task_queue
        assert described.schedule.spec.intervals == [
            ScheduleIntervalSpec(every=timedelta(days=1), offset=PURGE_AT)
        ]
        [next_run, *_] = described.info.next_action_times
        assert (next_run.hour, next_run.minute) == (19, 30)  # 03:30 in Shanghai

        async with build_worker(dev_env.client, settings, app.sessions):
            await handle.trigger()

            async def ran() -> str | None:
                recent = (await handle.describe()).info.recent_actions
                return recent[0].action.workflow_id if recent else None  # type: ignore[attr-defined]

            workflow_id = await eventually(ran)
            assert workflow_id is not None
            result = await dev_env.client.get_workflow_handle(workflow_id).result()
        assert PurgeReport.model_validate(result) == PurgeReport()
    finally:
        await handle.delete()


async def test_the_namespace_keeps_closed_histories_as_long_as_the_applicant_data(
    dev_env: WorkflowEnvironment, app: App
) -> None:
    await set_namespace_retention(dev_env.client, app.settings)
    described = await dev_env.client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=dev_env.client.namespace)
    )
    retention = described.config.workflow_execution_retention_ttl.ToTimedelta()
    assert retention == timedelta(days=app.settings.retention_applicant_days)
