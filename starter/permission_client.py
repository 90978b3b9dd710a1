"""The typed client for permission changes: ask for a role or a permission, decide, revoke.

Like `RegistrationClient` it takes a connected `temporalio.client.Client`. With a `checker`
(`PermissionActivities` over the database) a refused request or revocation starts nothing.
With a `signer` (the edge's key) it signs each start and decision for the person it names: the
holder who asks, the approver who decides, the admin who revokes. Call it only with the identity
the edge authenticated; without a signer the workers refuse everything it sends.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from pydantic import ValidationError
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import texts
from domain.assertions import AssertionSigner
from domain.contracts.base import ApplicationRefused, Message, Refusal, refusals_of
from domain.contracts.internal import ApprovalPlan, ChangeResult
from domain.contracts.permissions import (
    PermissionChangeRequest,
    PermissionDecision,
    PermissionOutcome,
    PermissionStatus,
    RevokeRequest,
)
from domain.contracts.registration import DecisionResult
from domain.permissions import Change, check_change, refusal
from domain.roles import Role
from starter.client import ASSERTION_TTL

PREFIX = "permission-"
CHANGE_WORKFLOW = "PermissionChangeWorkflow"
REVOKE_WORKFLOW = "PermissionRevokeWorkflow"


class ChangeChecks(Protocol):
    """The workflows' own checks, run before a start (`activities.permissions` has them)."""

    async def plan(self, request: PermissionChangeRequest) -> ApprovalPlan: ...
    async def check_revoke(self, request: RevokeRequest) -> Refusal | None: ...


class ChangeRefused(ApplicationRefused):
    """The request or revocation was refused; nothing was started or changed."""


def request_workflow_id(username: str, request_id: str) -> str:
    return f"{PREFIX}{username}-{request_id}"


def revoke_workflow_id(username: str, revocation_id: str) -> str:
    return f"{PREFIX}{username}-revoke-{revocation_id}"


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


M = TypeVar("M", bound=Message)
R = TypeVar("R")


