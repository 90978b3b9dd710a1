"""The applicant's first steps (seed 一 and 二): the notice and consent, the form with its
checks as each field is left, the unit search, the suggested usernames, and the start.

Every form works as a plain POST; htmx only checks fields early and keeps the chosen photos
when the server refuses the form.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain import rules
from domain.contracts.base import ApplicationRefused, Refusal
from domain.contracts.registration import PHOTO_FIELDS, Stage
from domain.roles import Role
from edge import consent
from edge.intake import FIELD_CHECKS, ApplicationForm, check_field, check_photo
from edge.lookups import search_units
from edge.messages import EdgeRefused
from edge.registrations import Registrations
from edge.web.deps import (
    ANONYMOUS_COOKIE,
    AnonymousCsrf,
    CsrfToken,
    Services,
    anonymous_binding,
    clear_session_cookie,
    cookie_name,
    set_session_cookie,
)
from edge.web.forms import FormErrors, form_errors, refusal, upload, values
from edge.web.pages import render
from edge.web.routes.applicant_session import bind_applicant
from edge.web.routes.registrations import UPLOAD_FACTOR
from edge.web.services import EdgeServices
from store.verification import ApplicationChecks

router = APIRouter(prefix="/register", include_in_schema=False)

CONSENTS = ("accept_notice", "accept_sensitive")
# Where each refusal is shown, in the order of the page (a test keeps every checked field here).
PAGE_ORDER = (
    "name",
    "id_number",
    "phone",
    "email",
    "unit_name",
    "unit_code",
    "requested_role",
    "invitation_code",
    "username",
    "password",
    *PHOTO_FIELDS,
    *CONSENTS,
)
PHOTO_TEXT = {"id_card_front": "请上传身份证人像面照片", "id_card_back": "请上传身份证国徽面照片"}
_CONSENT_AGE = 86400


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def redirect(request: Request, url: str) -> Response:
    """After a POST: 303 for a plain form, HX-Redirect for htmx (which follows no 303 page)."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def consent_refusals(form: Any) -> list[Refusal]:
    refusals = []
    if form.get("accept_notice") != "yes":
        refusals.append(refusal("consent.required", "accept_notice"))
    if form.get("accept_sensitive") != "yes":
        refusals.append(refusal("consent.sensitive_required", "accept_sensitive"))
    return refusals


def review_days_text(edge: EdgeServices) -> str:
    days = max(step.day for step in edge.settings.review_policy)
    return f"1至{days}个工作日" if days > 1 else "1个工作日"


@router.get("", response_class=HTMLResponse)
async def notice(request: Request, csrf: CsrfToken, edge: Services) -> HTMLResponse:
    outdated = bool(request.query_params.get("outdated"))
    return _notice(request, csrf, edge, FormErrors(), outdated=outdated)


def _notice(
    request: Request, csrf: str, edge: EdgeServices, errors: FormErrors, *, outdated: bool = False
) -> HTMLResponse:
    return render(
        request,
        "register/notice.html",
        {
            "csrf_token": csrf,
            "errors": errors,
            "outdated": outdated,
            "notice_version": edge.settings.notice_version,
            "review_days_text": review_days_text(edge),
            "correction_days": edge.settings.correction_window_days,
        },
        status_code=422 if errors else 200,
    )


@router.post("/consent", dependencies=[AnonymousCsrf])
async def give_consent(request: Request, csrf: CsrfToken, edge: Services) -> Response:
    """The notice and the separate consent, each ticked: sealed into a cookie for the form."""
    form = await request.form()
    if refusals := consent_refusals(form):
        return _notice(request, csrf, edge, form_errors(refusals, CONSENTS))
    now = edge.sessions.clock()
    # The version the page showed: if it changed since, verification refuses it, and says so.
    shown = form.get("notice_version")
    version = shown if isinstance(shown, str) and shown else edge.settings.notice_version
    response = RedirectResponse("/register/form", status_code=303)
    binding = anonymous_binding(request, response)
    sealed = consent.seal(edge.sessions, binding, consent.GivenConsent(version[:32], now, now))
    set_session_cookie(request, response, consent.COOKIE, sealed, max_age=_CONSENT_AGE)
    return response


def _given(request: Request, edge: EdgeServices) -> consent.GivenConsent | None:
    return consent.unseal(
        edge.sessions,
        request.cookies.get(cookie_name(request, ANONYMOUS_COOKIE)),
        request.cookies.get(cookie_name(request, consent.COOKIE)),
    )


