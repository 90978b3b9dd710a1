"""Signed assertions, pure: each way a message can fail to be vouched for gives its own code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import texts
from domain.assertions import (
    Assertion,
    AssertionVerifier,
    new_signing_key,
    parse_signing_key,
    parse_trusted_keys,
)
from domain.contracts.base import Vouched
from domain.contracts.registration import ReviewDecision, Withdrawal
from domain.vouching import SIGNAL_GRACE, applicant_actor, senders, vouch_refusal

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
WORKFLOW = "registration-0123456789abcdef0123456789abcdef"
PRIVATE, PUBLIC = new_signing_key("k1")
OLD_PRIVATE, OLD_PUBLIC = new_signing_key("k0")
RETIRED_AT = NOW - timedelta(days=1)
VERIFIER = AssertionVerifier(parse_trusted_keys(f"{PUBLIC},{OLD_PUBLIC}@{RETIRED_AT.isoformat()}"))
SIGNER = parse_signing_key(PRIVATE)
DECISION = ReviewDecision(decision_id="d-1", reviewer_id="admin_hospital", approve=True)
STAFF_DECISION = senders("staff", names_actor="reviewer_id", per_round=True)


def signed(payload=DECISION, *, signer=SIGNER, **changes) -> Assertion:
    fields = {
        "actor": "admin_hospital",
        "actor_kind": "staff",
        "workflow_id": WORKFLOW,
        "message": "decide",
        "payload": payload,
        "now": NOW,
        "ttl": timedelta(minutes=5),
        "round": 1,
        **changes,
    }
    return signer.sign(**fields)


def tampered(assertion: Assertion, **changes: object) -> Assertion:
    return assertion.model_copy(update=changes)


def refusal(assertion: Assertion | None, **context: Any) -> str | None:
    fields = {
        "workflow_id": WORKFLOW,
        "message": "decide",
        "payload": DECISION,
        "now": NOW + timedelta(minutes=1),
        "round": 1,
        **context,
    }
    return VERIFIER.refusal(assertion, **fields)


REJECTION = ReviewDecision(
    decision_id="d-1", reviewer_id="admin_hospital", approve=False, reason="other"
)
ROGUE = parse_signing_key(new_signing_key("rogue")[0])
IMPOSTOR = parse_signing_key(new_signing_key("k1")[0])  # our key's ID, another key


REFUSALS = [
    (None, {}, "assertion.missing"),
    (signed(signer=ROGUE), {}, "assertion.unknown_key"),
    (signed(signer=IMPOSTOR), {}, "assertion.bad_signature"),
    (tampered(signed(), actor="sysadmin"), {}, "assertion.bad_signature"),
    (tampered(signed(), signature="not-base64!"), {}, "assertion.bad_signature"),
    (signed(signer=parse_signing_key(OLD_PRIVATE)), {}, "assertion.key_retired"),
    (signed(), {"now": NOW + timedelta(minutes=6)}, "assertion.expired"),
    (signed(), {"now": NOW - timedelta(minutes=1)}, "assertion.not_yet_valid"),
    (signed(), {"workflow_id": WORKFLOW[:-1] + "0"}, "assertion.wrong_workflow"),
    (signed(), {"message": "review_decision"}, "assertion.wrong_message"),
    (signed(), {"round": 2}, "assertion.wrong_round"),
    (signed(), {"payload": REJECTION}, "assertion.wrong_payload"),
    (signed(), {}, None),
    # Within the clock skew the edge's and the workers' clocks may differ by.
    (signed(), {"now": NOW - timedelta(seconds=20)}, None),
]


@pytest.mark.parametrize(
    ("assertion", "context", "code"),
    REFUSALS,
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_refusal_has_its_code(assertion, context, code) -> None:
    assert refusal(assertion, **context) == code


def test_a_retired_key_still_verifies_what_it_signed_before_it_retired() -> None:
    old = parse_signing_key(OLD_PRIVATE)
    before = signed(signer=old, now=RETIRED_AT - timedelta(minutes=1))
    assert refusal(before, now=RETIRED_AT) is None


def test_a_signal_read_late_counts_within_the_grace_only() -> None:
    assertion = signed()
    late = NOW + timedelta(hours=5)
    assert refusal(assertion, now=late) == "assertion.expired"
    assert refusal(assertion, now=late, grace=SIGNAL_GRACE) is None
    too_late = assertion.expires_at + SIGNAL_GRACE + timedelta(seconds=1)
    assert refusal(assertion, now=too_late, grace=SIGNAL_GRACE) == "assertion.expired"


def test_the_digest_leaves_the_assertion_out() -> None:
    assertion = signed()
    assert refusal(assertion, payload=DECISION.model_copy(update={"assertion": assertion})) is None


def vouch(allowed, assertion, payload, message="decide", round=1):
    return vouch_refusal(
        VERIFIER,
        allowed,
        assertion,
        workflow_id=WORKFLOW,
        message=message,
        payload=payload,
        now=NOW,
        round=round,
    )


APPLICANT = applicant_actor(WORKFLOW)
APPLICANT_ONLY = senders("applicant", per_round=True)
APPLICANT_OR_SERVICE = senders("applicant", "service", per_round=True)
WITHDRAWAL = Withdrawal(reason="")
KIND, ACTOR = "assertion.wrong_actor_kind", "assertion.wrong_actor"


@pytest.mark.parametrize(
    ("allowed", "actor", "kind", "payload", "message", "code"),
    [
        (STAFF_DECISION, "admin_hospital", "staff", DECISION, "decide", None),
        # The payload names another reviewer than the one who logged in.
        (STAFF_DECISION, "admin_centre", "staff", DECISION, "decide", ACTOR),
        (STAFF_DECISION, APPLICANT, "applicant", DECISION, "decide", KIND),
        (STAFF_DECISION, "service:hr", "service", DECISION, "decide", KIND),
        (APPLICANT_ONLY, APPLICANT, "applicant", WITHDRAWAL, "withdraw", None),
        (APPLICANT_ONLY, "admin_hospital", "staff", WITHDRAWAL, "withdraw", KIND),
        (APPLICANT_ONLY, "service:hr", "service", WITHDRAWAL, "withdraw", KIND),
        # Another registration's session.
        (APPLICANT_ONLY, APPLICANT[:-1] + "0", "applicant", WITHDRAWAL, "withdraw", ACTOR),
        (APPLICANT_OR_SERVICE, "service:hr", "service", Vouched(), "nudge", None),
        (APPLICANT_OR_SERVICE, "service:", "service", Vouched(), "nudge", ACTOR),
        (APPLICANT_OR_SERVICE, "hr", "service", Vouched(), "nudge", ACTOR),
    ],
)  # fmt: skip
def test_who_may_send_which_message(allowed, actor, kind, payload, message, code) -> None:
    assertion = signed(payload, actor=actor, actor_kind=kind, message=message)
    assert vouch(allowed, assertion, payload, message) == code


def test_a_message_outside_rounds_is_signed_without_one() -> None:
    no_rounds = senders("staff", names_actor="reviewer_id")
    assert vouch(no_rounds, signed(round=None), DECISION, round=7) is None
    assert vouch(no_rounds, signed(round=1), DECISION) == "assertion.wrong_round"
    assert vouch(no_rounds, None, DECISION) == "assertion.missing"


@pytest.mark.parametrize(
    "text",
    ["k1:short", "k1:" + "A" * 43 + "@2026-01-01T00:00:00", "k1:" + PUBLIC[3:] + "@yesterday"],
)
def test_malformed_trusted_keys_are_refused_at_start(text: str) -> None:
    with pytest.raises(ValueError):
        parse_trusted_keys(text)


def test_every_refusal_code_has_its_texts() -> None:
    codes = {code for _, _, code in REFUSALS if code} | {KIND, ACTOR}
    assert codes == set(texts.ASSERTIONS)


def test_an_erasure_is_the_named_registrations_applicant_alone() -> None:
    """The erasure workflow is not the registration: the actor is the applicant of the
    registration its input names, and no other registration's session."""
    from domain.contracts.internal import ErasureRequest

    erasure_of = senders("applicant", names_actor="registration")
    mine = ErasureRequest(registration="registration-" + "a" * 32)

    def asserted(actor: str) -> Assertion:
        return signed(
            mine,
            actor=actor,
            actor_kind="applicant",
            workflow_id=WORKFLOW,
            message="erase",
            round=None,
        )

    owner = applicant_actor(mine.registration)
    assert vouch(erasure_of, asserted(owner), mine, message="erase", round=None) is None
    other = applicant_actor("registration-" + "b" * 32)
    assert vouch(erasure_of, asserted(other), mine, message="erase", round=None) == (
        "assertion.wrong_actor"
    )
    assert vouch(erasure_of, None, mine, message="erase", round=None) == "assertion.missing"
