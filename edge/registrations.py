"""What people do to registrations through the edge, as the actor authentication established:
the one place where the edge's routes (and pages) reach the registration workflows.

Every message is sent by `RegistrationClient` with the edge's signer, for the actor the route's
dependency authenticated; nothing here takes an identity from a payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from domain import texts
from domain.assertions import Actor, AssertionSigner
from domain.contracts.base import ApplicationRefused
from domain.contracts.internal import ErasureResult, VerificationInput
from domain.contracts.registration import (
    PHOTO_FIELDS,
    ApplicationView,
    DecisionResult,
    NudgeResult,
    PhoneCodeResult,
    RegistrationRequest,
    RegistrationStatus,
    RejectionReason,
    ResendResult,
    ResubmitResult,
    SignResult,
)
from domain.keys import applicant_key_of
from domain.review_rule import ReviewTarget, review_refusal
from domain.roles import Role
from edge.intake import Application, ApplicationForm, build_request
from edge.messages import EdgeRefused
from edge.metrics import refused
from plumbing import search
from starter.client import RegistrationClient
from store.documents import LocalDocumentStore
from store.models import Account
from store.verification import ApplicationChecks

CHINA = ZoneInfo("Asia/Shanghai")

# What a workflow's Update validator says, as the edge's codes (edge/messages.py).
_UPDATE_REFUSALS = (
    (re.compile(r"^registration is \w+, not \w+"), "registration.wrong_stage"),
    (re.compile(r"outdated application digest"), "signature.outdated"),
    (re.compile(r"correction was already submitted"), "resubmit.already_submitted"),
    (re.compile(r"ID number cannot change"), "resubmit.id_number_changed"),
    (re.compile(r"^(assertion\.[a-z_]+)"), None),
)


def update_refusal(exc: WorkflowUpdateFailedError) -> EdgeRefused:
    """The edge's refusal for what an Update validator said; the workers' refusal of an
    assertion keeps its own code (`assertion.expired`, …) under the 403 of `assertion.refused`."""
    message = str(getattr(exc.cause, "message", exc.cause or exc))
    for pattern, key in _UPDATE_REFUSALS:
        if match := pattern.search(message):
            code = key or match.group(1)
            refused(code)
            said = texts.ASSERTIONS.get(code)
            return EdgeRefused(
                key or "assertion.refused", code=code, message_zh=said.zh if said else None
            )
    refused("update.refused")
    return EdgeRefused("update.refused")


class Registrations:
    def __init__(
        self,
        settings: Settings,
        db: async_sessionmaker[AsyncSession],
        signer: AssertionSigner,
        temporal: Client,
    ) -> None:
        self._settings = settings
        self._documents = LocalDocumentStore(settings.document_dir)
        self._checks = ApplicationChecks.embedded(db, settings)
        # Every message it sends is signed for the actor each method is given.
        self._client = RegistrationClient(
            temporal,
            task_queue=settings.task_queue,
            applicant_key_secret=settings.applicant_key_secret,
            verifier=self._checks,
            documents=self._documents,
            signer=signer,
            ttl=timedelta(seconds=settings.assertion_ttl_seconds),
        )

    @property
    def documents(self) -> LocalDocumentStore:
        return self._documents

    @staticmethod
    def today() -> date:
        """The applicant's date (age, birth date): China's, whatever the server's zone."""
        return datetime.now(CHINA).date()

    def check_form(self, form: ApplicationForm, *, fit_photos: bool = False) -> Application:
        """The form's rules, photos and password policy; the password leaves hashed.

        Raises:
            ApplicationRefused: one refusal per field at fault.
        """
        settings = self._settings
        return build_request(
            form,
            today=self.today(),
            limits=settings.photo_limits(),
            ages=settings.applicant_ages,
            fit_photos=fit_photos,
        )

    def workflow_id(self, id_number: str) -> str:
        return self._client.workflow_id(id_number)

    async def running(self, workflow_id: str) -> bool:
        try:
            description = await self._client.temporal.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return description.status == WorkflowExecutionStatus.RUNNING

    async def start(
        self, application: Application, *, actor: Actor | None, idempotent: bool
    ) -> str:
        """Start the registration (the pre-checks first: a refusal starts and stores nothing).

        An applicant's browser gets its session only for a registration it started: one already
        running for that ID number is refused (`registration.exists`) unless `idempotent` (an
        integrator's system, which gets no session anyway).
        """
        request = application.request
        if not idempotent and await self.running(self.workflow_id(request.id_number)):
            refused("registration.exists")
            raise EdgeRefused("registration.exists")
        return await self._client.start(request, application.documents)

    async def status(self, workflow_id: str) -> RegistrationStatus:
        return await self._client.status(workflow_id)

    async def application(self, workflow_id: str) -> ApplicationView:
        return await self._client.application(workflow_id)

    async def settled(
        self,
        workflow_id: str,
        until: Callable[[RegistrationStatus], bool],
        *,
        timeout: float = 8,
    ) -> RegistrationStatus:
        """The status once `until` holds, or as it is after `timeout` seconds: a page waits a
        moment for the worker (the checks, a signal) before it shows where things stand."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        current = await self.status(workflow_id)
        while not until(current) and loop.time() < deadline:
            await asyncio.sleep(0.25)
            current = await self.status(workflow_id)
        return current

    async def phone_of(self, workflow_id: str) -> str | None:
        """The phone the registration was made with, or None when there is no such one."""
        with contextlib.suppress(RPCError):
            return (await self._client.application(workflow_id)).phone
        return None

    async def submit_phone_code(
        self, workflow_id: str, code: str, *, actor: Actor
    ) -> PhoneCodeResult:
        try:
            return await self._client.submit_phone_code(workflow_id, code, actor=actor)
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None

    async def resend_phone_code(self, workflow_id: str, *, actor: Actor) -> ResendResult:
        try:
            return await self._client.resend_phone_code(workflow_id, actor=actor)
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None

    async def sign(self, workflow_id: str, signature_ref: str, *, actor: Actor) -> SignResult:
        try:
            return await self._client.sign(workflow_id, signature_ref)
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None

    async def nudge(self, workflow_id: str, *, actor: Actor) -> NudgeResult:
        try:
            return await self._client.nudge(workflow_id, actor=actor)
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None

    async def correction(
        self, workflow_id: str, form: ApplicationForm, new_photos: set[str]
    ) -> Application:
        """The corrected form as an application of this registration: its own ID number, and
        the photos of the last round where no new one was chosen (the same references, so the
        reviewer sees them unchanged). The pre-checks run too: a correction they refuse costs
        no review round.

        Raises:
            ApplicationRefused: one refusal per field at fault.
        """
        current = await self._client.application(workflow_id)
        keep = {name: getattr(current, name) for name in PHOTO_FIELDS if name not in new_photos}
        kept = {name: await self._documents.get(ref) for name, ref in keep.items()}
        form = form.model_copy(update={"id_number": current.id_number, **kept})
        settings = self._settings
        application = await asyncio.to_thread(
            build_request,
            form,
            today=self.today(),
            limits=settings.photo_limits(),
            ages=settings.applicant_ages,
            fit_photos=True,
            keep=keep,
        )
        verification = await self._checks.check(
            VerificationInput(
                registration_id=f"{workflow_id}/precheck",
                applicant_key=applicant_key_of(workflow_id),
                request=application.request,
                at=datetime.now(CHINA),
            ),
            pending_documents=application.documents,
        )
        if verification.refusals:
            raise ApplicationRefused(verification.refusals)
        return application

    async def resubmit(
        self, workflow_id: str, application: Application, *, actor: Actor
    ) -> ResubmitResult:
        request: RegistrationRequest = application.request
        if self.workflow_id(request.id_number) != workflow_id:
            refused("resubmit.id_number_changed")
            raise EdgeRefused("resubmit.id_number_changed", fields=["id_number"])
        documents: Mapping[str, bytes] = application.documents
        try:
            return await self._client.resubmit(workflow_id, request, documents, actor=actor)
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None

    async def erase(self, workflow_id: str, *, actor: Actor) -> ErasureResult:
        return await self._client.erase(workflow_id, actor=actor)

    async def withdraw(self, workflow_id: str, reason: str, *, actor: Actor) -> None:
        await self._client.withdraw(workflow_id, reason)

    async def review_target(self, workflow_id: str) -> tuple[RegistrationStatus, ReviewTarget]:
        status = await self.status(workflow_id)
        target = ReviewTarget(
            status.unit_code, status.requested_role, applicant_key_of(workflow_id)
        )
        return status, target

    async def check_reviewer(self, workflow_id: str, reviewer: Account) -> RegistrationStatus:
        """The status, when `reviewer` may review this registration (domain.review_rule).

        Raises:
            EdgeRefused: the rule's refusal code (403), nothing sent.
        """
        status, target = await self.review_target(workflow_id)
        if code := review_refusal(reviewer, target):
            refused(code)
            raise EdgeRefused(code)
        return status

    async def check_may_review(self, workflow_id: str, reviewer: Account) -> None:
        """`check_reviewer` from the registration's search attributes, which the server answers
        from its own state: no query waits for a worker (a decision under load waited ~250 ms
        for one). A start without them, before its first task, falls back to the query."""
        described = await self._client.temporal.get_workflow_handle(workflow_id).describe()
        found = described.typed_search_attributes
        unit_code, role = found.get(search.UNIT_CODE), found.get(search.REQUESTED_ROLE)
        if unit_code is None or role is None:
            await self.check_reviewer(workflow_id, reviewer)
            return
        target = ReviewTarget(unit_code, Role(role), applicant_key_of(workflow_id))
        if code := review_refusal(reviewer, target):
            refused(code)
            raise EdgeRefused(code)

    async def decide(
        self,
        workflow_id: str,
        *,
        actor: Actor,
        approve: bool,
        reason: RejectionReason | None,
        comment: str,
        fields: list[str],
        decision_id: str | None,
    ) -> DecisionResult:
        try:
            return await self._client.decide(
                workflow_id,
                reviewer_id=actor.id,
                approve=approve,
                reason=reason,
                comment=comment,
                fields=fields,
                decision_id=decision_id,
            )
        except WorkflowUpdateFailedError as exc:
            raise update_refusal(exc) from None
