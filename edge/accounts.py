"""The user center: an account's role, permissions with their scope, and grant history.

Reads the application database directly (no workflow involved). Personal data is masked; the ID
number is decrypted only to be masked, and only when the caller hands in the data key.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.contracts.permissions import ChangeAction
from domain.contracts.views import AccountView, GrantRecord
from domain.permissions import permission_views
from domain.roles import ROLE_TEXT_ZH, Role, Scope
from domain.rules import mask_id_number, mask_name, mask_phone
from store.crypto import DataCipher, DataKeyError
from store.models import Account, GrantHistory

NOT_AVAILABLE = "(未记录)"


async def account_view(
    sessions: async_sessionmaker[AsyncSession], username: str, *, data_key: str | None = None
) -> AccountView | None:
    """The account as its holder sees it in the user center; None when there is no such one."""
    async with sessions() as session:
        account = await session.get(Account, username)
        if account is None:
            return None
        grants = await session.scalars(
            select(GrantHistory)
            .where(GrantHistory.username == username)
            .order_by(GrantHistory.at, GrantHistory.id)
        )
        history = [
            GrantRecord(
                at=row.at,
                action=ChangeAction(row.action),
                role=Role(row.role) if row.role else None,
                permission=row.permission,
                scope=Scope(row.scope) if row.scope else None,
                approved_by=list(row.approved_by),
                reason=row.reason,
                source=row.source,
            )
            for row in grants
        ]
    role = Role(account.role)
    return AccountView(
        username=account.username,
        masked_name=mask_name(account.name),
        masked_id_number=_masked_id_number(account, data_key),
        masked_phone=mask_phone(account.phone),
        unit_code=account.unit_code,
        role=role,
        role_zh=ROLE_TEXT_ZH[role],
        active=account.active,
        permissions=permission_views(account),
        grants=history,
    )


def _masked_id_number(account: Account, data_key: str | None) -> str:
    if account.id_number_encrypted is None:
        return NOT_AVAILABLE
    if data_key is None:
        return "(已加密)"
    try:
        number = DataCipher(data_key).decrypt(
            account.id_number_encrypted, context=account.applicant_key
        )
    except DataKeyError:
        return "(无法解密)"
    return mask_id_number(number)
