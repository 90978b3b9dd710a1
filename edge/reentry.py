"""A returning applicant (查询注册进度): the ID number and the phone of a registration, then the
SMS code sent to that phone, give a session bound to that one registration. The JSON API
(`/api/v1/applicant/session`) and the page ask through here.

The code is sent if and only if a registration of that ID number exists with that phone. The
answer goes out first, the same either way and as fast (`Reentry.challenge`); the look-up and
the SMS follow (`send_if_registered`, a background task of the route). Asking is throttled per
address and per registration: every request counts, as each may send an SMS.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from domain import rules
from domain.keys import applicant_key, registration_workflow_id
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.web.services import EdgeServices


@dataclass(frozen=True)
class Reentry:
    challenge: str
    workflow_id: str
    phone: str


async def ask_for_code(edge: EdgeServices, id_number: str, phone: str, *, address: str) -> Reentry:
    """The challenge to answer with the code, whether or not a code will be sent.

    Raises:
        rules.RuleViolation: the ID number or the phone is malformed (nothing looked up).
        EdgeRefused: `applicant.throttled`, with retry_after.
    """
    number = rules.check_id_number_format(id_number)
    mobile = rules.normalize_mobile(phone)
    workflow_id = registration_workflow_id(
        applicant_key(edge.settings.applicant_key_secret, number)
    )
    throttle = edge.applicant_throttle
    keys = [throttle.key("address", address), throttle.key("registration", workflow_id)]
    if wait := await throttle.retry_after(keys):
        refused("applicant.throttled")
        raise EdgeRefused("applicant.throttled", retry_after=wait)
    await throttle.failed(keys)
    return Reentry(edge.codes.new_challenge(), workflow_id, mobile)


async def send_if_registered(edge: EdgeServices, reentry: Reentry) -> None:
    """Look the registration up and text the code only if the phone is its phone."""
    registrations = await edge.registrations()
    registered = await registrations.phone_of(reentry.workflow_id)
    matches = registered is not None and hmac.compare_digest(registered, reentry.phone)
    await edge.codes.issue(
        "applicant_session",
        reentry.workflow_id if matches else None,
        reentry.phone if matches else None,
        challenge=reentry.challenge,
    )


async def answer_code(edge: EdgeServices, challenge: str, code: str) -> str:
    """The workflow ID the code was sent for (spends the code, or one attempt).

    Raises:
        EdgeRefused: `code.format`, `code.wrong` (attempts left), `code.expired`, `code.locked`.
    """
    try:
        return await edge.codes.redeem("applicant_session", challenge, code)
    except EdgeRefused as exc:
        refused(exc.code)
        raise
