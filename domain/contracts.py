"""The messages of the registration process: workflow input, handler payloads, activity I/O.

One pydantic model per message. They travel as plain JSON (pydantic data converter), so a Java or
Go integrator can produce them. Validators here are pure and deterministic because workflow code
deserializes these models too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    EmailStr,
    Field,
    RootModel,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain import rules


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


FINAL_STAGES = frozenset({Stage.COMPLETED, Stage.REJECTED_FINAL, Stage.WITHDRAWN, Stage.EXPIRED})
WAITING_STAGES = frozenset(
    {
        Stage.AWAITING_PHONE_CODE,
        Stage.AWAITING_SIGNATURE,
        Stage.AWAITING_REVIEW,
        Stage.AWAITING_CORRECTION,
    }
)


class Role(StrEnum):
    USER = "user"
    UNIT_ADMIN = "unit_admin"
    SYSTEM_ADMIN = "system_admin"


class Message(BaseModel):
    # Errors never echo the input: they end up in workflow histories and logs, and the input is
    # personal data.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


def _rule(check: Callable[[str], str]) -> AfterValidator:
    """Adapt a `domain.rules` normaliser so that its refusal keeps its code and Chinese text."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except rules.RuleViolation as exc:
            raise PydanticCustomError(
                exc.code, exc.message_en, {"message_zh": exc.message_zh}
            ) from None

    return AfterValidator(validate)


def _argon2id(value: str) -> str:
    # The client hashes the password before anything starts: a plaintext here is refused.
    if not value.startswith("$argon2id$") or value.count("$") != 5:
        raise PydanticCustomError(
            "password_hash.format",
            "password_hash must be an Argon2id hash made by the client",
            {"message_zh": "密码须在客户端加密后提交"},
        )
    return value


Name = Annotated[str, _rule(rules.normalize_name)]
IdNumber = Annotated[str, _rule(rules.check_id_number_format)]
Mobile = Annotated[str, _rule(rules.normalize_mobile)]
UnitCode = Annotated[str, _rule(rules.normalize_unit_code)]
Username = Annotated[str, _rule(rules.normalize_username)]
PasswordHash = Annotated[str, AfterValidator(_argon2id)]
# A photo in the document store, by content: photos never travel in payloads.
DocumentRef = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


class Consent(Message):
    """What the applicant accepted before registering (seed step 一; PIPL separate consent)."""

    notice_version: str = Field(min_length=1, max_length=32)
    consented_at: AwareDatetime


class RegistrationRequest(Message):
    """The workflow input: one applicant's application form."""

    name: Name
    id_number: IdNumber
    phone: Mobile
    email: EmailStr
    unit_code: UnitCode
    unit_name: str = Field(min_length=2, max_length=100)
    username: Username
    password_hash: PasswordHash
    requested_role: Literal[Role.USER, Role.UNIT_ADMIN] = Role.USER
    invitation_code: str | None = Field(default=None, min_length=6, max_length=64)
    id_card_front: DocumentRef
    id_card_back: DocumentRef
    consent: Consent

    @model_validator(mode="after")
    def _two_different_photos(self) -> RegistrationRequest:
        if self.id_card_front == self.id_card_back:
            raise PydanticCustomError(
                "photo.same_picture",
                "front and back photos are the same document",
                {"message_zh": "身份证正反面不能使用同一张照片,请分别上传人像面和国徽面"},
            )
        return self

    @model_validator(mode="after")
    def _unit_admins_need_an_invitation(self) -> RegistrationRequest:
        if self.requested_role == Role.UNIT_ADMIN and not self.invitation_code:
            raise PydanticCustomError(
                "invitation_code.missing",
                "a unit-admin application needs an invitation code",
                {"message_zh": "单位管理员须通过专属渠道注册,请填写邀请码"},
            )
        return self


class Refusal(Message):
    """Why a check failed: a stable code, the fields at fault, and messages for people."""

    code: str
    fields: list[str] = []
    message_zh: str
    message_en: str


