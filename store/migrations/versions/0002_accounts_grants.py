"""accounts: encrypted ID number; grant history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grant_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("permission", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.String(length=10), nullable=True),
        sa.Column("approved_by", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["username"], ["accounts.username"], name=op.f("fk_grant_history_username_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_history")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_grant_history_idempotency_key")),
    )
    with op.batch_alter_table("grant_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_history_username"), ["username"], unique=False)

    # Nullable: accounts made before this revision have no ciphertext until re-keyed.
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id_number_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("id_number_encrypted")

    with op.batch_alter_table("grant_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_history_username"))

    op.drop_table("grant_history")
