"""The typed client for integrators: start a registration and talk to it.

It takes a connected `temporalio.client.Client` (built with `pydantic_data_converter`), so tests
and applications hand in their own. With a `verifier`, `start` runs the same cross-checks as the
workflow before starting, so a refused application starts nothing and stores nothing.

Every message that changes a registration must carry the edge's signed assertion of who sends
it. With a `signer` (the edge's key) the client signs each one for the actor it is given: the
applicant of the registration by default, the reviewer for a decision. Whoever holds the signer
vouches: call it only with the identity the edge authenticated. Without a signer the messages go
unsigned, and the workers refuse them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from domain.assertions import Actor, AssertionSigner
from domain.contracts.base import ApplicationRefused, Message, Vouched
from domain.contracts.internal import (
    ErasureRequest,
    ErasureResult,
    RegistrationInput,
    VerificationInput,
    VerificationResult,
)
from domain.contracts.registration import (
    ApplicationView,
    DecisionResult,
    NudgeResult,
    PhoneCodeAnswer,
    PhoneCodeResult,
    RegistrationOutcome,
    RegistrationRequest,
    RegistrationStatus,
    RejectionReason,
    ResendResult,
    Resubmission,
    ResubmitResult,
    ReviewDecision,
    Signature,
    SignResult,
    Withdrawal,
)
from domain.keys import applicant_key, registration_workflow_id
from domain.roles import ROLE_TEXT_ZH
from domain.rules import mask_name
from domain.vouching import applicant_actor
from plumbing import search

WORKFLOW_TYPE = "RegistrationWorkflow"
ERASURE_WORKFLOW_TYPE = "ErasureWorkflow"


def erasure_workflow_id(registration: str) -> str:
    return f"erasure-{registration}"


# How long a signed message stays valid: it is checked the moment an Update arrives.
ASSERTION_TTL = timedelta(minutes=5)
M = TypeVar("M", bound=Message)
# The memo, which visibility lists return (unlike the static summary) and later runs inherit:
# what a reviewer's inbox row shows of the applicant. Masked, and encrypted like any payload.
MEMO_MASKED_NAME = "masked_name"
MEMO_UNIT_NAME = "unit_name"


class Prechecks(Protocol):
    """The workflow's verification run before a start (`store.verification.ApplicationChecks`)."""

    async def check(
        self, inp: VerificationInput, pending_documents: Mapping[str, bytes] | None = None
    ) -> VerificationResult: ...


class Documents(Protocol):
    """Where the photos go once the pre-checks passed (`store.documents.DocumentStore`)."""

    async def put(self, data: bytes, *, content_type: str) -> str: ...


