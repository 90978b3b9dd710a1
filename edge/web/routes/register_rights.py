"""The applicant's rights (PIPL arts. 44-47) in pages: 我的个人信息 shows what is held about
them and until when; 申请删除 deletes now, after a confirmation, what is held about a
registration that ended without an account (the `ErasureWorkflow` the API starts too).

As everywhere on the applicant's pages, the registration is the one the session is bound to:
the URLs name none, and the confirmation names the one it was shown for, so that a session
that meanwhile came back for another registration deletes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from domain import texts
from domain.contracts.registration import ApplicationView, RegistrationStatus, Stage
from domain.roles import ROLE_TEXT_ZH
from domain.rules import mask_id_number, mask_phone
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.personal_data import WITHOUT_ACCOUNT, HeldData, HeldEvent, held_about
from edge.progress import china_text, reminder_text
from edge.web.deps import ApplicantPrincipal, Services
from edge.web.pages import render
from edge.web.routes.register_form import redirect
from edge.web.routes.register_progress import ANONYMOUS, CAN_WITHDRAW, PageApplicant
from edge.web.services import EdgeServices

router = APIRouter(prefix="/register", include_in_schema=False)


@dataclass(frozen=True)
class Photo:
    side: str
    deleted_after: datetime | None


@dataclass(frozen=True)
class Erasability:
    """Whether this registration's data can be deleted now, and if not, why and what to do."""

    allowed: bool
    reason: str = ""
    hint: str = ""
    withdraw: bool = False


def erasability(status: RegistrationStatus) -> Erasability:
    if status.stage.value in WITHOUT_ACCOUNT:
        return Erasability(allowed=True)
    if status.stage == Stage.COMPLETED:
        return Erasability(False, texts.ERASURE_HAS_ACCOUNT, texts.ERASURE_ACCOUNT_HINT)
    if status.stage == Stage.ASSIGNING_ROLE:
        return Erasability(False, texts.ERASURE_ASSIGNING, texts.ERASURE_ACCOUNT_HINT)
    return Erasability(False, texts.ERASURE_STILL_RUNNING, withdraw=status.stage in CAN_WITHDRAW)


def _refusal(code: str) -> Erasability:
    """The erasure's own refusal (the registration moved on since the page was shown)."""
    if code == "erasure.has_account":
        return Erasability(False, texts.ERASURE_HAS_ACCOUNT, texts.ERASURE_ACCOUNT_HINT)
    return Erasability(False, texts.ERASURE_STILL_RUNNING, withdraw=True)


def event_text(event: HeldEvent) -> str:
    if event.kind == "reminder":
        return reminder_text(event.outcome)
    label = texts.AUDIT_KIND_TEXT.get(event.kind, texts.AUDIT_KIND_OTHER)
    if event.kind == "decision" and event.outcome in texts.DECISION_TEXT:
        return f"{label}:{texts.DECISION_TEXT[event.outcome]}"
    return label


def _photos(held: HeldData, application: ApplicationView) -> list[Photo]:
    sides = {application.id_card_front: "身份证人像面", application.id_card_back: "身份证国徽面"}
    return [
        Photo(sides.get(ref, "此前提交的身份证照片"), held.photos_and_messages_deleted_after)
        for ref in held.photos
    ]


def _retention(edge: EdgeServices) -> dict[str, int]:
    settings = edge.settings
    return {
        "documents_days": settings.retention_documents_days,
        "applicant_days": settings.retention_applicant_days,
    }


async def _held(edge: EdgeServices, workflow_id: str) -> tuple[ApplicationView, HeldData]:
    application = await (await edge.registrations()).application(workflow_id)
    return application, await held_about(edge.db, edge.settings, workflow_id, application)


def _when(instant: datetime | None) -> str:
    return china_text(instant, with_year=True) if instant else ""


@router.get("/my-data", response_class=HTMLResponse)
async def my_data(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    workflow_id = applicant.workflow_id
    status = await (await edge.registrations()).status(workflow_id)
    application, held = await _held(edge, workflow_id)
    retention = _retention(edge)
    context: dict[str, Any] = {
        "csrf_token": applicant.csrf_token,
        "application": application,
        "masked_id_number": mask_id_number(application.id_number),
        "masked_phone": mask_phone(application.phone),
        "role_text": ROLE_TEXT_ZH[application.requested_role],
        "held": held,
        "photos": _photos(held, application),
        "events": [(event.at, event_text(event)) for event in held.audit],
        "channel_text": texts.CHANNEL_TEXT,
        "retention_text": texts.RIGHTS_RETENTION.format(**retention),
        "running_text": texts.RIGHTS_WHILE_RUNNING,
        "audit_kept_text": texts.RIGHTS_AUDIT_KEPT,
        "erasable": erasability(status),
        "when": _when,
    }
    return render(request, "register/my_data.html", context)


def _erase_page(
    request: Request,
    applicant: ApplicantPrincipal,
    can: Erasability,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "register/erase.html",
        {
            "csrf_token": applicant.csrf_token,
            "registration": applicant.workflow_id,
            "can": can,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/erase", response_class=HTMLResponse)
async def confirm_erasure(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    status = await (await edge.registrations()).status(applicant.workflow_id)
    return _erase_page(request, applicant, erasability(status))


@router.post("/erase", response_class=HTMLResponse)
async def erase(request: Request, applicant: PageApplicant, edge: Services) -> Response:
    if applicant is None:
        return redirect(request, ANONYMOUS)
    posted = await request.form()
    workflow_id = applicant.workflow_id
    if posted.get("registration") != workflow_id:
        # Confirmed for another registration than this session's now (another tab came back
        # with another ID number): nothing is deleted.
        refused("registration.not_yours")
        raise EdgeRefused("registration.not_yours")
    registrations = await edge.registrations()
    can = erasability(await registrations.status(workflow_id))
    if not can.allowed:
        return _erase_page(request, applicant, can, status_code=409)
    if posted.get("confirm") != "yes":
        error = texts.EDGE["erasure.unconfirmed"].zh
        return _erase_page(request, applicant, can, error=error, status_code=422)
    _, before = await _held(edge, workflow_id)
    result = await registrations.erase(workflow_id, actor=applicant.actor)
    if not result.erased:
        return _erase_page(request, applicant, _refusal(result.code), status_code=409)
    return render(
        request,
        "register/erased.html",
        {
            "csrf_token": applicant.csrf_token,
            "message": result.message_zh,
            "records": result.records,
            "before": before,
            "temporal_note": texts.ERASURE_TEMPORAL_NOTE.format(**_retention(edge)),
            "audit_kept_text": texts.RIGHTS_AUDIT_KEPT,
        },
    )
