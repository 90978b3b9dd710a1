"""The edge's app factory: `create_app(settings)`.

The lifespan builds what the routes share (database engine, session store, login, one-time
codes, service tokens, the signer, the Temporal connection) into `app.state.edge`; routers are
added one per resource; the middleware puts security headers on every answer and logs requests
without personal data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from config import Settings
from edge.auth import StaffAuth
from edge.codec import CodecGate
from edge.codes import OneTimeCodes
from edge.sessions import Clock, SessionStore, utc_now
from edge.throttle import Throttle
from edge.tokens import ServiceTokens
from edge.web import errors
from edge.web.middleware import (
    AccessLog,
    CodecCors,
    CrossSiteGuard,
    SecurityHeaders,
    Unexpected,
)
from edge.web.routes import (
    accounts,
    applicant_session,
    browser,
    codec,
    permissions,
    register_form,
    register_help,
    register_progress,
    register_rights,
    register_steps,
    registrations,
    review,
    staff_admin,
    staff_pages,
    staff_review,
    staff_session,
)
from edge.web.services import HERE, EdgeServices, TemporalConnection
from notify.outbox import Notifier
from store.db import make_engine, make_sessions

API_DESCRIPTION = """\
Who calls is what authentication established, never a field of a body:

- **Staff** (and every account holder): `POST /api/v1/staff/session` sets the `jshr_staff`
  cookie (httpOnly; `__Host-jshr_staff` behind TLS). A request by cookie that changes anything
  carries the session's CSRF token in `X-CSRF-Token` (or a `csrf_token` form field). The CLI
  sends the same session token as `Authorization: Bearer <token>` and needs no CSRF token.
- **Applicants**: starting a registration (with the anonymous CSRF token of `GET /api/v1/csrf`)
  binds the `jshr_applicant` cookie to it; a returning applicant proves the phone by SMS
  (`POST /api/v1/applicant/session`, then `…/session/code`).
- **Integrators' systems**: `Authorization: Bearer jshr_svc_…`, a service token with the scopes
  `registrations:start` and/or `registrations:read` (`python -m starter token create`).
- **Operators** (`payloads:decode`, the system admins): `POST /codec/decode` decrypts workflow
  payloads for the Temporal UI (session cookie, from its configured origins) and the `temporal`
  CLI (`--codec-auth "Bearer <session token>"`); `/codec/encode` takes the bearer token only.

Every refusal is `{"errors": [{"code", "fields", "message_zh", "message_en"}]}`: 422 per
field, 401 (not logged in, session or token no longer valid), 403 (CSRF, scope, review rule),
404, 409 (the registration's state), 429 with `Retry-After`.
"""

ROUTERS = (
    browser.router,
    staff_session.router,
    applicant_session.router,
    # The applicant's pages (/register/…).
    register_form.router,
    register_progress.router,
    register_steps.router,
    register_rights.router,
    register_help.router,
    registrations.router,
    review.router,
    permissions.router,
    accounts.router,
    staff_pages.router,
    staff_review.router,
    staff_admin.router,
    codec.router,
)


def build_services(
    settings: Settings, *, temporal: Client | None = None, clock: Clock = utc_now
) -> EdgeServices:
    signer = settings.assertion_signer()
    if signer is None:
        raise ValueError("JSHR_ASSERTION_SIGNING_KEY is not set: the edge cannot vouch for anyone")
    engine = make_engine(settings.database_url, settings.data_key)
    db = make_sessions(engine)
    store = SessionStore(db, settings, clock=clock)
    notifier = Notifier(db, settings)
    codes = OneTimeCodes(db, settings, store, notifier)
    return EdgeServices(
        settings=settings,
        engine=engine,
        db=db,
        sessions=store,
        auth=StaffAuth(db, settings, store, codes),
        codes=codes,
        tokens=ServiceTokens(db),
        notifier=notifier,
        signer=signer,
        temporal=TemporalConnection(settings, temporal),
        applicant_throttle=Throttle(db, settings, store, prefix="applicant"),
        codec=CodecGate(db, settings, store),
    )


def create_app(
    settings: Settings, *, temporal: Client | None = None, clock: Clock = utc_now
) -> FastAPI:
    """The edge. `temporal` hands in a connected client (tests); otherwise it connects on first
    use. `clock` lets tests move time for sessions, throttles and codes."""
    edge = build_services(settings, temporal=temporal, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.edge = edge
        try:
            yield
        finally:
            await edge.engine.dispose()

    app = FastAPI(
        title="江苏省卫生健康人力资源管理系统 · 注册服务",
        summary="The edge of the account registration: the one door for people and integrators.",
        description=API_DESCRIPTION,
        version="1.0.0",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        # Swagger's page needs inline script, which the CSP forbids; the document is enough.
        docs_url=None,
        redoc_url=None,
    )
    # Also here, not only in the lifespan: test clients without a lifespan see the services too.
    app.state.edge = edge
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # The last added runs first: every answer, the guard's refusals included, gets the headers.
    app.add_middleware(CrossSiteGuard)
    app.add_middleware(CodecCors, origins=settings.ui_origins())
    app.add_middleware(Unexpected)
    app.add_middleware(AccessLog)
    app.add_middleware(SecurityHeaders)
    return app


def openapi_document() -> str:
    """The edge's OpenAPI document as committed in docs/openapi.json (`python -m starter
    openapi`): built from an app with throwaway keys, connected to nothing."""
    import json
    import secrets

    from domain.assertions import new_signing_key

    settings = Settings(
        assertion_signing_key=new_signing_key("openapi")[0],
        session_key=secrets.token_urlsafe(32),
        database_url="sqlite+aiosqlite://",
    )
    document = create_app(settings).openapi()
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
