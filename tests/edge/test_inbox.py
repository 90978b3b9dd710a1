"""The inbox pages by counting, on the real dev server's visibility: every page is the slice of
the rows sorted by entry into review, the filters narrow the count, and a registration from
before the inbox attributes comes after the rest."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from bench.inbox import WAITING_TYPE, populate
from domain.contracts.registration import Stage
from domain.review_rule import ReviewReach, review_reach
from domain.roles import ROLE_PERMISSIONS, Role
from edge.inbox import InboxFilter, inbox_query, reviewer_inbox
from plumbing import search
from store.models import Account
from testkit import eventually

COUNT = 75


def unit_admin(unit_code: str) -> Account:
    return Account(
        username="admin_test",
        unit_code=unit_code,
        role=Role.UNIT_ADMIN.value,
        permissions=list(ROLE_PERMISSIONS[Role.UNIT_ADMIN]),
        active=True,
        applicant_key="0" * 32,
    )


async def test_every_page_is_its_slice_of_the_rows_sorted_by_entry(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    # A unit of this test's own: the dev server is shared by the whole session.
    unit = "9132" + secrets.token_hex(7).upper()
    prefix = secrets.token_hex(4)
    await populate(client, COUNT, unit_code=unit, id_prefix=prefix)
    legacy = f"registration-{prefix}{'f' * 24}"
    await client.start_workflow(
        WAITING_TYPE,
        id=legacy,
        task_queue="inbox-test-nobody",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search.STAGE, Stage.AWAITING_REVIEW.value),
                SearchAttributePair(search.UNIT_CODE, unit),
                SearchAttributePair(search.REQUESTED_ROLE, Role.USER.value),
            ]
        ),
    )
    admin = unit_admin(unit)
    query = inbox_query(admin_reach := _reach(admin))

    async def all_visible() -> bool:
        return (await client.count_workflows(query)).count == COUNT + 1

    await eventually(all_visible)
    rows = [e async for e in client.list_workflows(query)]
    keyed = sorted(
        (e for e in rows if e.typed_search_attributes.get(search.REVIEW_ENTERED_AT)),
        key=lambda e: (e.typed_search_attributes.get(search.REVIEW_ENTERED_AT), e.id),
    )
    expected = [e.id for e in keyed] + [legacy]

    seen = []
    for number in range(1, 5):
        page = await reviewer_inbox(client, admin, page=number)
        assert page.total == COUNT + 1 and page.pages == 4 and page.page == number
        seen += [item.workflow_id for item in page.items]
    assert seen == expected
    first = (await reviewer_inbox(client, admin)).items[0]
    assert first.masked_name == "测*" and first.deadline and first.entered_at
    assert first.deadline > first.entered_at
    # Past the last page: the last page.
    assert (await reviewer_inbox(client, admin, page=99)).page == 4

    now = datetime.now(UTC)
    overdue = [
        e.id
        for e in keyed
        if (due := e.typed_search_attributes.get(search.REVIEW_DEADLINE)) and due < now
    ]
    page = await reviewer_inbox(client, admin, InboxFilter(overdue=True), page_size=100, now=now)
    assert [item.workflow_id for item in page.items] == overdue and 0 < len(overdue) < COUNT
    resubmitted = await reviewer_inbox(client, admin, InboxFilter(resubmitted=True))
    assert resubmitted.total == sum(
        1 for e in rows if (e.typed_search_attributes.get(search.REVIEW_ROUND) or 1) > 1
    )
    assert all(item.round > 1 for item in resubmitted.items)
    assert admin_reach.unit_code == unit


def _reach(account: Account) -> ReviewReach:
    reach = review_reach(account)
    assert reach is not None
    return reach


async def test_a_reloaded_page_checks_its_cut_with_one_count_and_follows_rows_that_left(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    unit = "9132" + secrets.token_hex(7).upper()
    await populate(client, COUNT, unit_code=unit, id_prefix=secrets.token_hex(4))
    admin = unit_admin(unit)
    query = inbox_query(_reach(admin))

    async def all_visible() -> bool:
        return (await client.count_workflows(query)).count == COUNT

    await eventually(all_visible)
    counts: list[str] = []
    count_workflows = client.count_workflows

    async def counted(query: str, **options: Any) -> Any:
        counts.append(query)
        return await count_workflows(query, **options)

    client.count_workflows = counted  # type: ignore[method-assign, assignment]
    try:
        first = await reviewer_inbox(client, admin)
        searched = len(counts)
        counts.clear()
        again = await reviewer_inbox(client, admin)
        # The total, the keyed rows, and one count that the remembered cut still holds.
        assert len(counts) == 3 < searched
        assert again.items == first.items

        # The earliest rows leave (here terminated, which the inbox leaves out too): the cut
        # no longer holds, and the page is found anew.
        for item in first.items[:15]:
            await client.get_workflow_handle(item.workflow_id).terminate("gone")

        async def left() -> bool:
            return (await count_workflows(query)).count == COUNT - 15

        await eventually(left)
        rows = [e async for e in client.list_workflows(query)]
        expected = sorted(
            rows, key=lambda e: (e.typed_search_attributes.get(search.REVIEW_ENTERED_AT), e.id)
        )
        later = await reviewer_inbox(client, admin)
        assert [item.workflow_id for item in later.items] == [e.id for e in expected[:20]]
    finally:
        del client.count_workflows
