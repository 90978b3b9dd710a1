"""Registrations: `/api/v1/registrations`. Started by an applicant's browser (which then holds
the registration's session) or an integrator's service token; everything after the start is the
applicant's, through that session."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile, status
from pydantic import ValidationError

from domain import texts
from domain.contracts.base import ApplicationRefused
from domain.contracts.internal import ErasureResult
from domain.contracts.registration import (
    NudgeResult,
    PhoneCodeResult,
    RegistrationStatus,
    ResendResult,
    ResubmitResult,
    SignResult,
)
from domain.roles import Role
from edge import signatures
from edge.intake import ApplicationForm
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.personal_data import HeldData, held_about
from edge.registrations import CHINA
from edge.tokens import SERVICE_PREFIX, ServiceIdentity
from edge.web.deps import (
    ApplicantOfPath,
    ServiceCaller,
    Services,
    WorkflowId,
    anonymous_csrf,
    bearer_token,
    current_applicant,
    registration_applicant,
)
from edge.web.errors import refusal_of, responses
from edge.web.routes.applicant_session import bind_applicant
from edge.web.schemas import Done, PhoneCode, RegistrationStarted, WithdrawalBody

router = APIRouter(prefix="/api/v1/registrations", tags=["registrations"])

# An upload this far over the photo limit is refused before it is decoded (fit_photos re-encodes
# the ones in between).
UPLOAD_FACTOR = 4


async def starter(request: Request, edge: Services) -> ServiceIdentity | None:
    """An integrator's token with `registrations:start`, or an applicant's browser (whose form
    carries the anonymous CSRF token)."""
    token = bearer_token(request)
    if token and token.startswith(SERVICE_PREFIX):
        return await ServiceCaller("registrations:start")(request, edge)
    await anonymous_csrf(request, edge)
    return None


async def reader(
    workflow_id: WorkflowId, request: Request, edge: Services
) -> ServiceIdentity | None:
    """The registration's applicant (session), or a token with `registrations:read`."""
    token = bearer_token(request)
    if token and token.startswith(SERVICE_PREFIX):
        return await ServiceCaller("registrations:read")(request, edge)
    await registration_applicant(workflow_id, await current_applicant(request, edge))
    return None


async def _photo(upload: UploadFile, field: str, limit: int) -> bytes:
    data = await upload.read(limit * UPLOAD_FACTOR + 1)
    if len(data) > limit * UPLOAD_FACTOR:
        refused("photo.upload_too_large")
        raise EdgeRefused("photo.upload_too_large", fields=[field])
    return data


def _form(fields: dict[str, object]) -> ApplicationForm:
    try:
        return ApplicationForm.model_validate(fields)
    except ValidationError as exc:
        raise ApplicationRefused([refusal_of(dict(e)) for e in exc.errors()]) from None


async def application_form(
    edge: Services,
    name: Annotated[str, Form(max_length=40)],
    id_number: Annotated[str, Form(max_length=32)],
    phone: Annotated[str, Form(max_length=20)],
    email: Annotated[str, Form(max_length=254)],
    unit_code: Annotated[str, Form(max_length=32)],
    unit_name: Annotated[str, Form(max_length=100)],
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=128)],
    notice_version: Annotated[str, Form(max_length=32, description="the notice accepted")],
    id_card_front: Annotated[UploadFile, File(description="the portrait side")],
    id_card_back: Annotated[UploadFile, File(description="the national-emblem side")],
    requested_role: Annotated[Role, Form()] = Role.USER,
    invitation_code: Annotated[str | None, Form(max_length=64)] = None,
    fit_photos: Annotated[bool, Form(description="re-encode an oversized photo")] = False,
) -> tuple[ApplicationForm, bool]:
    """The registration form: the fields, the two photos, and the notice version the applicant
    accepted (the edge records the time of consent)."""
    limit = edge.settings.photo_max_bytes
    form = _form(
        {
            "name": name,
            "id_number": id_number,
            "phone": phone,
            "email": email,
            "unit_code": unit_code,
            "unit_name": unit_name,
            "username": username,
            "password": password,
            "requested_role": requested_role,
            "invitation_code": invitation_code or None,
            "id_card_front": await _photo(id_card_front, "id_card_front", limit),
            "id_card_back": await _photo(id_card_back, "id_card_back", limit),
            "notice_version": notice_version,
            "consented_at": datetime.now(CHINA),
        }
    )
    return form, fit_photos


FormDep = Annotated[tuple[ApplicationForm, bool], Depends(application_form)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 413, 422, 503),
)
async def start_registration(
    submitted: FormDep,
    request: Request,
    response: Response,
    edge: Services,
    service: Annotated[ServiceIdentity | None, Depends(starter)],
) -> RegistrationStarted:
    """Start a registration (multipart: the form's fields and the two ID-card photos).

    The edge checks every field, the photos and the password policy, hashes the password
    (Argon2id), runs the verification's cross-checks (unit, real name, uniqueness), and only
    then stores the photos and starts the workflow. An applicant's browser gets the
    registration's session cookie; an integrator (service token) gets the workflow ID only.
    """
    form, fit_photos = submitted
    registrations = await edge.registrations()
    # The photo checks and Argon2 are CPU work: off the event loop the requests share (in it,
    # 20 registrations at once held every inbox page and decision for seconds).
    application = await asyncio.to_thread(registrations.check_form, form, fit_photos=fit_photos)
    actor = service.actor if service else None
    workflow_id = await registrations.start(
        application, actor=actor, idempotent=service is not None
    )
    if service is not None:
        return RegistrationStarted(workflow_id=workflow_id)
    session = await bind_applicant(request, response, edge, workflow_id)
    return RegistrationStarted(
        workflow_id=workflow_id,
        csrf_token=session.csrf_token,
        session_expires_at=session.expires_at,
    )


