"""The public registration contract: the `RegistrationWorkflow` input and every handler's
argument and answer. The JSON Schemas in `docs/schemas/` are made from these models; a change
here is a change of the integrators' contract.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    EmailStr,
    Field,
    model_validator,
)

from domain import texts
from domain.assertions import Assertion
from domain.contracts.base import (
    Account,
    AuditEntry,
    DocumentRef,
    FreeText,
    IdNumber,
    Message,
    Mobile,
    Name,
    PasswordHash,
    PlainText,
    Refusal,
    UnitCode,
    Username,
    contract_error,
)
from domain.roles import Role


class Stage(StrEnum):
    VERIFYING = "verifying"
    AWAITING_PHONE_CODE = "awaiting_phone_code"
    AWAITING_SIGNATURE = "awaiting_signature"
    AWAITING_REVIEW = "awaiting_review"
    AWAITING_CORRECTION = "awaiting_correction"
    ASSIGNING_ROLE = "assigning_role"
    COMPLETED = "completed"
    REJECTED_FINAL = "rejected_final"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    # A step failed after all its retries: an operator must look (the details say which step).
    FAILED = "failed"


FINAL_STAGES = frozenset(
    {Stage.COMPLETED, Stage.REJECTED_FINAL, Stage.WITHDRAWN, Stage.EXPIRED, Stage.FAILED}
)


WAITING_STAGES = frozenset(
    {
        Stage.AWAITING_PHONE_CODE,
        Stage.AWAITING_SIGNATURE,
        Stage.AWAITING_REVIEW,
        Stage.AWAITING_CORRECTION,
    }
)


class Consent(Message):
    """What the applicant accepted before registering (seed step 一; PIPL separate consent)."""

    notice_version: PlainText = Field(min_length=1, max_length=32)
    consented_at: AwareDatetime
    # PIPL art. 29: a separate consent to process sensitive personal information (the ID number,
    # the face on the ID photo), given with the same notice version. Optional: older callers
    # and recorded histories do not carry it.
    sensitive_consented_at: AwareDatetime | None = None


class RegistrationRequest(Message):
    """The workflow input: one applicant's application form."""

    name: Name
    id_number: IdNumber
    phone: Mobile
    email: EmailStr
    unit_code: UnitCode
    unit_name: PlainText = Field(min_length=2, max_length=100)
    username: Username
    password_hash: PasswordHash
    requested_role: Literal[Role.USER, Role.UNIT_ADMIN] = Role.USER
    invitation_code: PlainText | None = Field(default=None, min_length=6, max_length=64)
    id_card_front: DocumentRef
    id_card_back: DocumentRef
    consent: Consent

    @model_validator(mode="after")
    def _two_different_photos(self) -> RegistrationRequest:
        if self.id_card_front == self.id_card_back:
            raise contract_error("photo.same_picture")
        return self

    @model_validator(mode="after")
    def _unit_admins_need_an_invitation(self) -> RegistrationRequest:
        if self.requested_role == Role.UNIT_ADMIN and not self.invitation_code:
            raise contract_error("invitation_code.missing")
        return self


# The application's field list is `RegistrationRequest`'s; these name its parts for those who
# derive from it (the edge's form, the digest, what a correction changed, the reviewer's view).
# The photos, as references into the document store (the edge's form holds their bytes).
PHOTO_FIELDS = ("id_card_front", "id_card_back")
# Not what the applicant declares, so neither signed (the digest) nor "changed" by a correction.
UNDECLARED_FIELDS = frozenset({"password_hash", "consent"})
# Never shown to a reviewer: besides those, the invitation code, a secret.
NOT_FOR_REVIEWERS = UNDECLARED_FIELDS | {"invitation_code"}


class PhoneCodeAnswer(Message):
    """`submit_phone_code` Update argument: the code the applicant received by SMS."""

    code: str = Field(pattern=r"^\d{6}$")
    assertion: Assertion | None = None


class PhoneCodeOutcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"


