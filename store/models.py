"""Application tables (SQLAlchemy 2.0). The schema is owned by the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates
from sqlalchemy.types import TypeDecorator

from store.sealed import Keyed, Sealed

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass an aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Unit(Base):
    """A hospital or health unit, known by its unified social credit code."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    requires_signature: Mapped[bool] = mapped_column(Boolean, default=False)


class Resident(Base):
    """The local identity provider's register: who the ID number belongs to (real-name check)."""

    __tablename__ = "residents"

    id_number_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Sealed("residents.name"))


class Account(Base):
    """Everyone who can log in: applicants once approved, unit admins and system admins."""

    __tablename__ = "accounts"

    username: Mapped[str] = mapped_column(String(32), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    applicant_key: Mapped[str] = mapped_column(String(64), unique=True)
    # The ID number, AES-GCM under JSHR_DATA_KEY (store/crypto.py); `applicant_key` is its HMAC.
    id_number_encrypted: Mapped[str | None] = mapped_column(Text)
    # Name, phone and e-mail sealed under JSHR_DATA_KEY (store/sealed.py); `phone_hmac` is what
    # look-ups and the one-account-per-phone rule compare.
    name: Mapped[str] = mapped_column(Sealed("accounts.name"))
    phone: Mapped[str] = mapped_column(Sealed("accounts.phone"))
    phone_hmac: Mapped[str] = mapped_column(Keyed(), unique=True)
    email: Mapped[str] = mapped_column(Sealed("accounts.email"))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("units.code"))
    role: Mapped[str] = mapped_column(String(20))
    permissions: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The registration that created it: what makes provisioning idempotent.
    registration_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    @validates("phone")
    def _keep_phone_hmac(self, _key: str, phone: str) -> str:
        self.phone_hmac = phone  # Keyed: stored as its HMAC
        return phone


class Invitation(Base):
    """An invitation code a system admin issued for one unit-admin registration."""

    __tablename__ = "invitations"

    code_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"))
    issued_by: Mapped[str] = mapped_column(ForeignKey("accounts.username"))
    used_by_registration: Mapped[str | None] = mapped_column(String(200))


class PhoneCode(Base):
    """One SMS code sent; only its HMAC is kept."""

    __tablename__ = "phone_codes"

    idempotency_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    registration_id: Mapped[str] = mapped_column(String(200), index=True)
    # Only its HMAC (Keyed): the hourly cap per number compares it, nobody reads it back.
    phone: Mapped[str] = mapped_column(Keyed(), index=True)
    code_hmac: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_left: Mapped[int] = mapped_column(Integer)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class PhoneCodeAnswer(Base):
    """The answer given to one `submit_phone_code` Update: its retry answers the same."""

    __tablename__ = "phone_code_answers"

    idempotency_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(10))
    attempts_left: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Signature(Base):
    """The applicant's e-signature over one digest of the application, kept as evidence."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registration_id: Mapped[str] = mapped_column(String(200), index=True)
    application_digest: Mapped[str] = mapped_column(String(64))
    signature_ref: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Every SMS and e-mail, once per idempotency key; the embedded channel's delivery record.

    Recipient and body are sealed (an SMS body may carry a one-time code); a message delivered
    through a real gateway keeps neither (both emptied, `notify.outbox`), and the purge deletes
    the rows of finished registrations."""

    __tablename__ = "outbox"

    idempotency_key: Mapped[str] = mapped_column(String(250), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(Sealed("outbox.recipient"))
    recipient_hmac: Mapped[str] = mapped_column(Keyed(), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Sealed("outbox.body"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @validates("recipient")
    def _keep_recipient_hmac(self, _key: str, recipient: str) -> str:
        if recipient:  # cleared once delivered: the HMAC stays
            self.recipient_hmac = recipient  # Keyed: stored as its HMAC
        return recipient


class AuditEvent(Base):
    """Decisions (counted or refused), reminders, escalations, nudges: who, what, when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    registration_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the activities that a retry could repeat: one row per key.
    idempotency_key: Mapped[str | None] = mapped_column(String(250), unique=True)


class GrantHistory(Base):
    """Every grant and revocation of a role or a single permission: what, to whom, approved by
    whom, why. One row per idempotency key (the registration or the change workflow)."""

    __tablename__ = "grant_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(250), unique=True)
    username: Mapped[str] = mapped_column(ForeignKey("accounts.username"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    role: Mapped[str | None] = mapped_column(String(20))
    permission: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(String(10))
    approved_by: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class EdgeSession(Base):
    """A staff login or an applicant's session, held by the edge so that it can be ended at once
    (logout, password change, deactivation). The cookie holds a random token; only its SHA-256
    is stored, so the table alone opens no session."""

    __tablename__ = "edge_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    # The username (staff) or the registration's workflow ID (applicant).
    subject: Mapped[str] = mapped_column(String(200), index=True)
    # A staff login that still owes its SMS code: good for nothing but answering it.
    pending_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))


class LoginThrottle(Base):
    """Failed logins per account and per address (keyed hashes: the typed name may be anything,
    an address is personal data), and the lockout they earned."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServiceToken(Base):
    """An integrator's system: a named bearer token with scopes; only its SHA-256 is kept."""

    __tablename__ = "service_tokens"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OneTimeCode(Base):
    """An SMS code the edge sent (an admin's second factor, a returning applicant's proof of
    phone), kept as an HMAC. `subject` is None for a challenge that can never succeed: the
    applicant asked for a registration that does not exist, and must not learn so."""

    __tablename__ = "one_time_codes"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200))
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts_left: Mapped[int] = mapped_column(Integer)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class RegistrationDocument(Base):
    """Which registration sent which stored photo: what the retention purge deletes by."""

    __tablename__ = "registration_documents"

    registration_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class RegistrationEnd(Base):
    """How and when a registration ended, and when the purge deleted what it held."""

    __tablename__ = "registration_ends"

    registration_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20))
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    documents_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applicant_data_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhotoCheck(Base):
    """An ID-card photo pair that passed the photo checks under one set of limits.

    Refs are content addresses (SHA-256 of the bytes), so a pair that passed once passes again:
    a verification that finds its pair here need not decode both photos a second time, and a
    pair with any other photo (a correction's) is not here. Only passes are kept; the purge
    deletes the rows of the photos it deletes."""

    __tablename__ = "photo_checks"

    front_ref: Mapped[str] = mapped_column(String(80), primary_key=True)
    back_ref: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)
    # `store.verification.photo_check_key`: the limits and the check's version it passed under.
    limits: Mapped[str] = mapped_column(String(64), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
