"""Who may send which message: the rule the workers apply on top of a valid assertion.

`domain.assertions` says whether the edge signed this message for this workflow, round and
payload. This module says whether the actor it names may send it, and ties the payload to them:
- a staff member's decision names its maker (`reviewer_id`, `approver_id`, `by`, `username`);
  that name must be the asserted actor, so the business checks that follow (active, this unit,
  not the applicant) run on who really logged in, never on a name someone typed into a payload;
- an applicant has no account: the edge binds the session that started a registration to it,
  and asserts the actor `applicant:<workflow ID>`;
- an integrator's system acts as `service:<token name>`, and only where no person's own will is
  needed (it may relay an SMS code, never sign, withdraw or decide).

Pure and deterministic: workflow code calls it with `workflow.now()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from domain.assertions import ActorKind, Assertion, AssertionVerifier

# A signal waits in history while no worker runs, so it may be read long after the edge signed
# it. It still counts for this long after its assertion expired: a worker outage of up to a day
# loses no decision. Replaying a captured signal within that window does no harm in the same
# registration: a decision counts once per `decision_id`, a withdrawal once, and the assertion
# is bound to its round. Updates are checked at once, with no grace: their caller is waiting.
SIGNAL_GRACE = timedelta(days=1)

APPLICANT_PREFIX = "applicant:"
SERVICE_PREFIX = "service:"


@dataclass(frozen=True)
class Senders:
    """Who may send one message."""

    kinds: frozenset[ActorKind]
    # The payload field that names the actor; it must be the asserted actor.
    names_actor: str | None = None
    # The message belongs to the registration's current review round.
    per_round: bool = False


def senders(*kinds: ActorKind, names_actor: str | None = None, per_round: bool = False) -> Senders:
    return Senders(frozenset(kinds), names_actor, per_round)


def applicant_actor(workflow_id: str) -> str:
    return f"{APPLICANT_PREFIX}{workflow_id}"


def vouch_refusal(
    verifier: AssertionVerifier,
    allowed: Senders,
    assertion: Assertion | None,
    *,
    workflow_id: str,
    message: str,
    payload: BaseModel | None,
    now: datetime,
    round: int | None,
    grace: timedelta = timedelta(0),
) -> str | None:
    """Why this message does not count (a refusal code), or None when it does."""
    refused = verifier.refusal(
        assertion,
        workflow_id=workflow_id,
        message=message,
        payload=payload,
        now=now,
        round=round if allowed.per_round else None,
        grace=grace,
    )
    if refused is not None or assertion is None:
        return refused or "assertion.missing"
    if assertion.actor_kind not in allowed.kinds:
        return "assertion.wrong_actor_kind"
    if assertion.actor != _expected_actor(allowed, assertion, workflow_id, payload):
        return "assertion.wrong_actor"
    return None


def _expected_actor(
    allowed: Senders, assertion: Assertion, workflow_id: str, payload: BaseModel | None
) -> str | None:
    if assertion.actor_kind == "applicant":
        # A workflow of the applicant's other than the registration (an erasure request)
        # names the registration whose session the edge vouched for.
        if allowed.names_actor is not None:
            registration = getattr(payload, allowed.names_actor, None)
            return applicant_actor(registration) if registration else None
        return applicant_actor(workflow_id)
    if assertion.actor_kind == "service":
        name = assertion.actor.removeprefix(SERVICE_PREFIX)
        return assertion.actor if name and name != assertion.actor else None
    if allowed.names_actor is None:
        return assertion.actor
    return getattr(payload, allowed.names_actor, None)
