"""Who may do what, and where: the one answer (`may`), and the rules of permission changes.

Pure and deterministic: activities load the accounts and ask these functions; tests drive them
with tables. The roles themselves are data, in `domain.roles`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from domain import texts
from domain.contracts.base import Refusal
from domain.contracts.permissions import ChangeAction
from domain.contracts.views import PermissionView
from domain.roles import (
    PERMISSION_TEXT_ZH,
    ROLE_GRANTS,
    ROLE_PERMISSIONS,
    ROLE_RANK,
    ROLE_TEXT_ZH,
    SCOPE_TEXT_ZH,
    SINGLE_GRANTS,
    Role,
    Scope,
)


class Grantee(Protocol):
    """An account as far as permissions go (`store.models.Account` is one)."""

    @property
    def username(self) -> str: ...
    @property
    def unit_code(self) -> str | None: ...
    @property
    def role(self) -> str: ...
    @property
    def permissions(self) -> Sequence[str]: ...
    @property
    def active(self) -> bool: ...


_WIDTH = {Scope.OWN: 0, Scope.UNIT: 1, Scope.ALL: 2}


def _role(account: Grantee) -> Role | None:
    try:
        return Role(account.role)
    except ValueError:
        return None


def scope_of(account: Grantee, permission: str) -> Scope | None:
    """How far `permission` reaches for `account`: through its role or a single grant, the wider
    of the two; None when it does not hold it."""
    role = _role(account)
    scopes = []
    if role is not None and permission in ROLE_GRANTS[role]:
        scopes.append(ROLE_GRANTS[role][permission])
    if permission in account.permissions and permission in SINGLE_GRANTS:
        scopes.append(SINGLE_GRANTS[permission])
    return max(scopes, key=_WIDTH.__getitem__, default=None)


def may(
    account: Grantee,
    permission: str,
    *,
    target_unit: str | None = None,
    target_owner: str | None = None,
) -> bool:
    """May `account` use `permission` on a record of `target_owner` in `target_unit`?

    An inactive account may do nothing. Scope `all` reaches everything, targets or none; `unit`
    reaches records in the account's own unit; `own` the account's own records. One's own
    records lie inside every scope. Without a target only scope `all` answers yes.
    """
    if not account.active:
        return False
    scope = scope_of(account, permission)
    if scope is None:
        return False
    if scope is Scope.ALL:
        return True
    if target_owner is not None and target_owner == account.username:
        return True
    return (
        scope is Scope.UNIT
        and target_unit is not None
        and bool(account.unit_code)
        and target_unit == account.unit_code
    )


def permission_views(account: Grantee) -> list[PermissionView]:
    """Every permission the account holds, with its scope and where it comes from."""
    role = _role(account)
    names = list(ROLE_PERMISSIONS.get(role, ())) if role else []
    names += [p for p in account.permissions if p not in names]
    views = []
    for name in names:
        scope = scope_of(account, name)
        if scope is None:
            continue  # a stored name this version no longer knows
        from_role = role is not None and ROLE_GRANTS[role].get(name) == scope
        views.append(
            PermissionView(
                permission=name,
                scope=scope,
                text_zh=PERMISSION_TEXT_ZH.get(name, name)
                + texts.SCOPED.format(scope=SCOPE_TEXT_ZH[scope]),
                source="role" if from_role else "grant",
            )
        )
    return views


# --- permission changes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One role or one single permission, asked for or taken back."""

    role: Role | None = None
    permission: str | None = None

    @property
    def scope(self) -> Scope | None:
        return SINGLE_GRANTS.get(self.permission) if self.permission else None

    @property
    def authority(self) -> str:
        """What the approver (or revoker) must be allowed to do: roles are the whole system's
        business; a single permission is the business of whoever manages the holder's unit."""
        return "system:manage" if self.role is not None else "unit_data:manage"

    @property
    def approver_role(self) -> Role:
        """Whom the request goes to first (system admins are the escalation target anyway)."""
        return Role.SYSTEM_ADMIN if self.role is not None else Role.UNIT_ADMIN

    @property
    def approvals_needed(self) -> int:
        """Four eyes: the system-admin role needs two different system admins."""
        return 2 if self.role is Role.SYSTEM_ADMIN else 1

    @property
    def needs_unit(self) -> bool:
        return self.role is Role.UNIT_ADMIN or self.permission is not None

    @property
    def text_zh(self) -> str:
        if self.role is not None:
            return texts.CHANGE_ROLE.format(role=ROLE_TEXT_ZH[self.role])
        name = PERMISSION_TEXT_ZH.get(self.permission or "", self.permission)
        where = texts.SCOPED.format(scope=SCOPE_TEXT_ZH[self.scope]) if self.scope else ""
        return texts.CHANGE_PERMISSION.format(permission=name, scope=where)


