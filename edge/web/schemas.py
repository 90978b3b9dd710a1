"""Bodies of the edge's own API (the registration contract's models are used as they are)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.roles import Role


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
