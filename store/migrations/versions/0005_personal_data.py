"""personal data sealed: names, phones, e-mails and message bodies under the data key

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 23:10:00.000000

Rows already there are sealed in place with JSHR_DATA_KEY (read from the settings only when
there are rows). Phone codes keep only an HMAC of the number; downgrading cannot restore it, so
it drops those short-lived rows.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from store.crypto import DataCipher
from store.sealed import lookup_hash, lookup_key

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, primary key, sealed columns)
_SEALED = (
    ("residents", "id_number_hmac", ("name",)),
    ("accounts", "username", ("name", "phone", "email")),
    ("outbox", "idempotency_key", ("recipient", "body")),
)


def _data_key() -> str:
    from config import Settings

    return Settings().data_key


def _rewrite(
    table: str, key: str, columns: Sequence[str], change: Callable[[str, str], str | None]
) -> None:
    """Apply `change(column, value)` to every non-null value of `columns` (few rows: dev data)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table}")).all()
    for row in rows:
        values = {
            column: change(column, value)
            for column, value in zip(columns, row[1:], strict=True)
            if value is not None
        }
        if values:
            assignments = ", ".join(f"{column} = :{column}" for column in values)
            bind.execute(
                sa.text(f"UPDATE {table} SET {assignments} WHERE {key} = :_key"),
                {**values, "_key": row[0]},
            )


def _sealer(cipher: DataCipher, table: str, *, encrypt: bool) -> Callable[[str, str], str | None]:
    """Seal (or open) a value as `store.sealed.Sealed` does: the column is the context."""

    def change(column: str, value: str) -> str | None:
        context = f"{table}.{column}"
        return (
            cipher.encrypt(value, context=context)
            if encrypt
            else cipher.decrypt(value, context=context)
        )

    return change


def _has_rows() -> bool:
    bind = op.get_bind()
    return any(
        bind.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None
        for table in ("residents", "accounts", "outbox", "phone_codes")
    )


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.alter_column("name", type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_phone", type_="unique")
        for column in ("name", "phone", "email"):
            batch.alter_column(column, type_=sa.Text(), existing_nullable=False)
        batch.add_column(sa.Column("phone_hmac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_recipient")
        batch.alter_column("recipient", type_=sa.Text(), existing_nullable=False)
        batch.add_column(sa.Column("recipient_hmac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("phone_codes") as batch:
        batch.alter_column("phone", type_=sa.String(length=64), existing_nullable=False)

    if _has_rows():
        data_key = _data_key()
        cipher, lookup = DataCipher(data_key), lookup_key(data_key)
        bind = op.get_bind()
        for table, key in (("accounts", "username"), ("outbox", "idempotency_key")):
            column = "phone" if table == "accounts" else "recipient"
            for row in bind.execute(sa.text(f"SELECT {key}, {column} FROM {table}")).all():
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column}_hmac = :h WHERE {key} = :k"),
                    {"h": lookup_hash(lookup, row[1]), "k": row[0]},
                )
        for table, key, columns in _SEALED:
            _rewrite(table, key, columns, _sealer(cipher, table, encrypt=True))
        _rewrite("phone_codes", "idempotency_key", ("phone",), lambda _c, v: lookup_hash(lookup, v))

    with op.batch_alter_table("accounts") as batch:
        batch.alter_column("phone_hmac", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_accounts_phone_hmac", ["phone_hmac"])
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("recipient_hmac", existing_type=sa.String(length=64), nullable=False)
        batch.create_index("ix_outbox_recipient_hmac", ["recipient_hmac"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM phone_codes")
    if _has_rows():
        cipher = DataCipher(_data_key())
        for table, key, columns in _SEALED:
            _rewrite(table, key, columns, _sealer(cipher, table, encrypt=False))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_recipient_hmac")
        batch.drop_column("recipient_hmac")
        batch.alter_column("recipient", type_=sa.String(length=254), existing_nullable=False)
        batch.create_index("ix_outbox_recipient", ["recipient"], unique=False)
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_phone_hmac", type_="unique")
        batch.drop_column("phone_hmac")
        batch.alter_column("name", type_=sa.String(length=40), existing_nullable=False)
        batch.alter_column("phone", type_=sa.String(length=11), existing_nullable=False)
        batch.alter_column("email", type_=sa.String(length=254), existing_nullable=False)
        batch.create_unique_constraint("uq_accounts_phone", ["phone"])
    with op.batch_alter_table("phone_codes") as batch:
        batch.alter_column("phone", type_=sa.String(length=11), existing_nullable=False)
    with op.batch_alter_table("residents") as batch:
        batch.alter_column("name", type_=sa.String(length=40), existing_nullable=False)
