"""What the reviewer's inbox reads from visibility alone: the review's instants, the nudges and
the masked name in the memo; and the earlier rounds' rejections in the status."""

from __future__ import annotations

import pytest
from temporalio.common import TypedSearchAttributes

from devtools.demo import read_sms_code
from domain.contracts.registration import PhoneCodeOutcome, RejectionReason, Stage
from plumbing import search
from starter.client import MEMO_MASKED_NAME
from store.seed import APPLICANTS
from testkit import reach, request
from testkit.harness import Harness

pytestmark = pytest.mark.asyncio


async def in_review(ts: Harness) -> str:
    workflow_id = await ts.client.start(request())
    await reach(ts.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    code = await read_sms_code(ts.app.sessions, APPLICANTS[0].phone)
    assert (await ts.client.submit_phone_code(workflow_id, code)).outcome == (
        PhoneCodeOutcome.ACCEPTED
    )
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    return workflow_id


async def attributes(ts: Harness, workflow_id: str) -> TypedSearchAttributes:
    return (await ts.env.client.get_workflow_handle(workflow_id).describe()).typed_search_attributes


async def test_a_waiting_review_carries_its_instants_nudges_and_masked_name(ts: Harness) -> None:
    workflow_id = await in_review(ts)
    found = await attributes(ts, workflow_id)
    entered, due = found.get(search.REVIEW_ENTERED_AT), found.get(search.REVIEW_DEADLINE)
    assert entered is not None and due is not None
    # The default policy escalates at 09:00 on the third working day: at least three days on.
    assert (due - entered).days >= 2 and due.astimezone().minute == 0
    assert found.get(search.NUDGE_COUNT) == 0
    description = await ts.env.client.get_workflow_handle(workflow_id).describe()
    assert (await description.memo())[MEMO_MASKED_NAME] == "张*"

    assert (await ts.client.nudge(workflow_id)).sent
    assert (await attributes(ts, workflow_id)).get(search.NUDGE_COUNT) == 1


# On the dev server: the Java test server hands back an unset datetime attribute undecodable.
async def test_a_rejection_clears_the_instants_and_is_kept_for_the_next_round(
    dev: Harness,
) -> None:
    ts = dev
    workflow_id = await in_review(ts)
    answer = await ts.client.decide(
        workflow_id,
        reviewer_id="admin_hospital",
        approve=False,
        reason=RejectionReason.INFORMATION_MISMATCH,
        fields=["email"],
        comment="邮箱不是本人常用邮箱",
    )
    assert answer.accepted
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    found = await attributes(ts, workflow_id)
    assert found.get(search.REVIEW_ENTERED_AT) is None
    assert found.get(search.REVIEW_DEADLINE) is None

    await ts.client.resubmit(workflow_id, request(email="zhang.san@example.cn"))
    await reach(ts.client, workflow_id, Stage.AWAITING_REVIEW)
    status = await ts.client.status(workflow_id)
    assert status.round == 2 and status.changed_fields == ["email"]
    [rejection] = status.rejections
    assert rejection.round == 1 and rejection.reviewer == "admin_hospital"
    assert rejection.reason == RejectionReason.INFORMATION_MISMATCH
    assert rejection.fields == ["email"] and rejection.comment == "邮箱不是本人常用邮箱"
    assert (await attributes(ts, workflow_id)).get(search.REVIEW_ROUND) == 2
