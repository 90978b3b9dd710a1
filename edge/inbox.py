"""The reviewer's inbox: registrations this reviewer may decide, found by Temporal visibility.

A row needs nothing but what the visibility list returns: search attributes and the memo (the
masked name). No row is described or queried, so a page costs a handful of `count_workflows`
calls and one small `list_workflows`, however many registrations wait.

The server's SQL visibility cannot sort (no ORDER BY), so the inbox pages by counting: rows are
ordered by `ReviewEnteredAt`, which for one reminder policy and calendar is the order of their
deadlines, and a page is the window of entry instants whose counts bracket its ranks. The window
is found by probing instants (`count_workflows` with `ReviewEnteredAt < t`), then listed and
sorted here; it holds at most about three pages' worth of rows.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecution

from domain.contracts.registration import Stage
from domain.review_rule import ReviewReach, review_reach
from domain.roles import Role
from plumbing import search
from starter.client import MEMO_MASKED_NAME, MEMO_UNIT_NAME
from store.models import Account, AuditEvent

PAGE_SIZE = 20
UNIT_CODE = re.compile(r"^[0-9A-Z]{18}$")
_WORKFLOW_ID = re.compile(r"^registration-[0-9a-f]{32}$")
# Entry instants before this are impossible: the lower end of every search.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_PROBES = 40


class Tab(StrEnum):
    PENDING = "pending"  # what this reviewer decides first
    ESCALATED = "escalated"  # escalated to this reviewer (reach over the whole system)
    ALL = "all"  # every waiting registration the reach covers (system admins)
    DECIDED = "decided"  # decided by this reviewer (the audit table)


@dataclass(frozen=True)
class InboxFilter:
    tab: Tab = Tab.PENDING
    unit_code: str | None = None  # only for a reach over the whole system
    role: Role | None = None
    resubmitted: bool | None = None  # round > 1, or round 1 only
    overdue: bool = False


@dataclass(frozen=True)
class InboxItem:
    workflow_id: str
    masked_name: str
    unit_code: str
    unit_name: str
    requested_role: Role | None
    round: int
    escalation_level: int
    nudges: int
    entered_at: datetime | None
    deadline: datetime | None


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    total: int
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


@dataclass(frozen=True)
class DecidedItem:
    workflow_id: str
    decided_at: datetime
    outcome: str
    masked_name: str = ""
    stage: str = ""


@dataclass(frozen=True)
class DecidedPage:
    items: list[DecidedItem] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def tabs_for(reach: ReviewReach | None) -> list[Tab]:
    if reach is None:
        return [Tab.DECIDED]
    if reach.everything:
        return [Tab.PENDING, Tab.ESCALATED, Tab.ALL, Tab.DECIDED]
    return [Tab.PENDING, Tab.DECIDED]


def _quoted(instant: datetime) -> str:
    return '"' + instant.astimezone(UTC).isoformat(timespec="microseconds") + '"'


def inbox_query(
    reach: ReviewReach, filters: InboxFilter = InboxFilter(), *, now: datetime | None = None
) -> str:
    """The visibility query of an inbox tab, from the review rule's reach: a unit's staff
    applications, or, for a reach over the whole system, unit-admin applications and everything
    escalated (the staff of every unit are their own unit's to decide first)."""
    # Running only: one an operator terminated keeps the stage it had, and must not wait here.
    parts = [f'ExecutionStatus="Running" AND {search.STAGE.name}="{Stage.AWAITING_REVIEW.value}"']
    if not reach.everything:
        parts += [
            f'{search.UNIT_CODE.name}="{reach.unit_code}"',
            f'{search.REQUESTED_ROLE.name}="{Role.USER.value}"',
        ]
    elif filters.tab == Tab.PENDING:
        parts.append(
            f'({search.REQUESTED_ROLE.name}="{Role.UNIT_ADMIN.value}"'
            f" OR {search.ESCALATION_LEVEL.name} > 0)"
        )
    elif filters.tab == Tab.ESCALATED:
        parts.append(f"{search.ESCALATION_LEVEL.name} > 0")
    if reach.everything and filters.unit_code:
        if not UNIT_CODE.match(filters.unit_code):
            raise ValueError("a unit code is 18 digits or capital letters")
        parts.append(f'{search.UNIT_CODE.name}="{filters.unit_code}"')
    if reach.everything and filters.role is not None:
        parts.append(f'{search.REQUESTED_ROLE.name}="{Role(filters.role).value}"')
    if filters.resubmitted is True:
        parts.append(f"{search.REVIEW_ROUND.name} > 1")
    elif filters.resubmitted is False:
        parts.append(f"{search.REVIEW_ROUND.name} = 1")
    if filters.overdue:
        parts.append(f"{search.REVIEW_DEADLINE.name} < {_quoted(now or datetime.now(UTC))}")
    return " AND ".join(parts)


def _item(execution: WorkflowExecution, memo: dict[str, object]) -> InboxItem:
    found = execution.typed_search_attributes
    role = found.get(search.REQUESTED_ROLE)
    return InboxItem(
        workflow_id=execution.id,
        masked_name=str(memo.get(MEMO_MASKED_NAME) or ""),
        unit_code=found.get(search.UNIT_CODE) or "",
        unit_name=str(memo.get(MEMO_UNIT_NAME) or ""),
        requested_role=Role(role) if role and role in Role._value2member_map_ else None,
        round=found.get(search.REVIEW_ROUND) or 1,
        escalation_level=found.get(search.ESCALATION_LEVEL) or 0,
        nudges=found.get(search.NUDGE_COUNT) or 0,
        entered_at=found.get(search.REVIEW_ENTERED_AT),
        deadline=found.get(search.REVIEW_DEADLINE),
    )


async def _items(client: Client, query: str, limit: int) -> list[InboxItem]:
    executions = [
        e async for e in client.list_workflows(query, page_size=min(1000, limit), limit=limit)
    ]
    memos = await asyncio.gather(*(e.memo() for e in executions))
    return [_item(e, dict(m)) for e, m in zip(executions, memos, strict=True)]


class _Ranks:
    """How many rows entered review before an instant, each probe counted from the nearer end
    (a count costs what it matches) and remembered, so the two ends of a window share theirs."""

    def __init__(self, client: Client, query: str, top: datetime, keyed: int) -> None:
        self._client = client
        self.query = query
        self.top = top
        self.keyed = keyed
        self._known: dict[datetime, asyncio.Future[int]] = {}

    async def below(self, instant: datetime, *, near_top: bool) -> int:
        known = self._known.get(instant)
        if known is None:
            known = asyncio.ensure_future(self._count(instant, near_top))
            self._known[instant] = known
        return await known

    async def _count(self, instant: datetime, near_top: bool) -> int:
        key = search.REVIEW_ENTERED_AT.name
        if near_top:
            query = f"{self.query} AND {key} >= {_quoted(instant)} AND {key} < {_quoted(self.top)}"
            return self.keyed - (await self._client.count_workflows(query)).count
        query = f"{self.query} AND {key} < {_quoted(instant)}"
        return (await self._client.count_workflows(query)).count


# Cut instants found before, per query and ranks: a reviewer reloads the first page, and the
# staff of one unit share its query. One count checks that an instant still cuts between the
# ranks (rows come and go), which is all a window needs; a search costs about 16 counts.
_CUTS: OrderedDict[tuple[str, int, int], datetime] = OrderedDict()
_CUTS_KEPT = 512


async def _cut(ranks: _Ranks, low: int, high: int, *, start: bool) -> tuple[datetime, int]:
    """An instant `t` with `low <= ranks.below(t) <= high`, and that count. Where ties allow
    none, the nearest on the safe side: below `low` for a window's start, above `high` for its
    end, so that the window still holds every rank between."""
    key = (ranks.query, low, high)
    if (known := _CUTS.get(key)) is not None:
        count = await ranks.below(known, near_top=2 * low > ranks.keyed)
        if low <= count <= high:
            _CUTS.move_to_end(key)
            return known, count
    found = await _search_cut(ranks, low, high, start=start)
    if low <= found[1] <= high:
        _CUTS[key] = found[0]
        _CUTS.move_to_end(key)
        while len(_CUTS) > _CUTS_KEPT:
            _CUTS.popitem(last=False)
    return found


async def _search_cut(ranks: _Ranks, low: int, high: int, *, start: bool) -> tuple[datetime, int]:
    top, top_count = ranks.top, ranks.keyed
    # Recent instants are dense with rows: widen the bracket backwards from the top.
    step = timedelta(hours=6)
    bottom = top - step
    bottom_count = await ranks.below(bottom, near_top=True)
    while bottom_count > high and bottom > _EPOCH:
        top, top_count = bottom, bottom_count
        step *= 4
        bottom = max(_EPOCH, top - step)
        bottom_count = await ranks.below(bottom, near_top=True)
    interpolate = True
    for _ in range(_PROBES):
        if low <= bottom_count <= high:
            return bottom, bottom_count
        width = top - bottom
        if width <= timedelta(microseconds=2):
            break
        # Interpolate between the counts; when that did not halve the bracket, bisect once,
        # so that rows bunched at one end cannot make the search crawl.
        if interpolate:
            share = ((low + high) / 2 - bottom_count) / max(1, top_count - bottom_count)
            probe = bottom + width * min(0.999, max(0.001, share))
        else:
            probe = bottom + width / 2
        near_top = bottom_count + top_count > ranks.keyed
        probe_count = await ranks.below(probe, near_top=near_top)
        if low <= probe_count <= high:
            return probe, probe_count
        if probe_count < low:
            bottom, bottom_count = probe, probe_count
        else:
            top, top_count = probe, probe_count
        interpolate = not interpolate or top - bottom <= width / 2
    return (bottom, bottom_count) if start else (top, top_count)


async def reviewer_inbox(
    client: Client,
    reviewer: Account,
    filters: InboxFilter = InboxFilter(),
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> InboxPage:
    """One page of the registrations waiting for `reviewer`, the earliest deadline first."""
    reach = review_reach(reviewer)
    if reach is None or filters.tab == Tab.DECIDED:
        return InboxPage([], 0, 1, page_size)
    now = now or datetime.now(UTC)
    query = inbox_query(reach, filters, now=now)
    key = search.REVIEW_ENTERED_AT.name
    # Entry instants come from the workflows' clock: a day's margin for the edge's own.
    top = now + timedelta(days=1)
    total, keyed = await asyncio.gather(
        client.count_workflows(query),
        client.count_workflows(f"{query} AND {key} < {_quoted(top)}"),
    )
    pages = max(1, math.ceil(total.count / page_size))
    page = min(max(1, page), pages)
    first, last = (page - 1) * page_size, page * page_size
    ranks = _Ranks(client, query, top, keyed.count)

    items: list[InboxItem] = []
    if first < keyed.count:
        start, end = await asyncio.gather(
            _cut(ranks, max(0, first - 2 * page_size), first, start=True) if first else _nothing(),
            _cut(ranks, last, last + 2 * page_size, start=False)
            if last < keyed.count
            else _nothing(),
        )
        window = f"{query} AND {key} < {_quoted(end[0] if end else top)}"
        if start is not None:
            window += f" AND {key} >= {_quoted(start[0])}"
        rows = await _items(client, window, 1000)
        rows.sort(key=lambda item: (item.entered_at or now, item.workflow_id))
        skip = first - start[1] if start else 0
        items = rows[skip : skip + page_size]
    # Registrations that entered review before the attributes existed: after the rest.
    if len(items) < page_size and total.count > keyed.count:
        offset = max(0, first - keyed.count)
        legacy = await _items(client, f"{query} AND {key} IS NULL", offset + page_size - len(items))
        items += legacy[offset:]
    return InboxPage(items, total.count, page, page_size)


async def _nothing() -> None:
    return None


async def decided_by(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    username: str,
    *,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> DecidedPage:
    """The registrations `username` decided (counted decisions in the audit table), the latest
    first, with their masked names and stages from one visibility list."""
    counted = (AuditEvent.kind == "decision", AuditEvent.actor == username)
    async with sessions() as session:
        total = await session.scalar(select(func.count()).select_from(AuditEvent).where(*counted))
        pages = max(1, math.ceil((total or 0) / page_size))
        page = min(max(1, page), pages)
        rows = list(
            await session.scalars(
                select(AuditEvent)
                .where(*counted)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .offset((page - 1) * page_size)
                .limit(page_size)
            )
        )
    ids = [row.registration_id.split("/", 1)[0] for row in rows]
    known = sorted({i for i in ids if _WORKFLOW_ID.match(i)})
    latest: dict[str, WorkflowExecution] = {}
    if known:
        listed = ", ".join(f'"{i}"' for i in known)
        async for found in client.list_workflows(f"WorkflowId IN ({listed})"):
            seen = latest.get(found.id)
            if seen is None or found.start_time > seen.start_time:
                latest[found.id] = found
    items = []
    for row, workflow_id in zip(rows, ids, strict=True):
        execution = latest.get(workflow_id)
        memo = dict(await execution.memo()) if execution else {}
        stage = execution.typed_search_attributes.get(search.STAGE) if execution else None
        items.append(
            DecidedItem(
                workflow_id=workflow_id,
                decided_at=row.at,
                outcome=row.outcome,
                masked_name=str(memo.get(MEMO_MASKED_NAME) or ""),
                stage=stage or "",
            )
        )
    return DecidedPage(items, total or 0, page, page_size)
