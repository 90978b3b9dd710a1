"""Rendering pages: Jinja2 templates (Chinese, mobile first) on the same dependencies as the API.

A page route takes `CurrentStaff`/`CurrentApplicant`/`CsrfToken` like any route and returns
`render(request, "name.html", {...})`; forms carry `<input type="hidden" name="csrf_token">`,
htmx requests the `X-CSRF-Token` header (base.html sets it from the `csrf_token` context value).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from edge.web.deps import ANONYMOUS_COOKIE, services, set_session_cookie


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    edge = services(request)
    response = edge.templates.TemplateResponse(request, name, context or {}, status_code)
    # The anonymous CSRF cookie a dependency made for this page (deps.anonymous_binding).
    if value := getattr(request.state, "anonymous_cookie", None):
        set_session_cookie(request, response, ANONYMOUS_COOKIE, value, max_age=86400)
    return response