class PhoneCodeResult(Message):
    outcome: PhoneCodeOutcome
    attempts_left: int = 0
    message_zh: str


class ResendResult(Message):
    sent: bool
    retry_after_seconds: int = 0
    message_zh: str


class Signature(Message):
    """`sign` Update argument: a declaration over the digest of the application."""

    application_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature_ref: PlainText = Field(min_length=1, max_length=200)
    assertion: Assertion | None = None


class SignResult(Message):
    accepted: bool
    message_zh: str


class RejectionReason(StrEnum):
    INFORMATION_MISMATCH = "information_mismatch"
    MATERIALS_INCOMPLETE = "materials_incomplete"
    PHOTO_UNCLEAR = "photo_unclear"
    NOT_AN_EMPLOYEE = "not_an_employee"
    OTHER = "other"

    @property
    def is_final(self) -> bool:
        """A person who does not work at the unit cannot correct that: no further round."""
        return self is RejectionReason.NOT_AN_EMPLOYEE


REJECTION_TEXT_ZH = {reason: texts.REJECTION_REASONS_ZH[reason.value] for reason in RejectionReason}


class ReviewDecision(Message):
    """`review_decision` Signal and `decide` Update argument."""

    decision_id: PlainText = Field(min_length=1, max_length=64)
    reviewer_id: PlainText = Field(min_length=1, max_length=64)
    approve: bool
    reason: RejectionReason | None = None
    comment: FreeText = Field(default="", max_length=500)
    fields: list[Annotated[PlainText, Field(min_length=1, max_length=40)]] = Field(
        default=[], max_length=20
    )
    assertion: Assertion | None = None

    @model_validator(mode="after")
    def _rejection_needs_reason(self) -> ReviewDecision:
        if not self.approve and self.reason is None:
            raise contract_error("decision.reason_missing")
        return self


class Rejection(Message):
    """A reviewer's rejection in an earlier round: what the reviewer of the next round reads."""

    round: int
    at: datetime
    reviewer: str
    reason: RejectionReason
    fields: list[str] = []
    comment: str = ""


class DecisionResult(Message):
    accepted: bool
    code: str
    message_zh: str


class NudgeResult(Message):
    sent: bool
    message_zh: str
    next_allowed_at: AwareDatetime | None = None


class Resubmission(Message):
    """`resubmit` Update argument: the corrected application."""

    request: RegistrationRequest
    assertion: Assertion | None = None


class ResubmitResult(Message):
    accepted: bool
    round: int
    message_zh: str


class Withdrawal(Message):
    """`withdraw` Signal argument."""

    reason: FreeText = Field(default="", max_length=200)
    assertion: Assertion | None = None


class RegistrationStatus(Message):
    stage: Stage
    round: int
    masked_name: str
    unit_code: str
    requested_role: Role
    refusals: list[Refusal] = []
    reviewers: list[str] = []
    next_reminder_at: datetime | None = None
    escalation_level: int = 0
    application_digest: str = ""
    changed_fields: list[str] = []
    account: Account | None = None
    history: list[AuditEntry] = []
    rejections: list[Rejection] = []


class ApplicationView(Message):
    """`application` Query: the full application for an authorized reviewer (no password)."""

    # Published as its own schema, so declared here with plain types; it is every field of
    # `RegistrationRequest` but `NOT_FOR_REVIEWERS` (tests/domain/test_field_list.py holds it
    # to that) and is built from the request by `of`.

    round: int
    name: str
    id_number: str
    phone: str
    email: str
    unit_code: str
    unit_name: str
    username: str
    requested_role: Role
    id_card_front: str
    id_card_back: str
    changed_fields: list[str]

    @classmethod
    def of(
        cls, request: RegistrationRequest, *, round: int, changed_fields: list[str]
    ) -> ApplicationView:
        shown = request.model_dump(exclude=set(NOT_FOR_REVIEWERS))
        return cls(round=round, **shown, changed_fields=changed_fields)


class RegistrationOutcome(Message):
    stage: Stage
    account: Account | None = None
    refusals: list[Refusal] = []
