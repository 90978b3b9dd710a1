"""Roles and the permissions each grants, as data (seed section 六)."""

from __future__ import annotations

from domain.contracts import Role

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
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
    ),
}

ROLE_TEXT_ZH = {
    Role.USER: "普通用户",
    Role.UNIT_ADMIN: "单位管理员",
    Role.SYSTEM_ADMIN: "系统管理员",
}
