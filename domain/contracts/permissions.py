"""The public permission contract: the inputs, handler arguments and answers of
`PermissionChangeWorkflow` and `PermissionRevokeWorkflow` (JSON Schemas in `docs/schemas/`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import (
    Field,
    model_validator,
)

from domain.assertions import Assertion
from domain.contracts.base import (
    Account,
    AuditEntry,
    FreeText,
    Message,
    PermissionName,
    PlainText,
    Refusal,
    RequestId,
    Username,
    contract_error,
)
from domain.roles import Role


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


class PermissionChangeRequest(Message):
    """The `PermissionChangeWorkflow` input: an account holder asks for one role or one
    permission, with a reason. Workflow ID: `permission-<username>-<request_id>`."""

    request_id: RequestId
    username: Username
    role: Role | None = None
    permission: PermissionName | None = None
    reason: FreeText = Field(min_length=1, max_length=500)
    # The edge's word that the holder (`username`) asks, message "request".
    assertion: Assertion | None = None

    @model_validator(mode="after")
    def _one_change(self) -> PermissionChangeRequest:
        if (self.role is None) == (self.permission is None):
            raise contract_error("change.one_of")
        return self


class RevokeRequest(Message):
    """The `PermissionRevokeWorkflow` input: an admin takes a role or a permission back.
    Workflow ID: `permission-<username>-revoke-<revocation_id>`."""

    revocation_id: RequestId
    username: Username
    role: Role | None = None
    permission: PermissionName | None = None
    # Who revokes, as the assertion says; the workflow refuses a `by` the assertion does not.
    by: PlainText = Field(min_length=1, max_length=64)
    reason: FreeText = Field(min_length=1, max_length=500)
    # The edge's word that `by` revokes, message "revoke".
    assertion: Assertion | None = None

    @model_validator(mode="after")
    def _one_change(self) -> RevokeRequest:
        if (self.role is None) == (self.permission is None):
            raise contract_error("change.one_of.revoke")
        return self


class PermissionDecision(Message):
    """`decide` Update argument of a permission change (the shape of `ReviewDecision`)."""

    decision_id: PlainText = Field(min_length=1, max_length=64)
    approver_id: PlainText = Field(min_length=1, max_length=64)
    approve: bool
    comment: FreeText = Field(default="", max_length=500)
    assertion: Assertion | None = None


class PermissionStatus(Message):
    """`status` Query of a permission change request (no personal data beyond the username)."""

    stage: PermissionStage
    username: str
    role: Role | None = None
    permission: str | None = None
    reason: str = ""
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
