"""retention: whose photos, how and when registrations ended, what the purge deleted

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registration_documents",
        sa.Column("registration_id", sa.String(length=200), nullable=False),
        sa.Column("ref", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("registration_id", "ref", name=op.f("pk_registration_documents")),
    )
    with op.batch_alter_table("registration_documents") as batch:
        batch.create_index(batch.f("ix_registration_documents_ref"), ["ref"], unique=False)
    op.create_table(
        "registration_ends",
        sa.Column("registration_id", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("documents_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applicant_data_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("registration_id", name=op.f("pk_registration_ends")),
    )
    with op.batch_alter_table("registration_ends") as batch:
        batch.create_index(batch.f("ix_registration_ends_ended_at"), ["ended_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registration_ends") as batch:
        batch.drop_index(batch.f("ix_registration_ends_ended_at"))
    op.drop_table("registration_ends")
    with op.batch_alter_table("registration_documents") as batch:
        batch.drop_index(batch.f("ix_registration_documents_ref"))
    op.drop_table("registration_documents")
