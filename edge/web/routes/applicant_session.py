"""The applicant's session: bound to one registration when it is started, or, for a returning
applicant, after the SMS code to the registration's phone: `/api/v1/applicant/session`."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response

from domain import texts
from edge import reentry
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


@router.post("/session", responses=responses(422, 429))
async def ask_for_a_code(
    body: ApplicantReentry, request: Request, background: BackgroundTasks, edge: Services
) -> ReentryAnswer:
    """A returning applicant: the ID number and the phone of the registration. An SMS code goes
    to that phone if and only if such a registration exists; the answer is the same either way.
    Then `POST /api/v1/applicant/session/code` with the challenge and the code."""
    asked = await reentry.ask_for_code(
        edge, body.id_number, body.phone, address=client_address(request)
    )
    background.add_task(reentry.send_if_registered, edge, asked)
    return ReentryAnswer(challenge=asked.challenge, message_zh=texts.EDGE_REENTRY_SENT)


@router.post("/session/code", responses=responses(422))
async def enter_with_the_code(
    body: CodeAnswer, request: Request, response: Response, edge: Services
) -> ApplicantSessionView:
    """The code from the SMS: a session for that one registration (cookie)."""
    workflow_id = await reentry.answer_code(edge, body.challenge, body.code)
    return await bind_applicant(request, response, edge, workflow_id)