# --- verification ------------------------------------------------------------------------------


class VerificationInput(Message):
    registration_id: str
    applicant_key: str
    request: RegistrationRequest
    at: AwareDatetime


class ProcessPolicy(Message):
    """The time limits that apply to this application, read from settings by verification."""

    phone_step_timeout_seconds: int
    correction_window_seconds: int
    max_review_rounds: int
    # Off only where the server cannot (the Java time-skipping test server).
    continue_as_new_between_rounds: bool = True


class VerificationResult(Message):
    refusals: list[Refusal] = []
    requires_signature: bool = False
    application_digest: str = ""
    policy: ProcessPolicy


# --- phone code --------------------------------------------------------------------------------


class SendPhoneCodeInput(Message):
    registration_id: str
    phone: str
    idempotency_key: str
    at: AwareDatetime


class SendPhoneCodeResult(Message):
    sent: bool
    retry_after_seconds: int = 0


class PhoneCodeAnswer(Message):
    """`submit_phone_code` Update argument: the code the applicant received by SMS."""

    code: str = Field(pattern=r"^\d{6}$")


class CheckPhoneCodeInput(Message):
    registration_id: str
    code: str
    at: AwareDatetime


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


# --- e-signature -------------------------------------------------------------------------------


class Signature(Message):
    """`sign` Update argument: a declaration over the digest of the application."""

    application_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    signature_ref: str = Field(min_length=1, max_length=200)


class SignResult(Message):
    accepted: bool
    message_zh: str


class RecordSignatureInput(Message):
    registration_id: str
    signature: Signature
    at: AwareDatetime


# --- review ------------------------------------------------------------------------------------


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


REJECTION_TEXT_ZH = {
    RejectionReason.INFORMATION_MISMATCH: "信息不符",
    RejectionReason.MATERIALS_INCOMPLETE: "材料不全",
    RejectionReason.PHOTO_UNCLEAR: "证件照片不清晰",
    RejectionReason.NOT_AN_EMPLOYEE: "非本单位人员",
    RejectionReason.OTHER: "其他原因",
}


class ReviewDecision(Message):
    """`review_decision` Signal and `decide` Update argument."""

    decision_id: str = Field(min_length=1, max_length=64)
    reviewer_id: str = Field(min_length=1, max_length=64)
    approve: bool
    reason: RejectionReason | None = None
    comment: str = Field(default="", max_length=500)
    fields: list[str] = Field(default=[], max_length=20)

    @model_validator(mode="after")
    def _rejection_needs_reason(self) -> ReviewDecision:
        if not self.approve and self.reason is None:
            raise PydanticCustomError(
                "decision.reason_missing",
                "a rejection needs a reason",
                {"message_zh": "驳回须注明原因"},
            )
        return self


class DecisionResult(Message):
    accepted: bool
    code: str
    message_zh: str


class AuthorizeDecisionInput(Message):
    registration_id: str
    applicant_key: str
    unit_code: str
    requested_role: Role
    stage: Stage
    decision: ReviewDecision
    at: AwareDatetime


class Authorization(Message):
    allowed: bool
    code: str
    message_zh: str


class ReviewPlanInput(Message):
    registration_id: str
    unit_code: str
    requested_role: Role
    entered_review_at: AwareDatetime


class ReminderBatchInput(Message):
    """Reminder steps `first` … `first + count - 1` of a review begun at `entered_review_at`."""

    entered_review_at: AwareDatetime
    first: int
    count: int


class Reminder(Message):
    """One step of the reminder policy, already placed in time."""

    at: AwareDatetime
    label: str
    remind_reviewers: bool = True
    tell_applicant: bool = False
    escalation_level: int = 0


class ReviewPlan(Message):
    reviewers: list[str]
    escalation_targets: list[str]
    reminders: list[Reminder]


class ReminderInput(Message):
    registration_id: str
    idempotency_key: str
    reminder: Reminder
    recipients: list[str]
    applicant_phone: str
    round: int


class NudgeResult(Message):
    sent: bool
    message_zh: str
    next_allowed_at: AwareDatetime | None = None


