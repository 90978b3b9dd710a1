"""integrity: answers to phone-code Updates, idempotent audit rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "phone_code_answers",
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("attempts_left", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_phone_code_answers")),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(length=250), nullable=True))
        batch.create_unique_constraint(
            batch.f("uq_audit_events_idempotency_key"), ["idempotency_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_constraint(batch.f("uq_audit_events_idempotency_key"), type_="unique")
        batch.drop_column("idempotency_key")
    op.drop_table("phone_code_answers")
