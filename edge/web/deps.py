"""What a route needs, as typed dependencies: who is asking (authenticated here, never by a
field of the payload), the services, and the CSRF token of the browser.

- `CurrentStaff`: a logged-in staff member (cookie or `Authorization: Bearer <session token>`);
  an unsafe request by cookie must carry the session's CSRF token (`X-CSRF-Token` header, or the
  form field `csrf_token`), and the account must still be active.
- `CurrentApplicant`: the session bound to one registration (cookie, CSRF likewise, or bearer).
- `ServiceCaller(scope)`: an integrator's service token that holds `scope`.
- `CsrfToken`: the token to put in a page's forms (the staff session's, else the applicant's,
  else one bound to an anonymous cookie); `AnonymousCsrf` checks it on forms of people who are not
  logged in yet.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request, Response

from domain.assertions import Actor
from domain.vouching import applicant_actor
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.sessions import OpenSession, token_hash
from edge.tokens import SERVICE_PREFIX, ServiceIdentity
from edge.web.services import EdgeServices
from store.models import Account

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def cookie_name(request: Request, base: str) -> str:
    # `__Host-`: the browser keeps such a cookie only if Secure, path /, and no Domain.
    return f"__Host-{base}" if services(request).settings.edge_behind_tls else base


STAFF_COOKIE = "jshr_staff"
APPLICANT_COOKIE = "jshr_applicant"
ANONYMOUS_COOKIE = "jshr_pre"


def services(request: Request) -> EdgeServices:
    edge: EdgeServices = request.app.state.edge
    return edge


Services = Annotated[EdgeServices, Depends(services)]


def set_session_cookie(
    request: Request, response: Response, base: str, token: str, *, max_age: int
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        token,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=services(request).settings.edge_behind_tls,
    )


def clear_session_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        httponly=True,
        samesite="lax",
        secure=services(request).settings.edge_behind_tls,
    )


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _csrf_sent(request: Request) -> str | None:
    if token := request.headers.get(CSRF_HEADER):
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _check_csrf(request: Request, edge: EdgeServices, *bindings: str) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = await _csrf_sent(request)
    if not sent:
        refused("csrf.missing")
        raise EdgeRefused("csrf.missing")
    if not any(edge.sessions.csrf_valid(binding, sent) for binding in bindings):
        refused("csrf.invalid")
        raise EdgeRefused("csrf.invalid")


@dataclass(frozen=True)
class StaffPrincipal:
    account: Account
    session: OpenSession
    via_cookie: bool

    @property
    def username(self) -> str:
        return self.account.username

    @property
    def actor(self) -> Actor:
        return Actor("staff", self.account.username)

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


async def _staff_session(request: Request, edge: EdgeServices) -> tuple[OpenSession, bool]:
    bearer = bearer_token(request)
    token: str | None
    if bearer and not bearer.startswith(SERVICE_PREFIX):
        token, via_cookie = bearer, False
    else:
        token, via_cookie = request.cookies.get(cookie_name(request, STAFF_COOKIE)), True
    try:
        session = await edge.sessions.lookup(token, "staff")
    except EdgeRefused as exc:
        refused(exc.code)
        raise
    if via_cookie:
        await _check_csrf(request, edge, session.token_hash)
    return session, via_cookie


async def pending_staff(request: Request, edge: Services) -> OpenSession:
    """A staff session that may still owe its second factor (only the code route takes it)."""
    session, _ = await _staff_session(request, edge)
    return session


async def current_staff(request: Request, edge: Services) -> StaffPrincipal:
    session, via_cookie = await _staff_session(request, edge)
    return await _principal(edge, session, via_cookie)


async def codec_staff(request: Request, edge: Services) -> StaffPrincipal:
    """A staff member for the codec endpoint: the bearer session token (the CLI), or the session
    cookie without a CSRF token, which the Temporal UI cannot send. That is safe there because
    decoding changes nothing, only exact allowed origins can read the answer (CORS), the body
    must be JSON (a cross-origin one needs a preflight), and a cookie request must name an
    allowed origin (`edge.web.middleware.CodecCors` refuses any other, this one none)."""
    bearer = bearer_token(request)
    if bearer and bearer.startswith(SERVICE_PREFIX):
        # A system's token: decoding is for a named person only.
        refused("codec.not_operator")
        raise EdgeRefused("codec.not_operator")
    token, via_cookie = (
        (bearer, False)
        if bearer
        else (
            request.cookies.get(cookie_name(request, STAFF_COOKIE)),
            True,
        )
    )
    try:
        session = await edge.sessions.lookup(token, "staff")
    except EdgeRefused as exc:
        refused(exc.code)
        raise
    if via_cookie and "origin" not in request.headers:
        # Browsers send Origin with every cross-origin POST: a cookie without one is not the UI.
        refused("codec.origin")
        raise EdgeRefused("codec.origin")
    return await _principal(edge, session, via_cookie)


async def _principal(edge: EdgeServices, session: OpenSession, via_cookie: bool) -> StaffPrincipal:
    if session.pending_factor:
        refused("auth.second_factor_required")
        raise EdgeRefused("auth.second_factor_required")
    async with edge.db() as db:
        account = await db.get(Account, session.subject)
    if account is None or not account.active:
        # Deactivation ends every session at once: this one, now, and the others with it.
        await edge.sessions.end_all("staff", session.subject, "deactivated")
        refused("account.inactive")
        raise EdgeRefused("account.inactive")
    return StaffPrincipal(account, session, via_cookie)


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]
CodecStaff = Annotated[StaffPrincipal, Depends(codec_staff)]
PendingStaff = Annotated[OpenSession, Depends(pending_staff)]


@dataclass(frozen=True)
class ApplicantPrincipal:
    """The session of one registration: whoever holds it acts as that registration's applicant."""

    session: OpenSession

    @property
    def workflow_id(self) -> str:
        return self.session.subject

    @property
    def actor(self) -> Actor:
        return Actor("applicant", applicant_actor(self.session.subject))

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