class Resubmission(Message):
    """`resubmit` Update argument: the corrected application."""

    request: RegistrationRequest


class ResubmitResult(Message):
    accepted: bool
    round: int
    message_zh: str


class Withdrawal(Message):
    """`withdraw` Signal argument."""

    reason: str = Field(default="", max_length=200)


# --- accounts, notifications, audit ------------------------------------------------------------


class AssignRoleInput(Message):
    registration_id: str
    applicant_key: str
    request: RegistrationRequest
    approved_by: str
    at: AwareDatetime


class Account(Message):
    username: str
    role: Role
    unit_code: str
    permissions: list[str]


class ApplicantNotice(Message):
    """A message to the applicant, by SMS and e-mail, sent once per idempotency key."""

    idempotency_key: str
    phone: str
    email: str
    subject: str
    body: str


class AuditInput(Message):
    registration_id: str
    kind: str
    actor: str
    outcome: str
    detail: str = ""
    at: AwareDatetime


# --- what the status query answers -------------------------------------------------------------


class AuditEntry(Message):
    at: datetime
    kind: str
    actor: str
    outcome: str


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


class ApplicationView(Message):
    """`application` Query: the full application for an authorized reviewer (no password)."""

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


class CarriedState(Message):
    """What a registration carries into its next run when it continues-as-new between rounds."""

    round: int
    verified_phone: str | None = None
    signed_digest: str | None = None
    codes_sent: int = 0
    nudges: int = 0
    last_nudge_at: datetime | None = None
    decisions: dict[str, DecisionResult] = {}
    changed_fields: list[str] = []
    history: list[AuditEntry] = []


class Continuation(Message):
    """The workflow input of every run after the first: the corrected application and the
    state so far. Integrators always start with a plain `RegistrationRequest`."""

    request: RegistrationRequest
    carried: CarriedState


def _input_kind(value: object) -> str:
    if isinstance(value, dict):
        return "continuation" if "carried" in value else "request"
    return "continuation" if isinstance(value, Continuation) else "request"


class RegistrationInput(
    RootModel[
        Annotated[
            Annotated[RegistrationRequest, Tag("request")]
            | Annotated[Continuation, Tag("continuation")],
            Discriminator(_input_kind),
        ]
    ]
):
    """The workflow's input: a `RegistrationRequest` (first run) or a `Continuation`."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


def changed_fields(before: RegistrationRequest, after: RegistrationRequest) -> list[str]:
    """The fields a correction changed: what the reviewer of the next round looks at first."""
    ignored = {"password_hash", "consent"}
    old, new = before.model_dump(exclude=ignored), after.model_dump(exclude=ignored)
    return sorted(name for name in new if new[name] != old[name])


class RegistrationOutcome(Message):
    stage: Stage
    account: Account | None = None
    refusals: list[Refusal] = []


# --- accounts, roles and permission changes (seed step 六) -------------------------------------


class Scope(StrEnum):
    """How far a permission reaches: the holder's own records, their unit, or the whole system."""

    OWN = "own"
    UNIT = "unit"
    ALL = "all"


class PermissionStage(StrEnum):
    CHECKING = "checking"
    AWAITING_APPROVAL = "awaiting_approval"
    APPLYING = "applying"
    GRANTED = "granted"
    REJECTED = "rejected"
    REFUSED = "refused"


class ChangeAction(StrEnum):
    GRANT = "grant"
    REVOKE = "revoke"


# A request ID is the client's (lower-case hex or digits): it ends the workflow ID, so no dashes.
RequestId = Annotated[str, Field(pattern=r"^[a-z0-9]{6,40}$")]
PermissionName = Annotated[str, Field(pattern=r"^[a-z_]{1,30}:[a-z_]{1,30}$")]


