"""Bodies of the edge's own API (the registration contract's models are used as they are)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from domain.contracts.base import FreeText, PlainText
from domain.contracts.registration import ApplicationView, RejectionReason, Stage
from domain.roles import Role
from edge.inbox import InboxItem


class Body(BaseModel):
    # Some hold passwords, ID numbers, phones: a refusal never echoes them.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class LoginRequest(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class LoginAnswer(Body):
    username: str
    csrf_token: str
    expires_at: datetime
    # "sms": the login still owes the code sent to `masked_phone`; answer it with `challenge`.
    second_factor: Literal["sms"] | None = None
    challenge: str | None = None
    masked_phone: str | None = None


class CodeAnswer(Body):
    challenge: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=12)


class StaffSessionView(Body):
    username: str
    role: Role
    role_zh: str
    unit_code: str | None
    csrf_token: str
    expires_at: datetime


class PasswordChange(Body):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class ApplicantSessionView(Body):
    workflow_id: str
    csrf_token: str
    expires_at: datetime


class ApplicantReentry(Body):
    id_number: str = Field(min_length=1, max_length=32)
    phone: str = Field(min_length=1, max_length=20)


class ReentryAnswer(Body):
    challenge: str
    message_zh: str


class CsrfView(Body):
    csrf_token: str


class Done(Body):
    message_zh: str


class RegistrationStarted(Body):
    workflow_id: str
    # An applicant's browser: the session cookie is set; this token goes with its requests.
    csrf_token: str | None = None
    session_expires_at: datetime | None = None


class PhoneCode(Body):
    code: str = Field(pattern=r"^\d{6}$")


class WithdrawalBody(Body):
    reason: FreeText = Field(default="", max_length=200)


class InboxPageView(Body):
    """One page of the inbox, the earliest deadline first."""

    items: list[InboxItem]
    total: int
    page: int
    pages: int


class ReviewedApplication(ApplicationView):
    """The application for its reviewer (no password); photos at `…/photos/front|back`."""

    workflow_id: str
    stage: Stage


class DecisionBody(Body):
    """A reviewer's decision; the reviewer is the logged-in account, never a field here."""

    approve: bool
    reason: RejectionReason | None = None
    comment: FreeText = Field(default="", max_length=500)
    fields: list[PlainText] = Field(default=[], max_length=20)
    # The same ID twice is the same decision (a retried request counts once).
    decision_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")

    @model_validator(mode="after")
    def _rejection_needs_reason(self) -> DecisionBody:
        if not self.approve and self.reason is None:
            raise PydanticCustomError(
                "decision.reason_missing",
                "a rejection needs a reason",
                {"message_zh": "驳回须注明原因"},
            )
        return self


class PermissionRequestBody(Body):
    """What the logged-in account asks for: one role or one permission, with a reason."""

    role: str | None = Field(default=None, max_length=30)
    permission: str | None = Field(default=None, max_length=64)
    reason: FreeText = Field(min_length=1, max_length=500)
    request_id: str | None = Field(default=None, pattern=r"^[a-z0-9]{6,40}$")


class RequestStarted(Body):
    workflow_id: str


class PermissionDecisionBody(Body):
    approve: bool
    comment: FreeText = Field(default="", max_length=500)


class RevocationBody(Body):
    username: str = Field(min_length=1, max_length=32)
    role: str | None = Field(default=None, max_length=30)
    permission: str | None = Field(default=None, max_length=64)
    reason: FreeText = Field(min_length=1, max_length=500)
    revocation_id: str | None = Field(default=None, pattern=r"^[a-z0-9]{6,40}$")


class Revoked(Body):
    username: str
    role: Role
