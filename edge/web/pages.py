"""Rendering pages: Jinja2 templates (Chinese, mobile first) on the same dependencies as the API.

A page route takes `CurrentStaff`/`CurrentApplicant`/`CsrfToken` like any route and returns
`render(request, "name.html", {...})`; forms carry `<input type="hidden" name="csrf_token">`,
htmx requests the `X-CSRF-Token` header (static/csrf.js reads it from the page's
`<meta name="csrf-token">`, which base.html fills from the `csrf_token` context value).

A refusal raised on a page (no session, a CSRF token missing, the review rule) is answered as
a page too (`page_refusal`): a staff page without a session sends the browser to the login.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.workdays import SHANGHAI
from edge.web.deps import ANONYMOUS_COOKIE, services, set_session_cookie

WEEKDAYS = "一二三四五六日"


def china_time(instant: datetime) -> str:
    """An instant as people here read it: Beijing time, to the minute."""
    local = instant.astimezone(SHANGHAI)
    return f"{local.year}-{local.month:02d}-{local.day:02d} {local:%H:%M}"


def china_date(instant: datetime) -> str:
    local = instant.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日(周{WEEKDAYS[local.weekday()]})"


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    edge = services(request)
    edge.templates.env.filters.setdefault("china_time", china_time)
    edge.templates.env.filters.setdefault("china_date", china_date)
    response = edge.templates.TemplateResponse(request, name, context or {}, status_code)
    # The anonymous CSRF cookie a dependency made for this page (deps.anonymous_binding).
    if value := getattr(request.state, "anonymous_cookie", None):
        set_session_cookie(request, response, ANONYMOUS_COOKIE, value, max_age=86400)
    return response


_NOT_PAGES = ("/codec/", "/api/", "/static/", "/healthz", "/metrics")
STAFF_LOGIN = "/staff/login"


def is_page(request: Request) -> bool:
    """A browser's page (answered in HTML), as opposed to the JSON API."""
    return not request.url.path.startswith(_NOT_PAGES)


def page_refusal(request: Request, status: int, refusals: list[Any]) -> Response:
    """A refusal as a page: to the login for a staff page without a valid session, else a
    short page that says why, with the refusal's status."""
    if status == 401 and request.url.path.startswith("/staff/"):
        return RedirectResponse(STAFF_LOGIN, status_code=303)
    return render(request, "error.html", {"refusals": refusals}, status_code=status)
