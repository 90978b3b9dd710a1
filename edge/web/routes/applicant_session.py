"""The applicant's session: bound to one registration when it is started, or, for a returning
applicant, after the SMS code to the registration's phone: `/api/v1/applicant/session`."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, BackgroundTasks, Request, Response

from domain import rules, texts
from domain.keys import applicant_key, registration_workflow_id
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.web.deps import (
    APPLICANT_COOKIE,
    CurrentApplicant,
    Services,
    clear_session_cookie,
    set_session_cookie,
)
from edge.web.errors import responses
from edge.web.routes.staff_session import client_address
from edge.web.schemas import ApplicantReentry, ApplicantSessionView, CodeAnswer, Done, ReentryAnswer
from edge.web.services import EdgeServices

router = APIRouter(prefix="/api/v1/applicant", tags=["applicant session"])


async def bind_applicant(
    request: Request, response: Response, edge: Services, workflow_id: str
) -> ApplicantSessionView:
    """Open a session for the registration `workflow_id` and set its cookie."""
    token, session = await edge.sessions.create("applicant", workflow_id)
    lifetime = edge.settings.applicant_session_hours * 3600
    set_session_cookie(request, response, APPLICANT_COOKIE, token, max_age=lifetime)
    return ApplicantSessionView(
        workflow_id=workflow_id, csrf_token=session.csrf_token, expires_at=session.expires_at
    )


@router.get("/session", responses=responses(401))
async def current_registration(applicant: CurrentApplicant) -> ApplicantSessionView:
    """Which registration this browser's session is bound to, and its CSRF token."""
    return ApplicantSessionView(
        workflow_id=applicant.workflow_id,
        csrf_token=applicant.csrf_token,
        expires_at=applicant.session.expires_at,
    )


@router.delete("/session", responses=responses(401, 403))
async def end_applicant_session(
    applicant: CurrentApplicant, request: Request, response: Response, edge: Services
) -> Done:
    await edge.sessions.end(applicant.session.token_hash, "logout")
    clear_session_cookie(request, response, APPLICANT_COOKIE)
    return Done(message_zh=texts.EDGE_APPLICANT_LEFT)


async def _send_if_registered(
    edge: EdgeServices, workflow_id: str, phone: str, challenge: str
) -> None:
    """After the answer: look the registration up and text the code only if the phone is its
    phone. The answer went out already, the same either way and as fast."""
    registrations = await edge.registrations()
    registered = await registrations.phone_of(workflow_id)
    matches = registered is not None and hmac.compare_digest(registered, phone)
    await edge.codes.issue(
        "applicant_session",
        workflow_id if matches else None,
        phone if matches else None,
        challenge=challenge,
    )


@router.post("/session", responses=responses(422, 429))
async def ask_for_a_code(
    body: ApplicantReentry, request: Request, background: BackgroundTasks, edge: Services
) -> ReentryAnswer:
    """A returning applicant: the ID number and the phone of the registration. An SMS code goes
    to that phone if and only if such a registration exists; the answer is the same either way.
    Then `POST /api/v1/applicant/session/code` with the challenge and the code."""
    id_number = rules.check_id_number_format(body.id_number)
    phone = rules.normalize_mobile(body.phone)
    workflow_id = registration_workflow_id(
        applicant_key(edge.settings.applicant_key_secret, id_number)
    )
    throttle = edge.applicant_throttle
    keys = [
        throttle.key("address", client_address(request)),
        throttle.key("registration", workflow_id),
    ]
    if wait := await throttle.retry_after(keys):
        refused("applicant.throttled")
        raise EdgeRefused("applicant.throttled", retry_after=wait)
    await throttle.failed(keys)  # every request counts: this is what sends SMS
    challenge = edge.codes.new_challenge()
    background.add_task(_send_if_registered, edge, workflow_id, phone, challenge)
    return ReentryAnswer(challenge=challenge, message_zh=texts.EDGE_REENTRY_SENT)


@router.post("/session/code", responses=responses(422))
async def enter_with_the_code(
    body: CodeAnswer, request: Request, response: Response, edge: Services
) -> ApplicantSessionView:
    """The code from the SMS: a session for that one registration (cookie)."""
    try:
        workflow_id = await edge.codes.redeem("applicant_session", body.challenge, body.code)
    except EdgeRefused as exc:
        refused(exc.code)
        raise
    return await bind_applicant(request, response, edge, workflow_id)
