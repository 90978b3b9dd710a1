"""My registration (注册进度, seed 三 and 四): where it stands, the SMS code and a new one, the
review's deadline and the 催办 button, withdrawing, and logging out of the applicant session.

The registration is the one the session is bound to; a browser without that session is sent
to 查询注册进度, which proves the phone first.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from domain import texts
from domain.contracts.registration import PhoneCodeOutcome, RegistrationStatus, Stage
from domain.roles import ROLE_TEXT_ZH
from domain.rules import mask_phone
from domain.workdays import SHANGHAI
from edge.messages import EdgeRefused
from edge.progress import china_text, code_retry_after, progress
from edge.web.deps import (
    APPLICANT_COOKIE,
    ApplicantPrincipal,
    CsrfToken,
    Services,
    clear_session_cookie,
    current_applicant,
)
from edge.web.pages import render
from edge.web.routes.register_form import is_htmx, redirect
from edge.web.services import EdgeServices

router = APIRouter(prefix="/register", include_in_schema=False)

_CODE = re.compile(r"^\d{6}$")
# Stages where the page waits for the worker and looks again by itself.
_BUSY = frozenset({Stage.VERIFYING, Stage.ASSIGNING_ROLE})
CAN_WITHDRAW = frozenset(
    {
        Stage.VERIFYING,
        Stage.AWAITING_PHONE_CODE,
        Stage.AWAITING_SIGNATURE,
        Stage.AWAITING_REVIEW,
        Stage.AWAITING_CORRECTION,
    }
)


async def page_applicant(request: Request, edge: Services) -> ApplicantPrincipal | None:
    """The applicant's session, or None (the page then sends them to 查询注册进度). A wrong
    CSRF token is still refused."""
    try:
        return await current_applicant(request, edge)
    except EdgeRefused as exc:
        if exc.code.startswith("csrf."):
            raise
        return None


PageApplicant = Annotated[ApplicantPrincipal | None, Depends(page_applicant)]
ANONYMOUS = "/register/return"


async def progress_page(
    request: Request,
    edge: EdgeServices,
    applicant: ApplicantPrincipal,
    *,
    status: RegistrationStatus | None = None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    registrations = await edge.registrations()
    status = status or await registrations.status(applicant.workflow_id)
    context: dict[str, Any] = {
        "csrf_token": applicant.csrf_token,
        "view": await progress(edge, status),
        "Stage": Stage,
        "busy": status.stage in _BUSY,
        "can_withdraw": status.stage in CAN_WITHDRAW,
        "correction_days": edge.settings.correction_window_days,
        "role_text": ROLE_TEXT_ZH,
        "when": china_text,
        "nudge_message": "",
    }
    if status.stage == Stage.AWAITING_PHONE_CODE:
        context.update(await _code_context(edge, applicant))
    context.update(extra)
    return render(request, "register/progress.html", context, status_code=status_code)


async def _code_context(
    edge: EdgeServices, applicant: ApplicantPrincipal, **extra: Any
) -> dict[str, Any]:
    workflow_id = applicant.workflow_id
    settings = edge.settings
    registrations = await edge.registrations()
    return {
        "csrf_token": applicant.csrf_token,
        "masked_phone": mask_phone((await registrations.application(workflow_id)).phone),
        "retry_after": await code_retry_after(edge, workflow_id),
        "ttl_minutes": max(1, settings.phone_code_ttl_seconds // 60),
        "cooldown": settings.phone_code_resend_cooldown_seconds,
        "code_error": "",
        "code_message": "",
        **extra,
    }


def _moved_on(request: Request, exc: EdgeRefused) -> Response:
    """The registration left the stage the page showed: show where it is now."""
    if exc.code != "registration.wrong_stage":
        raise exc
    return redirect(request, "/register/progress")


@router.get("/progress", response_class=HTMLResponse)
async def show(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    return await progress_page(request, edge, applicant)


@router.post("/code", response_class=HTMLResponse)
async def answer_code(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    typed = (await request.form()).get("code")
    code = "".join(unicodedata.normalize("NFKC", typed if isinstance(typed, str) else "").split())
    workflow_id = applicant.workflow_id
    registrations = await edge.registrations()
    if not _CODE.match(code):
        error = texts.EDGE["code.format"].zh
    else:
        try:
            result = await registrations.submit_phone_code(workflow_id, code, actor=applicant.actor)
        except EdgeRefused as exc:  # answered meanwhile (another tab), or the step expired
            return _moved_on(request, exc)
        if result.outcome == PhoneCodeOutcome.ACCEPTED:
            await registrations.settled(
                workflow_id, lambda now: now.stage != Stage.AWAITING_PHONE_CODE
            )
            return redirect(request, "/register/progress")
        error = result.message_zh
    if is_htmx(request):
        context = await _code_context(edge, applicant, code_error=error)
        return render(request, "register/_code.html", context)
    return await progress_page(request, edge, applicant, code_error=error, status_code=422)


@router.post("/code/resend", response_class=HTMLResponse)
async def resend_code(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    registrations = await edge.registrations()
    try:
        result = await registrations.resend_phone_code(applicant.workflow_id, actor=applicant.actor)
    except EdgeRefused as exc:
        return _moved_on(request, exc)
    context = await _code_context(edge, applicant, code_message=result.message_zh)
    if not result.sent:
        context["retry_after"] = result.retry_after_seconds or context["retry_after"]
    if is_htmx(request):
        return render(request, "register/_code.html", context)
    return await progress_page(request, edge, applicant, **context)


@router.post("/nudge", response_class=HTMLResponse)
async def nudge(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    """催办: one reminder to the reviewers now, at most once a day; says when, if too soon."""
    if applicant is None:
        return redirect(request, ANONYMOUS)
    registrations = await edge.registrations()
    try:
        result = await registrations.nudge(applicant.workflow_id, actor=applicant.actor)
    except EdgeRefused as exc:  # decided meanwhile
        return _moved_on(request, exc)
    message = result.message_zh
    if not result.sent and result.next_allowed_at is not None:
        local = result.next_allowed_at.astimezone(SHANGHAI)
        message = f"{message}(可在 {local:%m月%d日 %H:%M} 后再次催办)"
    if is_htmx(request):
        return render(
            request,
            "register/_nudge.html",
            {"nudge_message": message, "sent": result.sent, "csrf_token": applicant.csrf_token},
        )
    return await progress_page(request, edge, applicant, nudge_message=message, sent=result.sent)


@router.get("/withdraw", response_class=HTMLResponse)
async def confirm_withdrawal(
    request: Request, applicant: PageApplicant, edge: Services
) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    return render(
        request,
        "register/withdraw.html",
        {"csrf_token": applicant.csrf_token, "error": ""},
    )


@router.post("/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    if (await request.form()).get("confirm") != "yes":
        return render(
            request,
            "register/withdraw.html",
            {
                "csrf_token": applicant.csrf_token,
                "error": texts.EDGE["withdraw.unconfirmed"].zh,
            },
            status_code=422,
        )
    registrations = await edge.registrations()
    workflow_id = applicant.workflow_id
    await registrations.withdraw(workflow_id, "withdrawn on the page", actor=applicant.actor)
    await registrations.settled(workflow_id, lambda now: now.stage == Stage.WITHDRAWN)
    return redirect(request, "/register/progress")


@router.post("/logout")
async def log_out(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    """Ends the applicant's session on this browser (a shared computer at the hospital)."""
    response = redirect(request, "/")
    if applicant is not None:
        await edge.sessions.end(applicant.session.token_hash, "logout")
    clear_session_cookie(request, response, APPLICANT_COOKIE)
    return response


__all__ = ["CsrfToken", "PageApplicant", "progress_page", "router"]
