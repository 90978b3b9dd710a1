"""Hypothesis throws malformed messages at a live registration: no workflow task ever fails,
every refusal says why, and nothing is written."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.contracts.registration import (
    PhoneCodeAnswer,
    Resubmission,
    ReviewDecision,
    Signature,
    Stage,
    Withdrawal,
)
from store.models import AuditEvent, OutboxMessage, PhoneCode
from testkit import count, reach, request

pytestmark = pytest.mark.asyncio

# JSON values of every shape, the way a careless integrator might send them.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def near_misses(**keys: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """The right keys with values of any shape, or any JSON at all."""
    return st.fixed_dictionaries(keys) | json_values


UPDATES: dict[str, tuple[type[BaseModel], st.SearchStrategy[object]]] = {
    "submit_phone_code": (PhoneCodeAnswer, near_misses(code=json_values)),
    "sign": (Signature, near_misses(application_digest=json_values, signature_ref=json_values)),
    "decide": (
        ReviewDecision,
        near_misses(decision_id=json_values, reviewer_id=json_values, approve=json_values),
    ),
    "resubmit": (Resubmission, near_misses(request=json_values)),
}
SIGNALS: dict[str, tuple[type[BaseModel], st.SearchStrategy[object]]] = {
    "review_decision": UPDATES["decide"],
    "withdraw": (Withdrawal, near_misses(reason=json_values)),
}


def valid(model: type[BaseModel], value: object) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


@pytest.fixture
async def waiting(dev):
    """A registration waiting for its SMS code, on the dev server."""
    workflow_id = await dev.client.start(request())
    await reach(dev.client, workflow_id, Stage.AWAITING_PHONE_CODE)
    return workflow_id


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_malformed_messages_change_nothing(dev, waiting, data) -> None:
    handle = dev.env.client.get_workflow_handle(waiting)
    tables = (AuditEvent, OutboxMessage, PhoneCode)
    before = {model: await count(dev.app, model) for model in tables}
    name = data.draw(st.sampled_from(sorted(UPDATES) + sorted(SIGNALS)))
    model, values = UPDATES.get(name) or SIGNALS[name]
    value = data.draw(values)
    assume(not valid(model, value))

    if name in SIGNALS:
        await handle.signal(name, value)
    else:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(name, value)
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.message

    # A query after the signal is answered after it was handled (or dropped).
    assert (await dev.client.status(waiting)).stage == Stage.AWAITING_PHONE_CODE
    assert {model: await count(dev.app, model) for model in tables} == before
    history = await handle.fetch_history()
    failed = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    assert not [event for event in history.events if event.event_type == failed]