class PermissionChangeRequest(Message):
    """The `PermissionChangeWorkflow` input: an account holder asks for one role or one
    permission, with a reason. Workflow ID: `permission-<username>-<request_id>`."""

    request_id: RequestId
    username: Username
    role: Role | None = None
    permission: PermissionName | None = None
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_change(self) -> PermissionChangeRequest:
        if (self.role is None) == (self.permission is None):
            raise PydanticCustomError(
                "change.one_of",
                "ask for exactly one role or one permission",
                {"message_zh": "请申请一个角色或一项权限(二选一)"},
            )
        return self


class RevokeRequest(Message):
    """The `PermissionRevokeWorkflow` input: an admin takes a role or a permission back.
    Workflow ID: `permission-<username>-revoke-<revocation_id>`."""

    revocation_id: RequestId
    username: Username
    role: Role | None = None
    permission: PermissionName | None = None
    by: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_change(self) -> RevokeRequest:
        if (self.role is None) == (self.permission is None):
            raise PydanticCustomError(
                "change.one_of",
                "revoke exactly one role or one permission",
                {"message_zh": "请撤销一个角色或一项权限(二选一)"},
            )
        return self


class PermissionDecision(Message):
    """`decide` Update argument of a permission change (the shape of `ReviewDecision`)."""

    decision_id: str = Field(min_length=1, max_length=64)
    approver_id: str = Field(min_length=1, max_length=64)
    approve: bool
    comment: str = Field(default="", max_length=500)


class PermissionCheckInput(Message):
    workflow_id: str
    request: PermissionChangeRequest
    at: AwareDatetime


class ApprovalPlan(Message):
    """What checking a request found: why it is refused, or who decides and how many must agree."""

    refusals: list[Refusal] = []
    approvers: list[str] = []
    escalation_targets: list[str] = []
    approvals_needed: int = 1


class AuthorizePermissionDecisionInput(Message):
    workflow_id: str
    request: PermissionChangeRequest
    stage: PermissionStage
    approvals: list[str]
    decision: PermissionDecision
    at: AwareDatetime


class ApprovalReminderInput(Message):
    workflow_id: str
    idempotency_key: str
    reminder: Reminder
    recipients: list[str]
    holder: str


class ChangeInput(Message):
    """Grant or revoke once per idempotency key (the workflow ID)."""

    idempotency_key: str
    action: ChangeAction
    username: str
    role: Role | None = None
    permission: str | None = None
    by: list[str]
    reason: str = ""
    source: str
    at: AwareDatetime


class ChangeResult(Message):
    applied: bool
    refusal: Refusal | None = None
    account: Account | None = None


class HolderNotice(Message):
    """A message to an account holder (SMS and e-mail), sent once per idempotency key."""

    idempotency_key: str
    username: str
    subject: str
    body: str


class PermissionStatus(Message):
    """`status` Query of a permission change request (no personal data beyond the username)."""

    stage: PermissionStage
    username: str
    role: Role | None = None
    permission: str | None = None
    approvers: list[str] = []
    escalation_targets: list[str] = []
    approvals: list[str] = []
    approvals_needed: int = 1
    next_reminder_at: datetime | None = None
    escalation_level: int = 0
    refusals: list[Refusal] = []
    account: Account | None = None
    history: list[AuditEntry] = []


class PermissionOutcome(Message):
    stage: PermissionStage
    account: Account | None = None
    refusals: list[Refusal] = []


class PermissionView(Message):
    """One permission an account holds, how far it reaches, and whether its role or a single
    grant gives it."""

    permission: str
    scope: Scope
    text_zh: str
    source: Literal["role", "grant"]


class GrantRecord(Message):
    """One row of an account's grant history."""

    at: datetime
    action: ChangeAction
    role: Role | None = None
    permission: str | None = None
    scope: Scope | None = None
    approved_by: list[str] = []
    reason: str = ""
    source: str


class AccountView(Message):
    """The user center: role, permissions with their scope, and grant history (masked)."""

    username: str
    masked_name: str
    masked_id_number: str
    masked_phone: str
    unit_code: str | None
    role: Role
    role_zh: str
    active: bool
    permissions: list[PermissionView]
    grants: list[GrantRecord]
