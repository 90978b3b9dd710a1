"""The reviewer's inbox: registrations this reviewer may decide, found by Temporal visibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from temporalio.client import Client

from domain.contracts.registration import Stage
from domain.review_rule import ReviewReach, review_reach
from domain.roles import Role
from plumbing import search
from store.models import Account


def inbox_query(reach: ReviewReach) -> str:
    """The visibility query of an inbox, from the review rule's reach: a unit's staff
    applications, or, for a reach over the whole system, unit-admin applications and everything
    escalated (the staff of every unit are their own unit's to decide first)."""
    waiting = f'{search.STAGE.name}="{Stage.AWAITING_REVIEW.value}"'
    if reach.everything:
        return (
            f'{waiting} AND ({search.REQUESTED_ROLE.name}="{Role.UNIT_ADMIN.value}"'
            f" OR {search.ESCALATION_LEVEL.name} > 0)"
        )
    return (
        f'{waiting} AND {search.UNIT_CODE.name}="{reach.unit_code}"'
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
    reach = review_reach(reviewer)
    if reach is None:
        return []
    items = []
    async for execution in client.list_workflows(inbox_query(reach)):
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
