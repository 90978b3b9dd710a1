"""Messages between our workflows and activities, and the state a workflow carries across
runs. Not part of any public contract: integrators never send or receive these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
)

from domain.assertions import Assertion
from domain.contracts.base import Account, AuditEntry, Message, Refusal
from domain.contracts.permissions import (
    ChangeAction,
    PermissionChangeRequest,
    PermissionDecision,
    PermissionStage,
)
from domain.contracts.registration import (
    UNDECLARED_FIELDS,
    DecisionResult,
    RegistrationRequest,
    Rejection,
    ReviewDecision,
    Signature,
    Stage,
)
from domain.roles import Role


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


class SendPhoneCodeInput(Message):
    registration_id: str
    phone: str
    idempotency_key: str
    at: AwareDatetime


class SendPhoneCodeResult(Message):
    sent: bool
    retry_after_seconds: int = 0


class CheckPhoneCodeInput(Message):
    registration_id: str
    code: str
    at: AwareDatetime
    # The Update's ID under the registration: a retried check answers what the first one did.
    # Empty in histories from before it existed.
    idempotency_key: str = ""


class ReleaseInvitationInput(Message):
    registration_id: str


class RecordSignatureInput(Message):
    registration_id: str
    signature: Signature
    at: AwareDatetime


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


class AssignRoleInput(Message):
    registration_id: str
    applicant_key: str
    request: RegistrationRequest
    approved_by: str
    at: AwareDatetime


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
    rejections: list[Rejection] = []


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
    undeclared = set(UNDECLARED_FIELDS)
    old, new = before.model_dump(exclude=undeclared), after.model_dump(exclude=undeclared)
    return sorted(name for name in new if new[name] != old[name])


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


class RecordEndInput(Message):
    registration_id: str
    stage: str
    at: AwareDatetime


class PurgeInput(Message):
    at: AwareDatetime


class PurgeReport(Message):
    """What one purge deleted (each registration's share is in the audit table)."""

    registrations: int = 0
    documents: int = 0
    messages: int = 0
    applicant_records: int = 0


class ErasureRequest(Message):
    """The `ErasureWorkflow` input: the applicant asks that their registration's data be
    deleted now (PIPL art. 47). Workflow ID: `erasure-<registration workflow ID>`."""

    registration: str = Field(pattern=r"^registration-[0-9a-f]{32}$")
    assertion: Assertion | None = None


class ErasureInput(Message):
    registration: str
    at: AwareDatetime


class ErasureResult(Message):
    erased: bool
    code: str = ""
    message_zh: str = ""
    records: int = 0