class PermissionClient:
    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        checker: ChangeChecks | None = None,
        signer: AssertionSigner | None = None,
        ttl: timedelta = ASSERTION_TTL,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._checker = checker
        self._signer = signer
        self._ttl = ttl

    def vouched(self, workflow_id: str, message: str, payload: M, *, staff: str) -> M:
        """`payload` with the assertion that the account `staff` sends `message`; unchanged
        without a signer."""
        if self._signer is None:
            return payload
        assertion = self._signer.sign(
            actor=staff,
            actor_kind="staff",
            workflow_id=workflow_id,
            message=message,
            payload=payload,
            now=datetime.now(UTC),
            ttl=self._ttl,
        )
        return payload.model_copy(update={"assertion": assertion})

    async def request_change(
        self,
        *,
        username: str,
        reason: str,
        role: str | None = None,
        permission: str | None = None,
        request_id: str | None = None,
    ) -> str:
        """Start a `PermissionChangeWorkflow` and return its workflow ID.

        Raises:
            ChangeRefused: no such role or permission, the account may not ask for it, or too
                few approvers; nothing was started.
        """
        _raise_if(check_change(role, permission))
        with _refused_if_invalid():
            request = PermissionChangeRequest(
                request_id=request_id or _new_id(),
                username=username,
                role=Role(role) if role else None,
                permission=permission,
                reason=reason,
            )
        workflow_id = request_workflow_id(request.username, request.request_id)
        if await self._exists(workflow_id):
            return workflow_id  # the same request ID again: the same request
        if self._checker is not None:
            _raise_if((await self._checker.plan(request)).refusals)
        # The same request ID twice is the same request, running or done.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                CHANGE_WORKFLOW,
                self.vouched(workflow_id, "request", request, staff=request.username),
                id=workflow_id,
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"权限申请 {request.username} · "
                + Change(request.role, request.permission).text_zh,
            )
        return workflow_id

    async def _started_with(self, handle: WorkflowHandle[object, R], kind: type[M]) -> M:
        """The input the workflow of `handle` was started with (decrypted by the converter)."""
        async for event in handle.fetch_history_events():
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [value] = await self._client.data_converter.decode(payloads, [kind])
            assert isinstance(value, kind)
            return value
        raise LookupError(f"{handle.id} has no history")

    async def _exists(self, workflow_id: str) -> bool:
        try:
            await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    def _handle(self, workflow_id: str) -> WorkflowHandle[object, PermissionOutcome]:
        return self._client.get_workflow_handle(workflow_id, result_type=PermissionOutcome)

    async def decide(
        self,
        workflow_id: str,
        *,
        approver_id: str,
        approve: bool,
        comment: str = "",
        decision_id: str | None = None,
    ) -> DecisionResult:
        """Decide as `approver_id` (the approver the edge authenticated)."""
        with _refused_if_invalid():
            decision = PermissionDecision(
                decision_id=decision_id or uuid.uuid4().hex,
                approver_id=approver_id,
                approve=approve,
                comment=comment,
            )
        return await self._handle(workflow_id).execute_update(
            "decide",
            self.vouched(workflow_id, "decide", decision, staff=approver_id),
            result_type=DecisionResult,
        )

    async def status(self, workflow_id: str) -> PermissionStatus:
        return await self._handle(workflow_id).query("status", result_type=PermissionStatus)

    async def result(self, workflow_id: str) -> PermissionOutcome:
        return await self._handle(workflow_id).result()

    async def revoke(
        self,
        *,
        username: str,
        by: str,
        reason: str,
        role: str | None = None,
        permission: str | None = None,
        revocation_id: str | None = None,
    ) -> ChangeResult:
        """Revoke, as the admin `by`, through a `PermissionRevokeWorkflow` and wait for it (a
        second or so).

        Raises:
            ChangeRefused: with the reason (code and Chinese message); nothing changed.
        """
        _raise_if(check_change(role, permission))
        with _refused_if_invalid():
            request = RevokeRequest(
                revocation_id=revocation_id or _new_id(),
                username=username,
                role=Role(role) if role else None,
                permission=permission,
                by=by,
                reason=reason,
            )
        workflow_id = revoke_workflow_id(request.username, request.revocation_id)
        # The same revocation ID again is the same revocation: its result, not a new check.
        if self._checker is not None and not await self._exists(workflow_id):
            refused = await self._checker.check_revoke(request)
            _raise_if([refused] if refused else [])
        # The same revocation ID twice is the same revocation, running or done; but only if
        # it names the same change: the running or closed one is what the ID answers for.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._client.start_workflow(
                REVOKE_WORKFLOW,
                self.vouched(workflow_id, "revoke", request, staff=request.by),
                id=workflow_id,
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"撤销 {request.username} · "
                + Change(request.role, request.permission).text_zh,
            )
        handle = self._client.get_workflow_handle(workflow_id, result_type=ChangeResult)
        started = await self._started_with(handle, RevokeRequest)
        if _revocation_key(started) != _revocation_key(request):
            _raise_if([refusal("revoke.id_reused")])
        try:
            result = await handle.result()
        except WorkflowFailureError as failed:
            _raise_if(_not_vouched(failed))
            raise
        _raise_if([result.refusal] if result.refusal else [])
        return result


def _revocation_key(request: RevokeRequest) -> tuple[object, ...]:
    """What a revocation changes, and who answers for it: its ID may name only this."""
    return (request.username, request.role, request.permission, request.by)


def _not_vouched(failed: WorkflowFailureError) -> list[Refusal]:
    """The refusal when the workers found no valid assertion (workflows/vouching.py)."""
    cause = failed.cause
    if not (isinstance(cause, ApplicationError) and cause.type == "NotVouched"):
        return []
    code = cause.message.partition(":")[0]
    text = texts.ASSERTIONS.get(code, texts.ASSERTIONS["assertion.missing"])
    return [Refusal(code=code, message_zh=text.zh, message_en=text.en)]


def _raise_if(refusals: list[Refusal]) -> None:
    if refusals:
        raise ChangeRefused(refusals)


@contextlib.contextmanager
def _refused_if_invalid() -> Iterator[None]:
    """A malformed username, reason or ID: refused with codes, like every other refusal."""
    try:
        yield
    except ValidationError as exc:
        raise ChangeRefused(refusals_of(exc, whole="request")) from None
