"""Coming back (查询注册进度: ID number + phone + SMS code) and the FAQ (seed 五), whose numbers
are the settings the system runs with."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from domain import rules
from domain.rules import mask_phone
from edge import reentry
from edge.messages import EdgeRefused
from edge.web.deps import AnonymousCsrf, CsrfToken, Services
from edge.web.forms import FormErrors, form_errors, text
from edge.web.pages import render
from edge.web.routes.applicant_session import bind_applicant
from edge.web.routes.register_form import redirect, review_days_text
from edge.web.routes.staff_session import client_address
from edge.web.services import EdgeServices

router = APIRouter(prefix="/register", include_in_schema=False)

_FIELDS = ("id_number", "phone")


def _return_page(
    request: Request,
    csrf: str,
    *,
    fields: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    errors = errors or FormErrors()
    return render(
        request,
        "register/return.html",
        {"csrf_token": csrf, "values": fields or {}, "errors": errors},
        status_code=422 if errors else 200,
    )


@router.get("/return", response_class=HTMLResponse)
async def return_page(request: Request, csrf: CsrfToken) -> HTMLResponse:
    return _return_page(request, csrf)


@router.post("/return", dependencies=[AnonymousCsrf], response_class=HTMLResponse)
async def ask_for_code(
    request: Request, csrf: CsrfToken, edge: Services, background: BackgroundTasks
) -> Response:
    posted = await request.form()
    fields = {name: text(posted, name, 32) for name in _FIELDS}
    try:
        asked = await reentry.ask_for_code(
            edge, fields["id_number"], fields["phone"], address=client_address(request)
        )
    except rules.RuleViolation as exc:
        refusal = EdgeRefused("request.invalid", fields=[exc.field], message_zh=exc.message_zh)
        return _return_page(request, csrf, fields=fields, errors=form_errors([refusal], _FIELDS))
    except EdgeRefused as exc:
        if exc.code != "applicant.throttled":
            raise
        return _return_page(request, csrf, fields=fields, errors=form_errors([exc], _FIELDS))
    # The page answers first, the same either way; the look-up and the SMS follow.
    background.add_task(reentry.send_if_registered, edge, asked)
    return _code_page(request, csrf, asked.challenge, mask_phone(asked.phone))


def _code_page(
    request: Request, csrf: str, challenge: str, masked_phone: str, error: str = ""
) -> HTMLResponse:
    return render(
        request,
        "register/return_code.html",
        {
            "csrf_token": csrf,
            "challenge": challenge,
            "masked_phone": masked_phone,
            "code_error": error,
        },
        status_code=422 if error else 200,
    )


@router.post("/return/code", dependencies=[AnonymousCsrf], response_class=HTMLResponse)
async def answer_code(request: Request, csrf: CsrfToken, edge: Services) -> Response:
    posted = await request.form()
    challenge, masked = text(posted, "challenge", 64), text(posted, "masked_phone", 16)
    code = "".join(text(posted, "code", 16).split())
    try:
        workflow_id = await reentry.answer_code(edge, challenge, code)
    except EdgeRefused as exc:
        if not exc.code.startswith("code."):
            raise
        return _code_page(request, csrf, challenge, masked, exc.message_zh)
    response = redirect(request, "/register/progress")
    await bind_applicant(request, response, edge, workflow_id)
    return response


def _review_steps(edge: EdgeServices) -> list[str]:
    """The reminder policy (settings), in the applicant's words."""
    lines = []
    for step in sorted(edge.settings.review_policy, key=lambda one: one.day):
        if step.escalation_level:
            line = f"第{step.day}个工作日仍未审核的,上报系统管理员处理"
        else:
            line = f"第{step.day}个工作日提醒审核人"
        if step.tell_applicant:
            line += ",并短信告知您审核进展"
        lines.append(line)
    return lines


@router.get("/faq", response_class=HTMLResponse)
async def faq(request: Request, csrf: CsrfToken, edge: Services) -> HTMLResponse:
    settings = edge.settings
    limits = settings.photo_limits()
    return render(
        request,
        "register/faq.html",
        {
            "csrf_token": csrf,
            "s": settings,
            "code_minutes": max(1, settings.phone_code_ttl_seconds // 60),
            "return_code_minutes": max(1, settings.one_time_code_ttl_seconds // 60),
            "photo_mb": f"{limits.max_bytes / 2**20:g}",
            "limits": limits,
            "review_days_text": review_days_text(edge),
            "review_steps": _review_steps(edge),
        },
    )