async def current_applicant(request: Request, edge: Services) -> ApplicantPrincipal:
    """The browser's cookie (CSRF checked), or the same session token as a bearer token (the
    CLI's, which no other site can make a browser send)."""
    bearer = bearer_token(request)
    via_cookie = not bearer or bearer.startswith(SERVICE_PREFIX)
    token = request.cookies.get(cookie_name(request, APPLICANT_COOKIE)) if via_cookie else bearer
    try:
        session = await edge.sessions.lookup(token, "applicant")
    except EdgeRefused as exc:
        refused(exc.code)
        raise
    if via_cookie:
        await _check_csrf(request, edge, session.token_hash)
    return ApplicantPrincipal(session)


CurrentApplicant = Annotated[ApplicantPrincipal, Depends(current_applicant)]

WorkflowId = Annotated[str, Path(pattern=r"^registration-[0-9a-f]{32}$")]


async def registration_applicant(
    workflow_id: WorkflowId, applicant: CurrentApplicant
) -> ApplicantPrincipal:
    """The applicant of the registration in the path, and no other."""
    if applicant.workflow_id != workflow_id:
        refused("registration.not_yours")
        raise EdgeRefused("registration.not_yours")
    return applicant


ApplicantOfPath = Annotated[ApplicantPrincipal, Depends(registration_applicant)]


class ServiceCaller:
    """`Depends(ServiceCaller("registrations:read"))`: a service token holding that scope."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def __call__(self, request: Request, edge: Services) -> ServiceIdentity:
        token = bearer_token(request)
        if not token or not token.startswith(SERVICE_PREFIX):
            refused("token.missing")
            raise EdgeRefused("token.missing")
        identity = await edge.tokens.verify(token)
        if identity is None:
            refused("token.invalid")
            raise EdgeRefused("token.invalid")
        if self.scope not in identity.scopes:
            refused("token.scope")
            raise EdgeRefused("token.scope")
        return identity


def anonymous_binding(request: Request, response: Response) -> str:
    """The anonymous browser's CSRF binding: a random httpOnly cookie, made on first use."""
    name = cookie_name(request, ANONYMOUS_COOKIE)
    value = request.cookies.get(name)
    if not value:
        value = secrets.token_urlsafe(24)
        set_session_cookie(request, response, ANONYMOUS_COOKIE, value, max_age=86400)
        # A page returns its own response object: `edge.web.pages.render` sets it there.
        request.state.anonymous_cookie = value
    return value


async def csrf_token(request: Request, response: Response, edge: Services) -> str:
    for base, kind in ((STAFF_COOKIE, "staff"), (APPLICANT_COOKIE, "applicant")):
        token = request.cookies.get(cookie_name(request, base))
        if token:
            try:
                return (await edge.sessions.lookup(token, kind)).csrf_token  # type: ignore[arg-type]
            except EdgeRefused:
                continue
    return edge.sessions.csrf_token(f"anonymous:{anonymous_binding(request, response)}")


CsrfToken = Annotated[str, Depends(csrf_token)]


async def anonymous_csrf(request: Request, edge: Services) -> None:
    """Checks a form post of someone not logged in (a login page, the registration form): the
    token of any of the browser's own cookies will do, since `CsrfToken` may have handed out
    that of a session it holds."""
    bindings = []
    if value := request.cookies.get(cookie_name(request, ANONYMOUS_COOKIE)):
        bindings.append(f"anonymous:{value}")
    for base in (STAFF_COOKIE, APPLICANT_COOKIE):
        if token := request.cookies.get(cookie_name(request, base)):
            bindings.append(token_hash(token))
    if not bindings:
        refused("csrf.missing")
        raise EdgeRefused("csrf.missing")
    await _check_csrf(request, edge, *bindings)


AnonymousCsrf = Depends(anonymous_csrf)
