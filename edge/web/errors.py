"""Every refusal leaves the edge in one shape: `{"errors": [{code, fields, message_zh,
message_en}]}`, with a status that fits (422 per field, 401, 403, 404, 409, 429 + Retry-After)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain import rules
from domain.contracts.base import ApplicationRefused, Refusal
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.web.middleware import error_body
from edge.web.pages import is_page, page_refusal

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    errors: list[Refusal]


# What each documented error status means for an operation (OpenAPI `responses`).
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        401: "not logged in, or the session or token is no longer valid",
        403: "not allowed (CSRF token, scope, review rule)",
        404: "no such resource",
        409: "conflicts with the state of the registration",
        413: "request body too large",
        422: "refused: one entry per field at fault",
        429: "throttled; see Retry-After",
        503: "Temporal is unavailable",
    }
    # 422 always: a malformed path or body is refused in the same shape (FastAPI's default
    # validation-error schema would misdescribe it).
    return {
        status: {"model": ErrorBody, "description": meaning[status]}
        for status in sorted({*statuses, 422})
    }


# Refusals of the application's checks that are not about a field's form: the state of things
# (409), or who asks (403: the workers found no valid assertion, or the rule says no).
_CONFLICTS = {"applicant.already_registered", "username.taken", "phone.bound"}
_FORBIDDEN = ("assertion.", "revoker.", "revoke.not_authorized")


def _json(status: int, refusals: list[Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(refusals), status_code=status, headers=headers)


def refusal_of(error: dict[str, Any]) -> Refusal:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(loc) or "request"
    kind = error.get("type", "invalid")
    context = error.get("ctx") or {}
    return Refusal(
        code=kind if "." in kind else f"{field}.{kind}",
        fields=[field],
        message_zh=str(context.get("message_zh") or f"{field} 填写有误"),
        message_en=str(error.get("msg", "invalid")),
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(EdgeRefused)
    async def edge_refused(request: Request, exc: EdgeRefused) -> Response:
        if is_page(request):
            return page_refusal(request, exc.status, [exc])
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return _json(exc.status, [exc], headers)

    @app.exception_handler(ApplicationRefused)
    async def application_refused(_request: Request, exc: ApplicationRefused) -> JSONResponse:
        for refusal in exc.refusals:
            refused(refusal.code)
        if all(r.code.startswith(_FORBIDDEN) for r in exc.refusals):
            return _json(403, exc.refusals)
        conflict = all(r.code in _CONFLICTS for r in exc.refusals)
        return _json(409 if conflict else 422, exc.refusals)

    @app.exception_handler(rules.RuleViolation)
    async def rule_violation(_request: Request, exc: rules.RuleViolation) -> JSONResponse:
        refused(exc.code)
        return _json(
            422,
            [Refusal(code=exc.code, fields=[exc.field], message_zh=exc.message_zh,
                     message_en=exc.message_en)],
        )  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        refusals = [refusal_of(dict(error)) for error in exc.errors()]
        for refusal in refusals:
            refused(refusal.code)
        return _json(422, refusals or [EdgeRefused("request.invalid")])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "request.not_found", 405: "request.method", 413: "request.too_large"}.get(
            exc.status_code, "request.invalid"
        )
        if is_page(request):
            return page_refusal(request, exc.status_code, [EdgeRefused(code)])
        return _json(exc.status_code, [EdgeRefused(code)], dict(exc.headers or {}))

    @app.exception_handler(WorkflowQueryFailedError)
    async def query_failed(_request: Request, exc: WorkflowQueryFailedError) -> JSONResponse:
        log.warning("Temporal query failed")
        return _json(503, [EdgeRefused("workflow.unavailable")])

    @app.exception_handler(RPCError)
    async def temporal_error(request: Request, exc: RPCError) -> Response:
        if exc.status == RPCStatusCode.NOT_FOUND:
            status, refusal = 404, EdgeRefused("registration.not_found")
        else:
            log.warning("Temporal call failed: %s", exc.status.name if exc.status else "unknown")
            status, refusal = 503, EdgeRefused("workflow.unavailable")
        if is_page(request):
            return page_refusal(request, status, [refusal])
        return _json(status, [refusal])
