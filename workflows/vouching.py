"""Only messages the edge vouched for reach a workflow: a workflow interceptor with the workers'
public keys bound, built by `worker.py`.

A workflow class says who may send what in `SENDERS` (message name → `domain.vouching.Senders`),
who may start it in `STARTED_BY` (message name, senders) where its input names its sender, and,
where messages belong to a review round, answers `vouching_round()`. Then:
- an Update's validator refuses an unvouched one before anything reaches history, and its
  caller learns why at once: the error message starts with the refusal code;
- a signal is checked before its handler runs; an unvouched one is dropped, logged and counted
  (`jshr_forged_messages`), and costs no activity;
- a start that is not vouched for fails at once, non-retryable, before the workflow does
  anything.

Only the first execution checks an Update (validators do not run on replay). Signals and starts
are checked on replay too, with the same `workflow.now()`, so the answer is the same; histories
written before the check existed were accepted unchecked, and the `signed-messages` patch keeps
replaying them so. (A run that took such a signal before this worker keeps taking them unchecked
until its next round starts a new run: a patch decides once per run.) A public key must
therefore stay trusted while any history holding signals it signed may replay (`not_after`
retires it for new messages only).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

with workflow.unsafe.imports_passed_through():
    from domain import texts
    from domain.assertions import AssertionVerifier
    from domain.vouching import SIGNAL_GRACE, Senders, vouch_refusal

PATCH = "signed-messages"


class Vouching(Interceptor):
    def __init__(self, verifier: AssertionVerifier) -> None:
        self._verifier = verifier

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        verifier = self._verifier

        class Bound(_VouchingInbound):
            _verifier = verifier

        return Bound


class _VouchingInbound(WorkflowInboundInterceptor):
    _verifier: AssertionVerifier

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        started_by = getattr(type(workflow.instance()), "STARTED_BY", None)
        if started_by is not None and workflow.patched(PATCH):
            message, allowed = started_by
            code = self._refusal(allowed, message, input.args, grace=False)
            if code is not None:
                workflow.logger.warning("start %s refused: %s", message, code)
                _count(message, code)
                _raise(message, code)
        return await super().execute_workflow(input)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        allowed = _senders().get(input.signal)
        if allowed is not None and workflow.patched(PATCH):
            code = self._refusal(allowed, input.signal, input.args, grace=True)
            if code is not None:
                workflow.logger.warning("signal %s dropped: %s", input.signal, code)
                _count(input.signal, code)
                return
        await super().handle_signal(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        allowed = _senders().get(input.update)
        if allowed is not None:
            code = self._refusal(allowed, input.update, input.args, grace=False)
            if code is not None:
                workflow.logger.warning("update %s rejected: %s", input.update, code)
                _count(input.update, code)
                _raise(input.update, code)
        super().handle_update_validator(input)

    def _refusal(self, allowed: Senders, message: str, args: Any, *, grace: bool) -> str | None:
        payload = args[0] if args else None
        round_of = getattr(workflow.instance(), "vouching_round", None)
        return vouch_refusal(
            self._verifier,
            allowed,
            getattr(payload, "assertion", None),
            workflow_id=workflow.info().workflow_id,
            message=message,
            payload=payload,
            now=workflow.now(),
            round=round_of() if round_of else None,
            grace=SIGNAL_GRACE if grace else timedelta(0),
        )


def _senders() -> Mapping[str, Senders]:
    return getattr(type(workflow.instance()), "SENDERS", {})


def _count(message: str, code: str) -> None:
    # The SDK's meter skips recording while a workflow replays, so nothing counts twice.
    workflow.metric_meter().create_counter(
        "jshr_forged_messages", "messages refused for want of the edge's valid assertion"
    ).add(1, {"message": message, "code": code})


def _raise(message: str, code: str) -> NoReturn:
    text = texts.ASSERTIONS[code]
    raise ApplicationError(
        f"{code}: {message} refused: {text.en} ({text.zh})",
        type="NotVouched",
        non_retryable=True,
    )
