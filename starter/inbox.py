"""The reviewer's inbox: registrations this reviewer may decide, found by Temporal visibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client

from domain import search
from domain.contracts import Role, Stage
from store.models import Account


def inbox_query(reviewer: Account) -> str:
    """A unit admin sees staff applications of their unit; a system admin sees unit-admin
    applications and everything escalated to them."""
    waiting = f'{search.STAGE.name}="{Stage.AWAITING_REVIEW.value}"'
    if reviewer.role == Role.SYSTEM_ADMIN:
        return (
            f'{waiting} AND ({search.REQUESTED_ROLE.name}="{Role.UNIT_ADMIN.value}"'
            f" OR {search.ESCALATION_LEVEL.name} > 0)"
        )
    return (
        f'{waiting} AND {search.UNIT_CODE.name}="{reviewer.unit_code}"'
        f' AND {search.REQUESTED_ROLE.name}="{Role.USER.value}"'
    )


@dataclass(frozen=True)
class InboxItem:
    workflow_id: str
    summary: str
    unit_code: str
    round: int
    escalation_level: int
    due_at: datetime | None
    started_at: datetime


async def reviewer_inbox(client: Client, reviewer: Account) -> list[InboxItem]:
    """Pending registrations for `reviewer`, the oldest deadline first."""
    if not reviewer.active or reviewer.role not in (Role.UNIT_ADMIN, Role.SYSTEM_ADMIN):
        return []
    items = []
    async for execution in client.list_workflows(inbox_query(reviewer)):
        attributes = execution.typed_search_attributes
        description = await client.get_workflow_handle(execution.id).describe()
        items.append(
            InboxItem(
                workflow_id=execution.id,
                summary=await description.static_summary() or "",
                unit_code=attributes.get(search.UNIT_CODE) or "",
                round=attributes.get(search.REVIEW_ROUND) or 1,
                escalation_level=attributes.get(search.ESCALATION_LEVEL) or 0,
                due_at=attributes.get(search.REVIEW_DUE_AT),
                started_at=execution.start_time,
            )
        )
    return sorted(items, key=lambda item: (item.due_at is None, item.due_at or item.started_at))
