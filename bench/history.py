"""What one registration leaves in Temporal: history events and payload bytes, and where the
time of a registration went (read from the event timestamps)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter, defaultdict
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory

from bench.driver import Registrations, Trace, to_review
from bench.system import REVIEWER
from domain.contracts.registration import RejectionReason, Stage

ENCRYPTED = b"binary/encrypted"


def _payloads(message: Message) -> list[Payload]:
    """Every `Payload` inside a protobuf message (inputs, results, headers, search attributes)."""
    if isinstance(message, Payload):
        return [message]
    found: list[Payload] = []
    for fd, value in message.ListFields():
        if fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            children = list(value.values()) if value_fd.message_type is not None else []
        elif fd.is_repeated:
            children = list(value)
        else:
            children = [value]
        for child in children:
            found += _payloads(child)
    return found


def _event_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


def history_size(histories: list[WorkflowHistory]) -> dict[str, Any]:
    """Events and payload bytes over the runs of one workflow (continue-as-new included)."""
    events = [event for history in histories for event in history.events]
    payloads = [p for event in events for p in _payloads(event)]
    encrypted = [p for p in payloads if p.metadata.get("encoding") == ENCRYPTED]
    return {
        "runs": len(histories),
        "events": len(events),
        "events_per_run": [len(history.events) for history in histories],
        "payloads": len(payloads),
        "payload_bytes": sum(p.ByteSize() for p in payloads),
        "encrypted_payload_bytes": sum(p.ByteSize() for p in encrypted),
        "history_bytes": sum(event.ByteSize() for event in events),
        "event_types": dict(Counter(_event_name(event) for event in events).most_common()),
    }


async def run_chain(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The histories of every run of `workflow_id`, first to last, following continue-as-new."""
    first = await client.get_workflow_handle(workflow_id).fetch_history()
    # The handle without a run ID reads the latest run; go back to the first through its start.
    start = first.events[0].workflow_execution_started_event_attributes
    run_id = start.first_execution_run_id or first.run_id
    histories = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.HasField("workflow_execution_continued_as_new_event_attributes")
            else ""
        )
    return histories


async def happy_path(target: Registrations) -> tuple[str, Trace]:
    (applicant,) = target.system.applicants(1)
    trace = Trace()
    await to_review(target, applicant, trace)
    await target.decide(trace.workflow_id)
    await target.result(trace.workflow_id)
    return trace.workflow_id, trace


async def rejection_round(target: Registrations) -> str:
    """Rejected once (information mismatch, e-mail), corrected, resubmitted, approved."""
    (applicant,) = target.system.applicants(1)
    trace = Trace()
    await to_review(target, applicant, trace)
    rejected = await target.client.decide(
        trace.workflow_id,
        reviewer_id=REVIEWER,
        approve=False,
        reason=RejectionReason.INFORMATION_MISMATCH,
        comment="邮箱有误",
        fields=["email"],
    )
    assert rejected.accepted, rejected.code
    corrected = target.system.request(applicant, email=f"fixed.{applicant.username}@example.cn")
    deadline = time.monotonic() + 60
    while (await target.client.status(trace.workflow_id)).stage != Stage.AWAITING_CORRECTION:
        assert time.monotonic() < deadline, "never reached awaiting_correction"
        await asyncio.sleep(0.1)
    answer = await target.client.resubmit(trace.workflow_id, corrected)
    assert answer.accepted
    await target.notices.wait(trace.workflow_id, "review-2")
    await target.decide(trace.workflow_id)
    await target.result(trace.workflow_id)
    return trace.workflow_id


def _ms(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {}
    return {
        "mean_ms": round(statistics.fmean(seconds) * 1000, 1),
        "p50_ms": round(statistics.median(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "n": len(seconds),
    }


def time_breakdown(histories: list[WorkflowHistory]) -> dict[str, dict[str, dict[str, float]]]:
    """Per activity type, and for workflow tasks: time queued (scheduled → started) and time
    running (started → completed), from the server's event timestamps."""
    queued: dict[str, list[float]] = defaultdict(list)
    running: dict[str, list[float]] = defaultdict(list)
    for history in histories:
        by_id = {event.event_id: event for event in history.events}
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                scheduled = by_id[event.activity_task_started_event_attributes.scheduled_event_id]
                name = scheduled.activity_task_scheduled_event_attributes.activity_type.name
                queued[name].append(_seconds(scheduled, event))
            elif event.HasField("activity_task_completed_event_attributes"):
                attributes = event.activity_task_completed_event_attributes
                scheduled = by_id[attributes.scheduled_event_id]
                name = scheduled.activity_task_scheduled_event_attributes.activity_type.name
                running[name].append(_seconds(by_id[attributes.started_event_id], event))
            elif event.HasField("workflow_task_started_event_attributes"):
                scheduled = by_id[event.workflow_task_started_event_attributes.scheduled_event_id]
                queued["(workflow task)"].append(_seconds(scheduled, event))
            elif event.HasField("workflow_task_completed_event_attributes"):
                started = by_id[event.workflow_task_completed_event_attributes.started_event_id]
                running["(workflow task)"].append(_seconds(started, event))
    return {
        name: {"queued": _ms(queued[name]), "running": _ms(running[name])}
        for name in sorted(set(queued) | set(running))
    }


def _seconds(earlier: HistoryEvent, later: HistoryEvent) -> float:
    return (later.event_time.ToDatetime() - earlier.event_time.ToDatetime()).total_seconds()
