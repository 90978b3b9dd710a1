"""Permission changes through the API: refused with the rule's code and a fitting status, as
the logged-in account, never under a name from the body."""

from __future__ import annotations

from domain.roles import Role
from store.models import Account
from testkit.edge import Edge


async def test_an_admin_of_another_unit_may_not_revoke_and_nothing_changes(live: Edge) -> None:
    async with live.client() as admin:
        csrf = {"X-CSRF-Token": await live.login(admin, "admin_centre")}
        refused = await admin.post(
            "/api/v1/permissions/revocations",
            json={"username": "admin_hospital", "role": "unit_admin", "reason": "调离"},
            headers=csrf,
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["errors"][0]["code"].startswith(("revoke.", "revoker."))
        smuggled = await admin.post(
            "/api/v1/permissions/revocations",
            json={
                "username": "admin_hospital",
                "role": "unit_admin",
                "reason": "x",
                "by": "sysadmin",
            },
            headers=csrf,
        )
        assert smuggled.status_code == 422  # no field names who acts
    async with live.db.sessions() as session:
        account = await session.get(Account, "admin_hospital")
    assert account is not None and account.role == Role.UNIT_ADMIN.value


async def test_asking_for_a_made_up_role_is_refused_per_field(live: Edge) -> None:
    async with live.client() as holder:
        csrf = {"X-CSRF-Token": await live.login(holder, "admin_hospital")}
        refused = await holder.post(
            "/api/v1/permissions/requests",
            json={"role": "superuser", "reason": "x"},
            headers=csrf,
        )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "role.unknown"
