"""photo checks: the ID-card photo pairs that passed, so that they are not decoded again

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photo_checks",
        sa.Column("front_ref", sa.String(length=80), nullable=False),
        sa.Column("back_ref", sa.String(length=80), nullable=False),
        sa.Column("limits", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("front_ref", "back_ref", "limits", name=op.f("pk_photo_checks")),
    )
    with op.batch_alter_table("photo_checks") as batch:
        batch.create_index(batch.f("ix_photo_checks_back_ref"), ["back_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("photo_checks") as batch:
        batch.drop_index(batch.f("ix_photo_checks_back_ref"))
    op.drop_table("photo_checks")
