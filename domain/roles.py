"""Roles as data: each role is a set of permissions, each held with a scope (seed section 六)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    UNIT_ADMIN = "unit_admin"
    SYSTEM_ADMIN = "system_admin"


class Scope(StrEnum):
    """How far a permission reaches: the holder's own records, their unit, or the whole system."""

    OWN = "own"
    UNIT = "unit"
    ALL = "all"


# Ordinary user: submit personal information and query their own records. Unit admin: also review
# the staff of their own unit and manage its data. System admin: manage the whole system.
# `domain.permissions.may` answers every "may this account do this, there?" from this table.
ROLE_GRANTS: dict[Role, dict[str, Scope]] = {
    Role.USER: {
        "own_records:submit": Scope.OWN,
        "own_records:read": Scope.OWN,
    },
    Role.UNIT_ADMIN: {
        "own_records:submit": Scope.OWN,
        "own_records:read": Scope.OWN,
        "unit_staff:review": Scope.UNIT,
        "unit_data:manage": Scope.UNIT,
    },
    Role.SYSTEM_ADMIN: {
        "own_records:submit": Scope.OWN,
        "own_records:read": Scope.ALL,
        "unit_staff:review": Scope.ALL,
        "unit_data:manage": Scope.ALL,
        "system:manage": Scope.ALL,
        # Reading workflow payloads in plaintext (the codec endpoint of the edge): whoever
        # holds it sees every applicant's personal data, so it comes only with this role.
        "payloads:decode": Scope.ALL,
    },
}

# The permission names each role grants, as stored on the account.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    role: tuple(grants) for role, grants in ROLE_GRANTS.items()
}

# Permissions an account holder may ask for one at a time, and how far such a grant reaches:
# inside the holder's unit, approved by that unit's admin. The others come only with a role.
SINGLE_GRANTS: dict[str, Scope] = {
    "unit_staff:review": Scope.UNIT,
    "unit_data:manage": Scope.UNIT,
}

# Roles one may ask for; every account holds the ordinary user's role from the start.
REQUESTABLE_ROLES = (Role.UNIT_ADMIN, Role.SYSTEM_ADMIN)
ROLE_RANK = {Role.USER: 0, Role.UNIT_ADMIN: 1, Role.SYSTEM_ADMIN: 2}

ROLE_TEXT_ZH = {
    Role.USER: "普通用户",
    Role.UNIT_ADMIN: "单位管理员",
    Role.SYSTEM_ADMIN: "系统管理员",
}

PERMISSION_TEXT_ZH = {
    "own_records:submit": "提交个人信息",
    "own_records:read": "查询个人记录",
    "unit_staff:review": "审核单位人员",
    "unit_data:manage": "管理单位数据",
    "system:manage": "管理整个系统",
    "payloads:decode": "解密查看流程数据",
}

SCOPE_TEXT_ZH = {Scope.OWN: "本人", Scope.UNIT: "本单位", Scope.ALL: "全系统"}
