"""The applicant's steps after the start that need a page of their own: the e-signature over
the application's digest (seed 三), and the correction after a rejection (seed 四).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from domain.contracts.base import ApplicationRefused
from domain.contracts.registration import PHOTO_FIELDS, Stage
from domain.roles import ROLE_TEXT_ZH
from domain.rules import mask_id_number, mask_phone
from edge import consent, signatures
from edge.intake import FIELD_CHECKS
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.web.deps import ApplicantPrincipal, Services
from edge.web.forms import FormErrors, form_errors, values
from edge.web.pages import render
from edge.web.routes.register_form import (
    PAGE_ORDER,
    application_form,
    consent_refusals,
    form_page,
    redirect,
    refused_form,
    uploads,
)
from edge.web.routes.register_progress import ANONYMOUS, PageApplicant
from edge.web.services import EdgeServices

router = APIRouter(prefix="/register", include_in_schema=False)

_SIGN_FIELDS = ("declaration", "signature", "typed_name")


async def _sign_page(
    request: Request,
    edge: EdgeServices,
    applicant: ApplicantPrincipal,
    *,
    error: EdgeRefused | None = None,
) -> Response:
    registrations = await edge.registrations()
    status = await registrations.status(applicant.workflow_id)
    if status.stage != Stage.AWAITING_SIGNATURE:
        return redirect(request, "/register/progress")
    application = await registrations.application(applicant.workflow_id)
    return render(
        request,
        "register/sign.html",
        {
            "csrf_token": applicant.csrf_token,
            "digest": status.application_digest,
            "declaration": signatures.DECLARATION,
            "application": application,
            "masked_id_number": mask_id_number(application.id_number),
            "masked_phone": mask_phone(application.phone),
            "role_text": ROLE_TEXT_ZH[application.requested_role],
            "errors": form_errors([error], _SIGN_FIELDS) if error else FormErrors(),
        },
        status_code=error.status if error else 200,
    )


@router.get("/sign", response_class=HTMLResponse)
async def sign_page(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    return await _sign_page(request, edge, applicant)


@router.post("/sign", response_class=HTMLResponse)
async def sign(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    posted = await request.form()
    fields = values(posted, ("digest", "typed_name"))
    # The pad's drawing as a data URL: far over a form field's usual size.
    drawn = posted.get("signature")
    try:
        if posted.get("declaration") != "yes":
            refused("signature.declaration")
            raise EdgeRefused("signature.declaration", fields=["declaration"])
        await signatures.sign(
            await edge.registrations(),
            applicant.workflow_id,
            actor=applicant.actor,
            digest=fields["digest"],
            drawn=signatures.from_data_url(drawn) if isinstance(drawn, str) and drawn else None,
            typed_name=fields["typed_name"],
        )
    except EdgeRefused as exc:
        if exc.code == "registration.wrong_stage":
            return redirect(request, "/register/progress")
        return await _sign_page(request, edge, applicant, error=exc)
    registrations = await edge.registrations()
    await registrations.settled(
        applicant.workflow_id, lambda now: now.stage != Stage.AWAITING_SIGNATURE
    )
    return redirect(request, "/register/progress")


async def _current_fields(edge: EdgeServices, workflow_id: str) -> dict[str, str]:
    current = await (await edge.registrations()).application(workflow_id)
    fields = {
        name: str(getattr(current, name))
        for name in FIELD_CHECKS
        if name not in ("id_number", "password", "invitation_code")
    }
    fields["requested_role"] = current.requested_role.value
    fields["masked_id_number"] = mask_id_number(current.id_number)
    return fields


@router.get("/correct", response_class=HTMLResponse)
async def correction(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    """The application of the last round, prefilled, the reasons at their fields."""
    if applicant is None:
        return redirect(request, ANONYMOUS)
    status = await (await edge.registrations()).status(applicant.workflow_id)
    if status.stage != Stage.AWAITING_CORRECTION:
        return redirect(request, "/register/progress")
    return await form_page(
        request,
        edge,
        applicant.csrf_token,
        fields=await _current_fields(edge, applicant.workflow_id),
        errors=form_errors(status.refusals, PAGE_ORDER),
        correcting=True,
        status_code=200,
    )


@router.post("/correct", response_class=HTMLResponse)
async def resubmit(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    workflow_id = applicant.workflow_id
    csrf = applicant.csrf_token
    posted = await request.form()
    fields = values(posted, FIELD_CHECKS)
    fields["masked_id_number"] = (await _current_fields(edge, workflow_id))["masked_id_number"]
    if refusals := consent_refusals(posted):
        return await refused_form(request, edge, csrf, fields, refusals, correcting=True)
    registrations = await edge.registrations()
    now = edge.sessions.clock()
    try:
        photos = await uploads(edge, posted)
        application = await registrations.correction(
            workflow_id,
            application_form(
                fields, photos, consent.GivenConsent(edge.settings.notice_version, now, now)
            ),
            new_photos={name for name in PHOTO_FIELDS if photos[name]},
        )
        await registrations.resubmit(workflow_id, application, actor=applicant.actor)
    except ApplicationRefused as exc:
        return await refused_form(request, edge, csrf, fields, exc.refusals, correcting=True)
    except EdgeRefused as exc:
        if exc.code == "photo.upload_too_large":
            return await refused_form(request, edge, csrf, fields, [exc], correcting=True)
        if exc.code not in ("registration.wrong_stage", "resubmit.already_submitted"):
            raise
        return redirect(request, "/register/progress")
    await registrations.settled(
        workflow_id, lambda now: now.stage not in (Stage.AWAITING_CORRECTION, Stage.VERIFYING)
    )
    return redirect(request, "/register/progress")