class RegistrationClient:
    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        applicant_key_secret: str,
        verifier: Prechecks | None = None,
        documents: Documents | None = None,
        signer: AssertionSigner | None = None,
        ttl: timedelta = ASSERTION_TTL,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._secret = applicant_key_secret
        self._verifier = verifier
        self._documents = documents
        self._signer = signer
        self._ttl = ttl

    async def vouched(
        self,
        workflow_id: str,
        message: str,
        payload: M,
        *,
        actor: Actor | None = None,
        round: int | None = None,
    ) -> M:
        """`payload` with the assertion that `actor` (default: the applicant) sends `message` in
        `round` (default: the registration's current one); unchanged without a signer."""
        if self._signer is None:
            return payload
        actor = actor or Actor("applicant", applicant_actor(workflow_id))
        if round is None:
            round = (await self.status(workflow_id)).round
        assertion = self._signer.sign(
            actor=actor.id,
            actor_kind=actor.kind,
            workflow_id=workflow_id,
            message=message,
            payload=payload,
            now=datetime.now(UTC),
            ttl=self._ttl,
            round=round,
        )
        return payload.model_copy(update={"assertion": assertion})

    async def _store(self, documents: Mapping[str, bytes]) -> None:
        if documents and self._documents is None:
            raise ValueError("documents given, but this client has no document store")
        for data in documents.values():
            assert self._documents is not None
            await self._documents.put(data, content_type="image")

    def workflow_id(self, id_number: str) -> str:
        return registration_workflow_id(applicant_key(self._secret, id_number))

    async def start(
        self, request: RegistrationRequest, documents: Mapping[str, bytes] | None = None
    ) -> str:
        """Start the applicant's registration, or return the one already running for them.

        `documents` are the photos the request refers to (see `edge.intake.Application`);
        they are stored only once the pre-checks passed. Without them the references must
        already be in the document store.

        Raises:
            ApplicationRefused: the pre-checks refused it; nothing was started or stored.
        """
        workflow_id = self.workflow_id(request.id_number)
        documents = documents or {}
        if self._verifier is not None:
            verification = await self._verifier.check(
                VerificationInput(
                    registration_id=f"{workflow_id}/precheck",
                    applicant_key=applicant_key(self._secret, request.id_number),
                    request=request,
                    at=datetime.now(UTC),
                ),
                pending_documents=documents,
            )
            if verification.refusals:
                raise ApplicationRefused(verification.refusals)
        await self._store(documents)
        await self._client.start_workflow(
            WORKFLOW_TYPE,
            RegistrationInput(request),
            id=workflow_id,
            task_queue=self._task_queue,
            # Idempotent start: a second start while one runs returns the running one.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=(
                f"注册 {mask_name(request.name)} · {request.unit_name} · "
                f"{ROLE_TEXT_ZH[request.requested_role]}"
            ),
            memo={MEMO_MASKED_NAME: mask_name(request.name), MEMO_UNIT_NAME: request.unit_name},
            search_attributes=search.at_start(
                request.unit_code,
                request.requested_role.value,
                applicant_key(self._secret, request.id_number),
            ),
        )
        return workflow_id

    def _handle(self, workflow_id: str) -> WorkflowHandle[object, RegistrationOutcome]:
        return self._client.get_workflow_handle(workflow_id, result_type=RegistrationOutcome)

    @property
    def temporal(self) -> Client:
        return self._client

    async def application(self, workflow_id: str) -> ApplicationView:
        """The full application; show it only to a reviewer of this registration."""
        return await self._handle(workflow_id).query("application", result_type=ApplicationView)

    async def status(self, workflow_id: str) -> RegistrationStatus:
        return await self._handle(workflow_id).query("status", result_type=RegistrationStatus)

    async def submit_phone_code(
        self, workflow_id: str, code: str, *, actor: Actor | None = None
    ) -> PhoneCodeResult:
        answer = PhoneCodeAnswer(code=code)
        return await self._handle(workflow_id).execute_update(
            "submit_phone_code",
            await self.vouched(workflow_id, "submit_phone_code", answer, actor=actor),
            result_type=PhoneCodeResult,
        )

    async def resend_phone_code(
        self, workflow_id: str, *, actor: Actor | None = None
    ) -> ResendResult:
        return await self._handle(workflow_id).execute_update(
            "resend_phone_code",
            await self.vouched(workflow_id, "resend_phone_code", Vouched(), actor=actor),
            result_type=ResendResult,
        )

    async def sign(self, workflow_id: str, signature_ref: str) -> SignResult:
        """Sign the application as it stands now (its digest comes from `status`)."""
        status = await self.status(workflow_id)
        signature = Signature(
            application_digest=status.application_digest, signature_ref=signature_ref
        )
        return await self._handle(workflow_id).execute_update(
            "sign",
            await self.vouched(workflow_id, "sign", signature, round=status.round),
            result_type=SignResult,
        )

    async def decide(
        self,
        workflow_id: str,
        *,
        reviewer_id: str,
        approve: bool,
        reason: RejectionReason | None = None,
        comment: str = "",
        fields: list[str] | None = None,
        decision_id: str | None = None,
        round: int | None = None,
    ) -> DecisionResult:
        """Decide as `reviewer_id` (the reviewer the edge authenticated), for `round` (default:
        the current one); the answer says whether it counted."""
        decision = ReviewDecision(
            decision_id=decision_id or uuid.uuid4().hex,
            reviewer_id=reviewer_id,
            approve=approve,
            reason=reason,
            comment=comment,
            fields=fields or [],
        )
        staff = Actor("staff", reviewer_id)
        return await self._handle(workflow_id).execute_update(
            "decide",
            await self.vouched(workflow_id, "decide", decision, actor=staff, round=round),
            result_type=DecisionResult,
        )

    async def send_decision(self, workflow_id: str, decision: ReviewDecision) -> None:
        """The `review_decision` signal: the same decision, fire and forget."""
        staff = Actor("staff", decision.reviewer_id)
        await self._handle(workflow_id).signal(
            "review_decision",
            await self.vouched(workflow_id, "review_decision", decision, actor=staff),
        )

    async def nudge(self, workflow_id: str, *, actor: Actor | None = None) -> NudgeResult:
        return await self._handle(workflow_id).execute_update(
            "nudge",
            await self.vouched(workflow_id, "nudge", Vouched(), actor=actor),
            result_type=NudgeResult,
        )

    async def resubmit(
        self,
        workflow_id: str,
        request: RegistrationRequest,
        documents: Mapping[str, bytes] | None = None,
        *,
        actor: Actor | None = None,
    ) -> ResubmitResult:
        """Send the corrected application; the workflow verifies it again. Its photos are
        stored only once the Update was accepted: a refused correction leaves no file behind
        (the verification waits a moment for photos still on their way)."""
        resubmission = Resubmission(request=request)
        result = await self._handle(workflow_id).execute_update(
            "resubmit",
            await self.vouched(workflow_id, "resubmit", resubmission, actor=actor),
            result_type=ResubmitResult,
        )
        await self._store(documents or {})
        return result

    async def withdraw(self, workflow_id: str, reason: str = "") -> None:
        """Withdraw, as the applicant (no one else may)."""
        withdrawal = Withdrawal(reason=reason)
        await self._handle(workflow_id).signal(
            "withdraw", await self.vouched(workflow_id, "withdraw", withdrawal)
        )

    async def erase(self, workflow_id: str, *, actor: Actor | None = None) -> ErasureResult:
        """The applicant asks that an ended registration without an account be deleted now
        (an `ErasureWorkflow`; the same request twice is the same workflow while it runs)."""
        erasure_id = erasure_workflow_id(workflow_id)
        request = ErasureRequest(registration=workflow_id)
        if self._signer is not None:
            actor = actor or Actor("applicant", applicant_actor(workflow_id))
            # No review round: the request is about the registration as a whole.
            assertion = self._signer.sign(
                actor=actor.id,
                actor_kind=actor.kind,
                workflow_id=erasure_id,
                message="erase",
                payload=request,
                now=datetime.now(UTC),
                ttl=self._ttl,
                round=None,
            )
            request = request.model_copy(update={"assertion": assertion})
        return await self._client.execute_workflow(
            ERASURE_WORKFLOW_TYPE,
            request,
            id=erasure_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            result_type=ErasureResult,
            static_summary="erasure requested by the applicant",
        )

    async def result(self, workflow_id: str) -> RegistrationOutcome:
        return await self._handle(workflow_id).result()
