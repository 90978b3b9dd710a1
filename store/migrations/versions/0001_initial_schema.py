"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 14:30:31.686175
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("registration_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_events_registration_id"), ["registration_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_recipient"), ["recipient"], unique=False)

    op.create_table(
        "phone_codes",
        sa.Column("idempotency_key", sa.String(length=250), nullable=False),
        sa.Column("registration_id", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts_left", sa.Integer(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_phone_codes")),
    )
    with op.batch_alter_table("phone_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_codes_phone"), ["phone"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_phone_codes_registration_id"), ["registration_id"], unique=False
        )

    op.create_table(
        "residents",
        sa.Column("id_number_hmac", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id_number_hmac", name=op.f("pk_residents")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("registration_id", sa.String(length=200), nullable=False),
        sa.Column("application_digest", sa.String(length=64), nullable=False),
        sa.Column("signature_ref", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signatures_registration_id"), ["registration_id"], unique=False
        )

    op.create_table(
        "units",
        sa.Column("code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("requires_signature", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_units")),
    )
    op.create_table(
        "accounts",
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("applicant_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("unit_code", sa.String(length=18), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("registration_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name=op.f("fk_accounts_unit_code_units")
        ),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_accounts")),
        sa.UniqueConstraint("applicant_key", name=op.f("uq_accounts_applicant_key")),
        sa.UniqueConstraint("phone", name=op.f("uq_accounts_phone")),
        sa.UniqueConstraint("registration_id", name=op.f("uq_accounts_registration_id")),
    )
    op.create_table(
        "invitations",
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("unit_code", sa.String(length=18), nullable=False),
        sa.Column("issued_by", sa.String(length=32), nullable=False),
        sa.Column("used_by_registration", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["accounts.username"], name=op.f("fk_invitations_issued_by_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name=op.f("fk_invitations_unit_code_units")
        ),
        sa.PrimaryKeyConstraint("code_hmac", name=op.f("pk_invitations")),
    )


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("accounts")
    op.drop_table("units")
    with op.batch_alter_table("signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatures_registration_id"))

    op.drop_table("signatures")
    op.drop_table("residents")
    with op.batch_alter_table("phone_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_codes_registration_id"))
        batch_op.drop_index(batch_op.f("ix_phone_codes_phone"))

    op.drop_table("phone_codes")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_recipient"))

    op.drop_table("outbox")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_registration_id"))

    op.drop_table("audit_events")
