"""A registration flooded with forged signals still completes when its reviewer decides, and the
forgeries run nothing. A payload over the server's blob-size limit is refused outright. On the
dev server, whose limits come from plumbing/limits.py as in `make run`."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.service import RPCError

from domain.contracts.registration import ReviewDecision, Stage
from plumbing.limits import BLOB_SIZE_ERROR
from store.models import AuditEvent
from testkit import count, reach
from testkit.harness import start_and_verify_phone
from tests.workflows.test_vouching import ROGUE, scheduled, signed

FLOOD = 100


def largest_decision(index: int) -> ReviewDecision:
    """A decision as large as the contract allows: every field at its maximum."""
    return ReviewDecision(
        decision_id=f"{index:064d}",
        reviewer_id="r" * 64,
        approve=True,
        comment="审" * 500,
        fields=["f" * 40] * 20,
    )


async def test_a_flood_of_forged_signals_runs_nothing_and_the_reviewer_still_decides(dev) -> None:
    workflow_id = await start_and_verify_phone(dev)
    await reach(dev.client, workflow_id, Stage.AWAITING_REVIEW)
    handle = dev.env.client.get_workflow_handle(workflow_id)
    before = await scheduled(dev.env, workflow_id)
    now = await dev.env.get_current_time()

    for index in range(FLOOD):
        forged = signed(
            largest_decision(index),
            workflow_id,
            "review_decision",
            actor="r" * 64,
            signer=ROGUE,
            now=now,
        )
        await handle.signal("review_decision", forged)
    # Just under the server's limit: it takes it, and the worker drops it undecoded.
    under = {"decision_id": "x" * (BLOB_SIZE_ERROR - 8 * 1024), "reviewer_id": "a", "approve": 1}
    await handle.signal("review_decision", under)
    # The 1.9 MB signal: the server refuses it, so it never reaches the history.
    with pytest.raises(RPCError) as refused:
        await handle.signal("review_decision", {"decision_id": "x" * 1_900_000})
    assert "size exceeds limit" in str(refused.value)

    status = await dev.client.status(workflow_id)
    assert status.stage == Stage.AWAITING_REVIEW
    assert await scheduled(dev.env, workflow_id) == before
    history = await handle.fetch_history()
    signaled = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert sum(1 for e in history.events if e.event_type == signaled) == FLOOD + 1

    decided = await dev.client.decide(workflow_id, reviewer_id="admin_hospital", approve=True)
    assert decided.accepted
    assert (await dev.client.result(workflow_id)).stage == Stage.COMPLETED
    assert await scheduled(dev.env, workflow_id, "authorize_decision") == 1
    kinds = AuditEvent.kind.in_(("decision", "refused_decision"))
    assert await count(dev.app, AuditEvent, kinds) == 1
