"""The staff portal's door: log in (with the SMS code where the settings ask for one), log out,
change the password, see and end one's own sessions. Pages under `/staff/`, plain forms that
post and redirect; the same login, sessions and throttles as `/api/v1/staff/session`."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain import rules
from domain.review_rule import review_reach
from edge.messages import EdgeRefused
from edge.web.deps import (
    STAFF_COOKIE,
    AnonymousCsrf,
    CsrfToken,
    CurrentStaff,
    PendingStaff,
    Services,
    clear_session_cookie,
    set_session_cookie,
)
from edge.web.pages import render
from edge.web.routes.staff_session import client_address
from edge.web.services import EdgeServices
from store.models import Account

router = APIRouter(prefix="/staff", include_in_schema=False)

# Fixed notices a redirect may ask a page to show (nothing personal travels in the URL).
NOTICES = {
    "password_changed": "密码已修改,其他设备上的登录已全部退出。",
    "session_ended": "该会话已结束。",
    "others_ended": "其他会话已全部结束。",
    "requested": "申请已提交,等待审批。",
    "logged_out": "您已安全退出。",
}


def notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


async def landing(edge: EdgeServices, username: str) -> str:
    """Where a login lands: the inbox for someone who may review, else the user center."""
    async with edge.db() as db:
        account = await db.get(Account, username)
    return "/staff/inbox" if account is not None and review_reach(account) else "/staff/me"


async def form_fields(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "") for name in names}


def field_errors(exc: EdgeRefused | rules.RuleViolation, default_field: str) -> dict[str, str]:
    fields = exc.fields if isinstance(exc, EdgeRefused) else [exc.field]
    return dict.fromkeys(fields or [default_field], exc.message_zh)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, csrf: CsrfToken) -> Response:
    return render(request, "staff/login.html", {"csrf_token": csrf, "notice": notice(request)})


@router.post("/login", dependencies=[AnonymousCsrf], response_class=HTMLResponse)
async def log_in(request: Request, edge: Services, csrf: CsrfToken) -> Response:
    typed = await form_fields(request, "username", "password")
    errors = {
        name: text
        for name, text in (("username", "请填写用户名"), ("password", "请填写密码"))
        if not typed[name]
    }
    if not errors:
        try:
            login = await edge.auth.login(
                typed["username"], typed["password"], address=client_address(request)
            )
        except EdgeRefused as exc:
            errors = {"password": exc.message_zh}
            status = exc.status
        else:
            lifetime = edge.settings.staff_session_max_hours * 3600
            response: Response
            if login.challenge:
                response = render(
                    request,
                    "staff/code.html",
                    {
                        "csrf_token": login.session.csrf_token,
                        "challenge": login.challenge,
                        "masked_phone": login.masked_phone,
                    },
                )
            else:
                response = RedirectResponse(
                    await landing(edge, login.session.subject), status_code=303
                )
            set_session_cookie(request, response, STAFF_COOKIE, login.token, max_age=lifetime)
            return response
    else:
        status = 422
    return render(
        request,
        "staff/login.html",
        {"csrf_token": csrf, "errors": errors, "username": typed["username"]},
        status_code=status,
    )


@router.post("/login/code", response_class=HTMLResponse)
async def second_factor(request: Request, session: PendingStaff, edge: Services) -> Response:
    typed = await form_fields(request, "challenge", "code")
    try:
        await edge.auth.second_factor(session, typed["challenge"], typed["code"].strip())
    except EdgeRefused as exc:
        return render(
            request,
            "staff/code.html",
            {
                "csrf_token": session.csrf_token,
                "challenge": typed["challenge"],
                "errors": {"code": exc.message_zh},
            },
            status_code=exc.status,
        )
    return RedirectResponse(await landing(edge, session.subject), status_code=303)


@router.post("/logout")
async def log_out(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    await edge.sessions.end(staff.session.token_hash, "logout")
    response = RedirectResponse("/staff/login?notice=logged_out", status_code=303)
    clear_session_cookie(request, response, STAFF_COOKIE)
    return response


@router.get("/password", response_class=HTMLResponse)
async def password_page(request: Request, staff: CurrentStaff) -> Response:
    return render(request, "staff/password.html", {"staff": staff, "csrf_token": staff.csrf_token})


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    typed = await form_fields(request, "current_password", "new_password", "confirm_password")
    errors: dict[str, str] = {}
    if typed["new_password"] != typed["confirm_password"]:
        errors["confirm_password"] = "两次输入的新密码不一致"
    else:
        try:
            await edge.auth.change_password(
                staff.username, typed["current_password"], typed["new_password"]
            )
        except EdgeRefused as exc:
            errors = field_errors(exc, "current_password")
        except rules.RuleViolation as exc:
            errors = field_errors(exc, "new_password")
    if errors:
        return render(
            request,
            "staff/password.html",
            {"staff": staff, "csrf_token": staff.csrf_token, "errors": errors},
            status_code=422,
        )
    # Every session ended with the change: this browser gets a new one.
    token, _ = await edge.sessions.create("staff", staff.username)
    response = RedirectResponse("/staff/me?notice=password_changed", status_code=303)
    lifetime = edge.settings.staff_session_max_hours * 3600
    set_session_cookie(request, response, STAFF_COOKIE, token, max_age=lifetime)
    return response


@router.post("/password/check", response_class=HTMLResponse)
async def check_new_password(request: Request, staff: CurrentStaff) -> Response:
    """htmx, on leaving the new-password field: the policy's verdict as the field's message
    (the form checks it again, with the birth date, when it is sent)."""
    typed = await form_fields(request, "new_password")
    try:
        rules.check_password(typed["new_password"], username=staff.username, birth_date=None)
    except rules.RuleViolation as exc:
        return HTMLResponse(f'<p class="field-error">{escape(exc.message_zh)}</p>')
    return HTMLResponse('<p class="hint">密码符合要求</p>')


@router.get("/sessions", response_class=HTMLResponse)
async def sessions_page(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    live = await edge.sessions.live("staff", staff.username, current=staff.session.token_hash)
    return render(
        request,
        "staff/sessions.html",
        {
            "staff": staff,
            "csrf_token": staff.csrf_token,
            "sessions": live,
            "notice": notice(request),
            "idle_minutes": edge.settings.staff_session_idle_minutes,
            "max_hours": edge.settings.staff_session_max_hours,
        },
    )


@router.post("/sessions/end")
async def end_session(request: Request, staff: CurrentStaff, edge: Services) -> Response:
    typed = await form_fields(request, "session")
    if typed["session"] == "others":
        live = await edge.sessions.live("staff", staff.username, current=staff.session.token_hash)
        for other in live:
            if not other.current:
                await edge.sessions.end_by_id("staff", staff.username, other.id, "ended_by_holder")
        return RedirectResponse("/staff/sessions?notice=others_ended", status_code=303)
    if not await edge.sessions.end_by_id(
        "staff", staff.username, typed["session"], "ended_by_holder"
    ):
        raise EdgeRefused("request.not_found")
    return RedirectResponse("/staff/sessions?notice=session_ended", status_code=303)