def checks(edge: EdgeServices) -> ApplicationChecks:
    """The verification's cross-checks, for the checks as a field is left: they read the
    tables only, so they work while Temporal is away."""
    return ApplicationChecks.embedded(edge.db, edge.settings)


async def suggestions(edge: EdgeServices, name: str, id_number: str) -> list[str]:
    """Free usernames: the name's pinyin and the birth year, once both fields are right."""
    today = Registrations.today()
    ages = edge.settings.applicant_ages
    if check_field("name", {"name": name}, today=today) or check_field(
        "id_number", {"id_number": id_number}, today=today, ages=ages
    ):
        return []
    return await checks(edge).free_usernames(rules.normalize_name(name), id_number)


async def form_page(
    request: Request,
    edge: EdgeServices,
    csrf: str,
    *,
    fields: dict[str, str],
    errors: FormErrors,
    correcting: bool = False,
    files_lost: bool = False,
    status_code: int | None = None,
) -> HTMLResponse:
    offered = (
        []
        if correcting
        else await suggestions(edge, fields.get("name", ""), fields.get("id_number", ""))
    )
    return render(
        request,
        "register/form.html",
        {
            "csrf_token": csrf,
            "values": fields,
            "errors": errors,
            "correcting": correcting,
            "action": "/register/correct" if correcting else "/register/form",
            "files_lost": files_lost,
            "limits": edge.settings.photo_limits(),
            "notice_version": edge.settings.notice_version,
            "suggestions": offered,
        },
        status_code=status_code or (422 if errors else 200),
    )


@router.get("/form", response_class=HTMLResponse)
async def form(request: Request, csrf: CsrfToken, edge: Services) -> Response:
    given = _given(request, edge)
    if given is None:
        return RedirectResponse("/register", status_code=303)
    if given.notice_version != edge.settings.notice_version:
        return RedirectResponse("/register?outdated=1", status_code=303)
    return await form_page(request, edge, csrf, fields={}, errors=FormErrors())


def upload_limit(edge: EdgeServices) -> int:
    """How large an upload may be before it is refused unread (the API's limit); smaller
    oversized photos are fitted to the limit (`fit_photos`), as a page without JS sends them."""
    return edge.settings.photo_max_bytes * UPLOAD_FACTOR


async def uploads(edge: EdgeServices, posted: Any) -> dict[str, bytes]:
    return {name: await upload(posted, name, upload_limit(edge)) for name in PHOTO_FIELDS}


def application_form(
    fields: dict[str, str], photos: dict[str, bytes], given: consent.GivenConsent
) -> ApplicationForm:
    typed: dict[str, Any] = {name: fields.get(name, "") for name in FIELD_CHECKS}
    typed["requested_role"] = (
        Role.UNIT_ADMIN if fields.get("requested_role") == Role.UNIT_ADMIN else Role.USER
    )
    typed["invitation_code"] = fields.get("invitation_code") or None
    return ApplicationForm(
        **typed,
        **photos,
        notice_version=given.notice_version,
        consented_at=given.consented_at,
        sensitive_consented_at=given.sensitive_consented_at,
    )


def field_refusals(edge: EdgeServices, fields: dict[str, str], today: Any) -> list[Refusal]:
    found = (
        check_field(name, fields, today=today, ages=edge.settings.applicant_ages)
        for name in FIELD_CHECKS
        if name != "invitation_code" or fields.get("requested_role") == Role.UNIT_ADMIN
    )
    return [one for one in found if one is not None]


async def refused_form(
    request: Request,
    edge: EdgeServices,
    csrf: str,
    fields: dict[str, str],
    refusals: list[Any],
    *,
    correcting: bool = False,
) -> Response:
    # The new form has no consent boxes (the notice page gave them): an outdated consent is
    # told in the summary, with the way back to the notice.
    shown = PAGE_ORDER if correcting else PAGE_ORDER[: -len(CONSENTS)]
    errors = form_errors(refusals, shown)
    errors.notice_outdated = any(one.code == "consent.outdated" for one in refusals)
    if is_htmx(request):
        return render(request, "register/_form_errors.html", {"errors": errors, "fields": shown})
    return await form_page(
        request, edge, csrf, fields=fields, errors=errors, correcting=correcting, files_lost=True
    )