@router.get("/{workflow_id}", responses=responses(401, 403, 404, 503))
async def registration_status(
    workflow_id: WorkflowId,
    edge: Services,
    _caller: Annotated[ServiceIdentity | None, Depends(reader)],
) -> RegistrationStatus:
    """Where the registration stands (masked), as the `status` query answers."""
    return await (await edge.registrations()).status(workflow_id)


@router.get("/{workflow_id}/personal-data", responses=responses(401, 403, 404, 503))
async def personal_data(
    workflow_id: WorkflowId, _applicant: ApplicantOfPath, edge: Services
) -> HeldData:
    """What is held about the applicant (their own session only): the application, and every
    message, code, photo, signature and audit row kept for it, with when the purge deletes
    them."""
    application = await (await edge.registrations()).application(workflow_id)
    return await held_about(edge.db, edge.settings, workflow_id, application)


@router.post("/{workflow_id}/erasure", responses=responses(401, 403, 503))
async def erase(
    workflow_id: WorkflowId, applicant: ApplicantOfPath, edge: Services
) -> ErasureResult:
    """Delete now what is held about an ended registration that created no account (an
    `ErasureWorkflow`, audited). `erased` false with `code` `erasure.still_running` (withdraw
    first) or `erasure.has_account` (the account's data stays; the user center manages it)."""
    return await (await edge.registrations()).erase(workflow_id, actor=applicant.actor)


@router.post("/{workflow_id}/phone-code", responses=responses(401, 403, 409, 422, 503))
async def submit_phone_code(
    workflow_id: WorkflowId, body: PhoneCode, applicant: ApplicantOfPath, edge: Services
) -> PhoneCodeResult:
    """The SMS code the applicant received: accepted, wrong (attempts left) or expired."""
    registrations = await edge.registrations()
    return await registrations.submit_phone_code(workflow_id, body.code, actor=applicant.actor)


@router.post("/{workflow_id}/phone-code/resend", responses=responses(401, 403, 409, 503))
async def resend_phone_code(
    workflow_id: WorkflowId, applicant: ApplicantOfPath, edge: Services
) -> ResendResult:
    """A new SMS code (a cooldown and an hourly cap apply)."""
    registrations = await edge.registrations()
    return await registrations.resend_phone_code(workflow_id, actor=applicant.actor)


@router.post("/{workflow_id}/signature", responses=responses(401, 403, 409, 413, 422, 503))
async def sign(
    workflow_id: WorkflowId,
    applicant: ApplicantOfPath,
    edge: Services,
    signature: Annotated[UploadFile | None, File(description="the hand signature (PNG)")] = None,
    typed_confirmation: Annotated[
        str | None, Form(max_length=100, description="the applicant's own name, typed")
    ] = None,
) -> SignResult:
    """E-sign the application as it stands (its digest is in the status): a hand signature
    from the page's pad, or, as the fallback, the applicant's name typed as the confirmation.
    The evidence (the drawing, or the typed name with the digest) is kept."""
    drawn = None
    if signature is not None:
        drawn = await signature.read(signatures.MAX_BYTES + 1)
        if len(drawn) > signatures.MAX_BYTES:
            refused("photo.upload_too_large")
            raise EdgeRefused("photo.upload_too_large", fields=["signature"])
    return await signatures.sign(
        await edge.registrations(),
        workflow_id,
        actor=applicant.actor,
        drawn=drawn,
        typed_name=typed_confirmation,
    )


@router.post("/{workflow_id}/nudge", responses=responses(401, 403, 409, 503))
async def nudge(workflow_id: WorkflowId, applicant: ApplicantOfPath, edge: Services) -> NudgeResult:
    """Urge the reviewers (at most once a day; the answer says when it is too soon)."""
    return await (await edge.registrations()).nudge(workflow_id, actor=applicant.actor)


@router.post("/{workflow_id}/resubmission", responses=responses(401, 403, 409, 413, 422, 503))
async def resubmit(
    workflow_id: WorkflowId, submitted: FormDep, applicant: ApplicantOfPath, edge: Services
) -> ResubmitResult:
    """The corrected application (the whole form again, with the photos); verified anew."""
    form, fit_photos = submitted
    registrations = await edge.registrations()
    application = await asyncio.to_thread(registrations.check_form, form, fit_photos=fit_photos)
    return await registrations.resubmit(workflow_id, application, actor=applicant.actor)


@router.post("/{workflow_id}/withdrawal", responses=responses(401, 403, 422, 503))
async def withdraw(
    workflow_id: WorkflowId, body: WithdrawalBody, applicant: ApplicantOfPath, edge: Services
) -> Done:
    """Withdraw the application (the `withdraw` signal)."""
    await (await edge.registrations()).withdraw(workflow_id, body.reason, actor=applicant.actor)
    return Done(message_zh=texts.EDGE_WITHDRAWAL_SENT)
