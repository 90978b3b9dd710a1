"""Roles as data and the one permission check, table-driven; the rules of permission changes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pytest

from config import Settings
from domain.contracts.permissions import ChangeAction
from domain.permissions import (
    Change,
    after,
    check_change,
    decision_refusal,
    may,
    permission_views,
    request_refusals,
    revoke_refusal,
    scope_of,
)
from domain.roles import ROLE_GRANTS, ROLE_PERMISSIONS, Role, Scope
from store.crypto import DataCipher, DataKeyError

A, B = "123200004660000017", "12320100466000002X"


@dataclass(frozen=True)
class Holder:
    username: str
    role: str
    unit_code: str | None = A
    extra: tuple[str, ...] = ()
    active: bool = True
    permissions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        stored = list(ROLE_PERMISSIONS.get(Role(self.role), ())) + list(self.extra)
        object.__setattr__(self, "permissions", stored)


USER = Holder("staff", Role.USER)
UNIT_ADMIN = Holder("admin_a", Role.UNIT_ADMIN)
SYSTEM_ADMIN = Holder("sys", Role.SYSTEM_ADMIN, unit_code=None)
DATA_KEEPER = Holder("keeper", Role.USER, extra=("unit_data:manage",))
GONE = Holder("gone", Role.SYSTEM_ADMIN, active=False)
NO_UNIT_ADMIN = Holder("drifter", Role.UNIT_ADMIN, unit_code=None)


@pytest.mark.parametrize(
    ("account", "permission", "target_unit", "target_owner", "allowed"),
    [
        # ordinary user: their own records, nothing else
        (USER, "own_records:submit", A, "staff", True),
        (USER, "own_records:read", None, "staff", True),
        (USER, "own_records:read", A, "colleague", False),
        (USER, "own_records:read", None, None, False),
        (USER, "unit_staff:review", A, None, False),
        (USER, "unit_data:manage", A, None, False),
        (USER, "system:manage", None, None, False),
        # unit admin: their unit's staff and data, their own records only
        (UNIT_ADMIN, "unit_staff:review", A, "colleague", True),
        (UNIT_ADMIN, "unit_data:manage", A, None, True),
        (UNIT_ADMIN, "unit_staff:review", B, "stranger", False),
        (UNIT_ADMIN, "unit_data:manage", B, None, False),
        (UNIT_ADMIN, "unit_data:manage", None, None, False),
        (UNIT_ADMIN, "own_records:read", A, "colleague", False),
        (UNIT_ADMIN, "own_records:read", A, "admin_a", True),
        (UNIT_ADMIN, "system:manage", None, None, False),
        (NO_UNIT_ADMIN, "unit_data:manage", A, None, False),
        # system admin: the whole system, but submits only their own information
        (SYSTEM_ADMIN, "system:manage", None, None, True),
        (SYSTEM_ADMIN, "unit_staff:review", B, "stranger", True),
        (SYSTEM_ADMIN, "unit_data:manage", None, None, True),
        (SYSTEM_ADMIN, "own_records:read", B, "stranger", True),
        (SYSTEM_ADMIN, "own_records:submit", B, "stranger", False),
        (SYSTEM_ADMIN, "own_records:submit", None, "sys", True),
        # a single permission granted inside the unit reaches the unit only
        (DATA_KEEPER, "unit_data:manage", A, None, True),
        (DATA_KEEPER, "unit_data:manage", B, None, False),
        (DATA_KEEPER, "unit_staff:review", A, None, False),
        # an inactive account may do nothing; unknown permissions are nobody's
        (GONE, "system:manage", None, None, False),
        (GONE, "own_records:read", None, "gone", False),
        (SYSTEM_ADMIN, "payroll:approve", None, None, False),
    ],
)
def test_may(account, permission, target_unit, target_owner, allowed) -> None:
    assert may(account, permission, target_unit=target_unit, target_owner=target_owner) is allowed


def test_roles_are_nested_sets_of_scoped_permissions() -> None:
    assert ROLE_PERMISSIONS == {
        Role.USER: ("own_records:submit", "own_records:read"),
        Role.UNIT_ADMIN: (
            "own_records:submit",
            "own_records:read",
            "unit_staff:review",
            "unit_data:manage",
        ),
        Role.SYSTEM_ADMIN: (
            "own_records:submit",
            "own_records:read",
            "unit_staff:review",
            "unit_data:manage",
            "system:manage",
            "payloads:decode",
        ),
    }
    width = {Scope.OWN: 0, Scope.UNIT: 1, Scope.ALL: 2}
    ladder = [Role.USER, Role.UNIT_ADMIN, Role.SYSTEM_ADMIN]
    for lower, higher in zip(ladder, ladder[1:], strict=False):
        for permission, scope in ROLE_GRANTS[lower].items():
            assert width[ROLE_GRANTS[higher][permission]] >= width[scope]


def test_scope_is_the_wider_of_role_and_single_grant() -> None:
    assert scope_of(DATA_KEEPER, "unit_data:manage") is Scope.UNIT
    assert (
        scope_of(Holder("both", Role.SYSTEM_ADMIN, extra=("unit_data:manage",)), "unit_data:manage")
        is Scope.ALL
    )
    assert scope_of(USER, "unit_data:manage") is None
    views = {v.permission: (v.scope, v.source) for v in permission_views(DATA_KEEPER)}
    assert views == {
        "own_records:submit": (Scope.OWN, "role"),
        "own_records:read": (Scope.OWN, "role"),
        "unit_data:manage": (Scope.UNIT, "grant"),
    }


@pytest.mark.parametrize(
    ("role", "permission", "code"),
    [
        ("superuser", None, "role.unknown"),
        ("user", None, "role.base"),
        (None, None, "change.one_of"),
        ("unit_admin", "unit_data:manage", "change.one_of"),
        (None, "payroll:approve", "permission.unknown"),
        (None, "system:manage", "permission.not_grantable"),
        (None, "own_records:read", "permission.not_grantable"),
        ("unit_admin", None, None),
        ("system_admin", None, None),
        (None, "unit_staff:review", None),
    ],
)
def test_check_change(role, permission, code) -> None:
    refusals = check_change(role, permission)
    assert [r.code for r in refusals] == ([code] if code else [])
    assert all(r.message_zh and r.message_en for r in refusals)


@pytest.mark.parametrize(
    ("holder", "change", "code"),
    [
        (None, Change(role=Role.UNIT_ADMIN), "account.unknown"),
        (Holder("off", Role.USER, active=False), Change(role=Role.UNIT_ADMIN), "account.inactive"),
        (UNIT_ADMIN, Change(role=Role.UNIT_ADMIN), "change.already_held"),
        (SYSTEM_ADMIN, Change(role=Role.UNIT_ADMIN), "change.already_held"),
        (UNIT_ADMIN, Change(permission="unit_data:manage"), "change.already_held"),
        (DATA_KEEPER, Change(permission="unit_data:manage"), "change.already_held"),
        (Holder("x", Role.USER, unit_code=None), Change(role=Role.UNIT_ADMIN), "change.needs_unit"),
        (USER, Change(role=Role.UNIT_ADMIN), None),
        (USER, Change(role=Role.SYSTEM_ADMIN), None),
        (UNIT_ADMIN, Change(role=Role.SYSTEM_ADMIN), None),
        (DATA_KEEPER, Change(permission="unit_staff:review"), None),
    ],
)
def test_request_refusals(holder, change, code) -> None:
    assert [r.code for r in request_refusals(holder, change)] == ([code] if code else [])


@pytest.mark.parametrize(
    ("approver", "change", "approvals", "code"),
    [
        (SYSTEM_ADMIN, Change(role=Role.UNIT_ADMIN), [], None),
        (UNIT_ADMIN, Change(role=Role.UNIT_ADMIN), [], "approver.not_authorized"),
        (UNIT_ADMIN, Change(permission="unit_data:manage"), [], None),
        (
            Holder("admin_b", Role.UNIT_ADMIN, unit_code=B),
            Change(permission="unit_data:manage"),
            [],
            "approver.not_authorized",
        ),
        (SYSTEM_ADMIN, Change(permission="unit_data:manage"), [], None),
        (SYSTEM_ADMIN, Change(role=Role.SYSTEM_ADMIN), ["sys"], "approver.already_approved"),
        (SYSTEM_ADMIN, Change(role=Role.SYSTEM_ADMIN), ["other"], None),
        (GONE, Change(role=Role.UNIT_ADMIN), [], "approver.inactive"),
        (None, Change(role=Role.UNIT_ADMIN), [], "approver.inactive"),
        (
            Holder("staff", Role.SYSTEM_ADMIN),
            Change(role=Role.UNIT_ADMIN),
            [],
            "approver.is_holder",
        ),
    ],
)
def test_decision_refusal(approver, change, approvals, code) -> None:
    refused = decision_refusal(
        approver, holder="staff", holder_unit=A, change=change, approvals=approvals
    )
    assert (refused.code if refused else None) == code


def test_four_eyes_needs_two_approvals_for_the_system_admin_role_only() -> None:
    assert Change(role=Role.SYSTEM_ADMIN).approvals_needed == 2
    assert Change(role=Role.UNIT_ADMIN).approvals_needed == 1
    assert Change(permission="unit_staff:review").approvals_needed == 1


@pytest.mark.parametrize(
    ("by", "holder", "change", "system_admins", "code"),
    [
        (SYSTEM_ADMIN, UNIT_ADMIN, Change(role=Role.UNIT_ADMIN), 1, None),
        (UNIT_ADMIN, UNIT_ADMIN, Change(role=Role.UNIT_ADMIN), 1, "revoke.not_authorized"),
        (SYSTEM_ADMIN, USER, Change(role=Role.UNIT_ADMIN), 1, "revoke.not_held"),
        (SYSTEM_ADMIN, SYSTEM_ADMIN, Change(role=Role.SYSTEM_ADMIN), 1, "revoke.last_system_admin"),
        (SYSTEM_ADMIN, SYSTEM_ADMIN, Change(role=Role.SYSTEM_ADMIN), 2, None),
        (UNIT_ADMIN, DATA_KEEPER, Change(permission="unit_data:manage"), 1, None),
        (UNIT_ADMIN, UNIT_ADMIN, Change(permission="unit_data:manage"), 1, "revoke.not_held"),
        (
            Holder("admin_b", Role.UNIT_ADMIN, unit_code=B),
            DATA_KEEPER,
            Change(permission="unit_data:manage"),
            1,
            "revoke.not_authorized",
        ),
        (GONE, UNIT_ADMIN, Change(role=Role.UNIT_ADMIN), 1, "revoker.inactive"),
        (SYSTEM_ADMIN, None, Change(role=Role.UNIT_ADMIN), 1, "account.unknown"),
    ],
)
def test_revoke_refusal(by, holder, change, system_admins, code) -> None:
    refused = revoke_refusal(by, holder, change, system_admins=system_admins)
    assert (refused.code if refused else None) == code


GRANT, REVOKE = ChangeAction.GRANT, ChangeAction.REVOKE
KEEPER_ADMIN = Holder("k", Role.UNIT_ADMIN, extra=("unit_data:manage",))
BASE = ROLE_PERMISSIONS[Role.USER]


@pytest.mark.parametrize(
    ("holder", "change", "action", "role", "permissions"),
    [
        (USER, Change(Role.UNIT_ADMIN), GRANT, Role.UNIT_ADMIN, ROLE_PERMISSIONS[Role.UNIT_ADMIN]),
        (
            USER,
            Change(permission="unit_staff:review"),
            GRANT,
            Role.USER,
            (*BASE, "unit_staff:review"),
        ),
        (DATA_KEEPER, Change(permission="unit_data:manage"), REVOKE, Role.USER, BASE),
        (UNIT_ADMIN, Change(Role.UNIT_ADMIN), REVOKE, Role.USER, BASE),
        (SYSTEM_ADMIN, Change(Role.SYSTEM_ADMIN), REVOKE, Role.USER, BASE),
        # a role absorbs the single grants it covers: they go with it
        (
            KEEPER_ADMIN,
            Change(Role.SYSTEM_ADMIN),
            GRANT,
            Role.SYSTEM_ADMIN,
            ROLE_PERMISSIONS[Role.SYSTEM_ADMIN],
        ),
        (
            DATA_KEEPER,
            Change(Role.UNIT_ADMIN),
            GRANT,
            Role.UNIT_ADMIN,
            ROLE_PERMISSIONS[Role.UNIT_ADMIN],
        ),
    ],
)
def test_after_a_change(holder, change, action, role, permissions) -> None:
    assert after(holder, change, action) == (role, list(permissions))


def test_data_cipher_round_trip_is_bound_to_its_context() -> None:
    cipher = DataCipher(Settings().data_key)
    sealed = cipher.encrypt("320106199005171011", context="key-a")
    assert "320106" not in sealed and sealed.startswith("v1:")
    assert sealed != cipher.encrypt("320106199005171011", context="key-a")  # fresh nonce
    assert cipher.decrypt(sealed, context="key-a") == "320106199005171011"
    with pytest.raises(DataKeyError):
        cipher.decrypt(sealed, context="key-b")
    with pytest.raises(DataKeyError):
        DataCipher(base64.b64encode(bytes(32)).decode()).decrypt(sealed, context="key-a")
    with pytest.raises(DataKeyError):
        DataCipher(base64.b64encode(bytes(16)).decode())


def test_settings_refuse_a_missing_data_key() -> None:
    for environment in ("production", "development"):
        with pytest.raises(ValueError, match="DATA_KEY"):
            Settings(
                environment=environment,
                applicant_key_secret="a" * 32,
                phone_code_secret="b" * 32,
                data_key="",
            )