@router.post("/form", dependencies=[AnonymousCsrf])
async def start(request: Request, csrf: CsrfToken, edge: Services) -> Response:
    given = _given(request, edge)
    if given is None:
        return redirect(request, "/register")
    posted = await request.form()
    fields = values(posted, FIELD_CHECKS)
    try:
        photos = await uploads(edge, posted)
    except EdgeRefused as exc:
        return await refused_form(request, edge, csrf, fields, [exc])
    missing = [
        refusal("photo.required", name, PHOTO_TEXT[name])
        for name in PHOTO_FIELDS
        if not photos[name]
    ]
    if missing:
        found = field_refusals(edge, fields, Registrations.today())
        return await refused_form(request, edge, csrf, fields, found + missing)
    registrations = await edge.registrations()
    try:
        # The photo checks and Argon2 are CPU work: off the event loop the requests share.
        application = await asyncio.to_thread(
            registrations.check_form, application_form(fields, photos, given), fit_photos=True
        )
        workflow_id = await registrations.start(application, actor=None, idempotent=False)
    except ApplicationRefused as exc:
        return await refused_form(request, edge, csrf, fields, exc.refusals)
    except EdgeRefused as exc:
        if exc.code != "registration.exists":
            raise
        return await refused_form(request, edge, csrf, fields, [exc])
    # A moment for the checks, so that the next page shows the SMS step rather than a wait.
    await registrations.settled(workflow_id, lambda now: now.stage != Stage.VERIFYING, timeout=5)
    response = redirect(request, "/register/progress")
    await bind_applicant(request, response, edge, workflow_id)
    clear_session_cookie(request, response, consent.COOKIE)
    return response


@router.post("/check/{field}", dependencies=[AnonymousCsrf], response_class=HTMLResponse)
async def check(field: str, request: Request, edge: Services) -> HTMLResponse:
    """The message of one field as the applicant leaves it (htmx), by the workflow's rules."""
    if field not in FIELD_CHECKS:
        raise EdgeRefused("request.not_found")
    fields = values(await request.form(), FIELD_CHECKS)
    found = check_field(
        field, fields, today=Registrations.today(), ages=edge.settings.applicant_ages
    )
    if found is None and field in ("unit_name", "unit_code"):
        found = await _unit_refusal(edge, field, fields)
    if found is None and field == "username":
        taken = await checks(edge).username_refusals(
            rules.normalize_username(fields["username"]),
            fields.get("name", ""),
            fields.get("id_number", ""),
        )
        found = taken[0] if taken else None
    ok = "密码符合要求" if field == "password" and found is None else None
    return render(request, "register/_message.html", {"refusal": found, "ok": ok})


async def _unit_refusal(edge: EdgeServices, field: str, fields: dict[str, str]) -> Refusal | None:
    """Unit and name against the units table, once the other one of the two is filled in."""
    other = "unit_code" if field == "unit_name" else "unit_name"
    if not fields.get(other) or check_field(other, fields, today=Registrations.today()):
        return None
    found = await checks(edge).unit_refusals(
        rules.normalize_unit_code(fields["unit_code"]), fields["unit_name"]
    )
    return next((one for one in found if field in one.fields), None)


@router.post("/check-photo/{field}", dependencies=[AnonymousCsrf], response_class=HTMLResponse)
async def check_one_photo(field: str, request: Request, edge: Services) -> HTMLResponse:
    """A chosen photo checked at once (htmx): what to retake, before the whole form is sent."""
    if field not in PHOTO_FIELDS:
        raise EdgeRefused("request.not_found")
    data = await upload(await request.form(), field, upload_limit(edge))
    found: Refusal | None = None
    if not data:
        found = refusal("photo.required", field, PHOTO_TEXT[field])
    else:
        try:
            await asyncio.to_thread(
                check_photo, data, field, limits=edge.settings.photo_limits(), fit=True
            )
        except rules.RuleViolation as exc:
            found = Refusal(
                code=exc.code, fields=[field], message_zh=exc.message_zh, message_en=exc.message_en
            )
    ok = "照片可以使用" if found is None else None
    return render(request, "register/_message.html", {"refusal": found, "ok": ok})


@router.get("/units", response_class=HTMLResponse)
async def units(request: Request, edge: Services, unit_query: str = "") -> HTMLResponse:
    """A few units matching the name or code typed so far (htmx; no personal data)."""
    query = unit_query[:50]
    matches = await search_units(edge.db, query)
    return render(request, "register/_units.html", {"units": matches, "query": query.strip()})


@router.post("/usernames", dependencies=[AnonymousCsrf], response_class=HTMLResponse)
async def usernames(request: Request, edge: Services) -> HTMLResponse:
    """Free usernames from the name's pinyin and the birth year (htmx)."""
    fields = values(await request.form(), ("name", "id_number"))
    found = await suggestions(edge, fields["name"], fields["id_number"])
    return render(request, "register/_usernames.html", {"suggestions": found, "htmx": True})
