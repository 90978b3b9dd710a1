"""What an Update validator says becomes the edge's refusal, with its code."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain import texts
from edge.registrations import update_refusal


@pytest.mark.parametrize(
    ("said", "code", "status"),
    [
        (
            "registration is awaiting_review, not awaiting_phone_code",
            "registration.wrong_stage",
            409,
        ),
        (texts.OUTDATED_SIGNATURE, "signature.outdated", 409),
        ("a correction was already submitted for this round", "resubmit.already_submitted", 409),
        (texts.ID_NUMBER_FIXED, "resubmit.id_number_changed", 422),
        ("assertion.expired: the assertion is no longer valid", "assertion.expired", 403),
        ("assertion.missing", "assertion.missing", 403),
        ("something else entirely", "update.refused", 409),
    ],
)
def test_update_refusal(said: str, code: str, status: int) -> None:
    refusal = update_refusal(WorkflowUpdateFailedError(ApplicationError(said)))
    assert (refusal.code, refusal.status) == (code, status)
    assert refusal.message_zh and said not in refusal.message_zh


def test_a_refused_assertion_speaks_from_the_catalogue() -> None:
    refusal = update_refusal(WorkflowUpdateFailedError(ApplicationError("assertion.expired: late")))
    assert refusal.message_zh == texts.ASSERTIONS["assertion.expired"].zh
