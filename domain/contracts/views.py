"""Read models of the user center: what an account holder sees of their role and permissions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from domain.contracts.base import Message
from domain.contracts.permissions import ChangeAction
from domain.roles import Role, Scope


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
