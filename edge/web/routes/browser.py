"""What every browser needs before it logs in: a CSRF token for anonymous forms, the health
check, the metrics, and the home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from edge import metrics
from edge.web.deps import CsrfToken
from edge.web.pages import render
from edge.web.schemas import CsrfView

router = APIRouter(tags=["browser"])


@router.get("/api/v1/csrf")
async def anonymous_csrf_token(token: CsrfToken) -> CsrfView:
    """The CSRF token of this browser: its session's, or one bound to an anonymous cookie that
    this answer sets (for posting a form before logging in, e.g. the registration)."""
    return CsrfView(csrf_token=token)


@router.get("/healthz", include_in_schema=False)
async def health() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/metrics", include_in_schema=False)
async def prometheus() -> PlainTextResponse:
    return PlainTextResponse(metrics.exposition(), media_type="text/plain; version=0.0.4")


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
async def home(request: Request, csrf: CsrfToken) -> HTMLResponse:
    return render(request, "home.html", {"csrf_token": csrf})
