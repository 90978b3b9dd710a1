"""The user center: `/api/v1/me`, the logged-in account's role, permissions and grants."""

from __future__ import annotations

from fastapi import APIRouter

from domain.contracts.views import AccountView
from edge.accounts import account_view
from edge.messages import EdgeRefused
from edge.web.deps import CurrentStaff, Services
from edge.web.errors import responses

router = APIRouter(prefix="/api/v1", tags=["user center"])


@router.get("/me", responses=responses(401))
async def me(staff: CurrentStaff, edge: Services) -> AccountView:
    """Role, permissions with their scope, and grant history (personal data masked)."""
    view = await account_view(edge.db, staff.username, data_key=edge.settings.data_key)
    if view is None:  # deleted between the session check and now
        raise EdgeRefused("account.inactive")
    return view
