"""Staff log in and out: `/api/v1/staff/session`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from domain import texts
from domain.roles import ROLE_TEXT_ZH, Role
from edge.web.deps import (
    STAFF_COOKIE,
    CurrentStaff,
    PendingStaff,
    Services,
    clear_session_cookie,
    set_session_cookie,
)
from edge.web.errors import responses
from edge.web.schemas import (
    CodeAnswer,
    Done,
    LoginAnswer,
    LoginRequest,
    PasswordChange,
    StaffSessionView,
)

router = APIRouter(prefix="/api/v1/staff", tags=["staff session"])


def client_address(request: Request) -> str:
    # uvicorn puts the proxy's X-Forwarded-For here when the proxy is trusted (settings).
    return request.client.host if request.client else "unknown"


@router.post("/session", responses=responses(401, 403, 422, 429))
async def log_in(
    body: LoginRequest, request: Request, response: Response, edge: Services
) -> LoginAnswer:
    """Log in with username and password. Sets the session cookie (httpOnly); the answer's
    `csrf_token` goes with every state-changing request made with that cookie. An admin may
    still owe an SMS code (`second_factor`)."""
    login = await edge.auth.login(body.username, body.password, address=client_address(request))
    lifetime = edge.settings.staff_session_max_hours * 3600
    set_session_cookie(request, response, STAFF_COOKIE, login.token, max_age=lifetime)
    return LoginAnswer(
        username=login.session.subject,
        csrf_token=login.session.csrf_token,
        expires_at=login.session.expires_at,
        second_factor="sms" if login.challenge else None,
        challenge=login.challenge,
        masked_phone=login.masked_phone,
    )


@router.post("/session/code", responses=responses(401, 403, 422))
async def answer_second_factor(body: CodeAnswer, session: PendingStaff, edge: Services) -> Done:
    """The SMS code of a login that still owes it."""
    await edge.auth.second_factor(session, body.challenge, body.code)
    return Done(message_zh=texts.EDGE_LOGGED_IN)


@router.get("/session", responses=responses(401))
async def who_am_i(staff: CurrentStaff) -> StaffSessionView:
    role = Role(staff.account.role)
    return StaffSessionView(
        username=staff.username,
        role=role,
        role_zh=ROLE_TEXT_ZH[role],
        unit_code=staff.account.unit_code,
        csrf_token=staff.csrf_token,
        expires_at=staff.session.expires_at,
    )


@router.delete("/session", responses=responses(401, 403))
async def log_out(
    session: PendingStaff, request: Request, response: Response, edge: Services
) -> Done:
    """End this session (one that still owes its SMS code too)."""
    await edge.sessions.end(session.token_hash, "logout")
    clear_session_cookie(request, response, STAFF_COOKIE)
    return Done(message_zh=texts.EDGE_LOGGED_OUT)


@router.post("/password", responses=responses(401, 403, 422))
async def change_password(
    body: PasswordChange, staff: CurrentStaff, request: Request, response: Response, edge: Services
) -> LoginAnswer:
    """Change the password: every session of the account ends, this one gets a new one."""
    await edge.auth.change_password(staff.username, body.current_password, body.new_password)
    token, session = await edge.sessions.create("staff", staff.username)
    lifetime = edge.settings.staff_session_max_hours * 3600
    set_session_cookie(request, response, STAFF_COOKIE, token, max_age=lifetime)
    return LoginAnswer(
        username=staff.username, csrf_token=session.csrf_token, expires_at=session.expires_at
    )
