"""Signed assertions: the edge vouches for who sent a message, and the workers check it.

Whoever can reach the Temporal frontend can send a signal or an update with any payload. So every
message that changes a registration or a grant carries an `Assertion`: the edge, after it
authenticated a person (or an integrator's service token), signs with Ed25519 who acts, on which
workflow, in which review round, with which message, over a digest of which payload, and until
when. Workers hold only public keys.

Pure and deterministic (no clock, no I/O: the caller passes `now`), so workflow code may verify.
Keys rotate: several public keys are trusted, one private key signs. A trusted key may carry a
`not_after`: assertions it signed after that instant are refused, and the ones it signed before
still verify when an old history is replayed, so a retired key is never deleted while a workflow
that holds its messages may still replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

ActorKind = Literal["staff", "applicant", "service"]


@dataclass(frozen=True)
class Actor:
    """Who acts, as authentication established it: a staff username, `applicant:<workflow ID>`
    for an applicant's session, or `service:<token name>` for an integrator's system."""

    kind: ActorKind
    id: str


class Assertion(BaseModel):
    """The edge's word for one message. `signature` covers every other field."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    key_id: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    actor: str = Field(min_length=1, max_length=160)
    actor_kind: ActorKind
    workflow_id: str = Field(min_length=1, max_length=200)
    round: int | None = Field(default=None, ge=1, le=1000)
    message: str = Field(min_length=1, max_length=64)
    payload_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    signature: str = Field(min_length=1, max_length=128)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def payload_digest(payload: BaseModel | None) -> str:
    """SHA-256 of the message's canonical JSON, without its own `assertion` field."""
    data = None if payload is None else payload.model_dump(mode="json", exclude={"assertion"})
    return hashlib.sha256(_canonical(data)).hexdigest()


def _signed_bytes(assertion: Assertion) -> bytes:
    return _canonical(assertion.model_dump(mode="json", exclude={"signature"}))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AssertionSigner:
    """The edge's half: holds the one private key that signs."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self.key_id = key_id
        self._key = private_key

    def sign(
        self,
        *,
        actor: str,
        actor_kind: ActorKind,
        workflow_id: str,
        message: str,
        payload: BaseModel | None,
        now: datetime,
        ttl: timedelta,
        round: int | None = None,
    ) -> Assertion:
        unsigned = Assertion(
            key_id=self.key_id,
            actor=actor,
            actor_kind=actor_kind,
            workflow_id=workflow_id,
            round=round,
            message=message,
            payload_digest=payload_digest(payload),
            issued_at=now,
            expires_at=now + ttl,
            signature="-",
        )
        signature = _b64(self._key.sign(_signed_bytes(unsigned)))
        return unsigned.model_copy(update={"signature": signature})


@dataclass(frozen=True)
class TrustedKey:
    public_key: Ed25519PublicKey
    not_after: datetime | None = None


class AssertionVerifier:
    """The workers' half: public keys only."""

    def __init__(self, keys: Mapping[str, TrustedKey]) -> None:
        self._keys = dict(keys)

    def refusal(
        self,
        assertion: Assertion | None,
        *,
        workflow_id: str,
        message: str,
        payload: BaseModel | None,
        now: datetime,
        round: int | None = None,
        grace: timedelta = timedelta(0),
    ) -> str | None:
        """Why `assertion` does not vouch for this message (a refusal code), or None.

        `grace`: how long after its expiry the assertion still counts, for a message that may
        be read late (a signal waits in history while no worker runs).
        """
        if assertion is None:
            return "assertion.missing"
        trusted = self._keys.get(assertion.key_id)
        if trusted is None:
            return "assertion.unknown_key"
        try:
            trusted.public_key.verify(_unb64(assertion.signature), _signed_bytes(assertion))
        except (InvalidSignature, ValueError, binascii.Error):
            return "assertion.bad_signature"
        if trusted.not_after is not None and assertion.issued_at > trusted.not_after:
            return "assertion.key_retired"
        if now < assertion.issued_at - _CLOCK_SKEW:
            return "assertion.not_yet_valid"
        if now > assertion.expires_at + grace:
            return "assertion.expired"
        if assertion.workflow_id != workflow_id:
            return "assertion.wrong_workflow"
        if assertion.message != message:
            return "assertion.wrong_message"
        if assertion.round != round:
            return "assertion.wrong_round"
        if assertion.payload_digest != payload_digest(payload):
            return "assertion.wrong_payload"
        return None


# The edge's and the workers' clocks differ a little.
_CLOCK_SKEW = timedelta(seconds=30)


def new_signing_key(key_id: str) -> tuple[str, str]:
    """A fresh key pair as settings values: (`kid:private`, `kid:public`), base64url raw bytes."""
    from cryptography.hazmat.primitives import serialization

    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return f"{key_id}:{_b64(raw_private)}", f"{key_id}:{_b64(raw_public)}"


def parse_signing_key(text: str) -> AssertionSigner:
    """`kid:base64url(32 raw bytes)` → a signer."""
    key_id, _, encoded = text.strip().partition(":")
    try:
        key = Ed25519PrivateKey.from_private_bytes(_unb64(encoded))
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"assertion signing key {key_id!r} is not 32 base64url bytes") from exc
    return AssertionSigner(key_id, key)


def parse_trusted_keys(text: str) -> dict[str, TrustedKey]:
    """`kid:base64url[@not_after ISO instant],…` → trusted public keys."""
    keys = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key_id, _, rest = entry.partition(":")
        encoded, _, not_after = rest.partition("@")
        try:
            public = Ed25519PublicKey.from_public_bytes(_unb64(encoded))
            until = datetime.fromisoformat(not_after) if not_after else None
        except (ValueError, binascii.Error) as exc:
            raise ValueError(f"trusted assertion key {key_id!r} is malformed") from exc
        if until is not None and until.tzinfo is None:
            raise ValueError(f"not_after of assertion key {key_id!r} needs a time zone")
        keys[key_id] = TrustedKey(public, until)
    return keys