# The field at fault for each refusal code; the texts are `domain.texts.PERMISSIONS`.
_FIELDS = {
    "change.one_of": "role",
    "role.unknown": "role",
    "role.base": "role",
    "permission.unknown": "permission",
    "permission.not_grantable": "permission",
    "account.unknown": "username",
    "account.inactive": "username",
    "change.already_held": "role",
    "change.needs_unit": "username",
    "approval.too_few_approvers": "role",
    "approver.inactive": "approver_id",
    "approver.is_holder": "approver_id",
    "approver.not_authorized": "approver_id",
    "approver.already_approved": "approver_id",
    "decision.not_awaiting_approval": "decision",
    "decision.superseded": "decision",
    "decision.in_progress": "decision",
    "revoker.inactive": "by",
    "revoke.not_authorized": "by",
    "revoke.not_held": "role",
    "revoke.last_system_admin": "role",
    "revoke.id_reused": "revocation_id",
}


def refusal(code: str) -> Refusal:
    zh, en = texts.PERMISSIONS[code]
    return Refusal(code=code, fields=[_FIELDS[code]], message_zh=zh, message_en=en)


def check_change(role: str | None, permission: str | None) -> list[Refusal]:
    """What is wrong with the change itself, before any account is looked at (the edge)."""
    if (role is None) == (permission is None):
        return [refusal("change.one_of")]
    if role is not None:
        if role not in {r.value for r in Role}:
            return [refusal("role.unknown")]
        if role == Role.USER:
            return [refusal("role.base")]
        return []
    if permission not in PERMISSION_TEXT_ZH:
        return [refusal("permission.unknown")]
    if permission not in SINGLE_GRANTS:
        return [refusal("permission.not_grantable")]
    return []


def holds(account: Grantee, change: Change) -> bool:
    """Does the account already have what the change grants (a higher role counts)?"""
    if change.role is not None:
        role = _role(account)
        return role is not None and ROLE_RANK[role] >= ROLE_RANK[change.role]
    assert change.permission is not None
    return scope_of(account, change.permission) is not None


def request_refusals(holder: Grantee | None, change: Change) -> list[Refusal]:
    """Why this account may not ask for this change (empty: it may)."""
    if holder is None:
        return [refusal("account.unknown")]
    if not holder.active:
        return [refusal("account.inactive")]
    if holds(holder, change):
        return [refusal("change.already_held")]
    if change.needs_unit and not holder.unit_code:
        return [refusal("change.needs_unit")]
    return []


def decision_refusal(
    approver: Grantee | None,
    *,
    holder: str,
    holder_unit: str | None,
    change: Change,
    approvals: Collection[str],
) -> Refusal | None:
    """Why this approver's decision does not count (None: it counts)."""
    if approver is None or not approver.active:
        return refusal("approver.inactive")
    if approver.username == holder:
        return refusal("approver.is_holder")
    if not may(approver, change.authority, target_unit=holder_unit):
        return refusal("approver.not_authorized")
    if approver.username in approvals:
        return refusal("approver.already_approved")
    return None


def revoke_refusal(
    by: Grantee | None, holder: Grantee | None, change: Change, *, system_admins: int
) -> Refusal | None:
    """Why `by` may not take this from `holder` (None: it may). `system_admins`: how many
    active system admins there are now."""
    if by is None or not by.active:
        return refusal("revoker.inactive")
    if holder is None:
        return refusal("account.unknown")
    if not may(by, change.authority, target_unit=holder.unit_code):
        return refusal("revoke.not_authorized")
    if change.role is not None and holder.role != change.role:
        return refusal("revoke.not_held")
    if change.permission is not None and change.permission not in single_grants(holder):
        return refusal("revoke.not_held")
    if change.role is Role.SYSTEM_ADMIN and holder.active and system_admins <= 1:
        return refusal("revoke.last_system_admin")
    return None


def single_grants(account: Grantee) -> list[str]:
    """The permissions held by a single grant, beyond the role's. A role absorbs the single
    grants it covers: they go with it."""
    role = _role(account)
    covered = ROLE_GRANTS[role] if role else {}
    return [p for p in dict.fromkeys(account.permissions) if p not in covered]


def after(account: Grantee, change: Change, action: ChangeAction) -> tuple[Role, list[str]]:
    """The account's role and stored permissions once the change is applied. A revoked role
    falls back to the ordinary user's (least privilege: ask again for a lower one)."""
    role = _role(account) or Role.USER
    extras = single_grants(account)
    if change.role is not None:
        role = change.role if action is ChangeAction.GRANT else Role.USER
    elif action is ChangeAction.GRANT:
        extras.append(change.permission or "")
    else:
        extras = [p for p in extras if p != change.permission]
    names = list(ROLE_PERMISSIONS[role])
    return role, names + [p for p in dict.fromkeys(extras) if p not in names]
