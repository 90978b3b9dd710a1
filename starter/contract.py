"""The integrator's contract as data: every payload's JSON Schema, from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from domain.contracts.base import Message, Vouched
from domain.contracts.registration import (
    ApplicationView,
    DecisionResult,
    NudgeResult,
    PhoneCodeAnswer,
    PhoneCodeResult,
    RegistrationOutcome,
    RegistrationRequest,
    RegistrationStatus,
    ResendResult,
    Resubmission,
    ResubmitResult,
    ReviewDecision,
    Signature,
    SignResult,
    Withdrawal,
)

# File name → model: the workflow input, then each handler's argument and answer.
SCHEMAS: dict[str, type[BaseModel]] = {
    "workflow-input.RegistrationRequest": RegistrationRequest,
    "workflow-result.RegistrationOutcome": RegistrationOutcome,
    "update.submit_phone_code.input": PhoneCodeAnswer,
    "update.submit_phone_code.result": PhoneCodeResult,
    "update.resend_phone_code.input": Vouched,
    "update.resend_phone_code.result": ResendResult,
    "update.sign.input": Signature,
    "update.sign.result": SignResult,
    "signal.review_decision.input": ReviewDecision,
    "update.decide.input": ReviewDecision,
    "update.decide.result": DecisionResult,
    "update.nudge.input": Vouched,
    "update.nudge.result": NudgeResult,
    "update.resubmit.input": Resubmission,
    "update.resubmit.result": ResubmitResult,
    "signal.withdraw.input": Withdrawal,
    "query.status.result": RegistrationStatus,
    "query.application.result": ApplicationView,
}


def message_model(name: str) -> type[Message] | None:
    """The argument model of the Update or Signal `name`."""
    model = SCHEMAS.get(f"update.{name}.input") or SCHEMAS.get(f"signal.{name}.input")
    return model if model is not None and issubclass(model, Message) else None


def schemas() -> dict[str, str]:
    return {
        f"{name}.json": json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
        for name, model in SCHEMAS.items()
    }


def write_schemas(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schemas().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
