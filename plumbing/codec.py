"""Payload encryption: personal data is stored in Temporal only as AES-256-GCM ciphertext.

Every payload (inputs, results, signals, updates, memos, failure messages and stack traces) goes
through `EncryptionCodec` on the client and worker. Only the holders of the keys (the worker, the
typed clients, and the edge, whose codec endpoint decodes for a logged-in operator) can read
them. Search attributes and workflow IDs are never encrypted, so they must not carry personal
data.

Key rotation: encode always uses the active key; decode accepts every listed key. Add a new key,
make it active, and keep the old ones listed for as long as histories written with them are kept.

With encryption configured a payload that arrives unencrypted (a `temporal workflow start
--input` without `--codec-endpoint`) is refused: the codec marks it, and the payload converter
raises `UnencryptedPayload`, which fails the workflow at once instead of running it on data that
now sits in plaintext in the server's history (docs/deployment.md says how to purge it).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.exceptions import ApplicationError

from config import CODEC_KEY_BYTES, check_codec_key

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
# Set by decode on a payload that came unencrypted; the data stays as it is, so the codec server
# still shows an operator what was sent (and has to be purged).
UNENCRYPTED_METADATA = "jshr-unencrypted"
UNENCRYPTED_TYPE = "UnencryptedPayload"
UNENCRYPTED_MESSAGE = (
    "an unencrypted payload was refused: this system encrypts every payload, so start, signal,"
    " update and query through the codec endpoint (temporal --codec-endpoint, see"
    " docs/integration.md); the plaintext now in this history must be purged"
    " (docs/deployment.md)"
)
NONCE_BYTES = 12
TAG_BYTES = 16


class CodecError(ValueError):
    """A payload that cannot be decrypted; the message never contains data or key material."""


class UnknownKeyError(CodecError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"unknown encryption key id {key_id!r}")
        self.key_id = key_id


class TamperedPayloadError(CodecError):
    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"encrypted payload under key id {key_id!r} failed authentication "
            "(tampered, truncated or written under a different key)"
        )
        self.key_id = key_id


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the serialized payload; the key id is the associated data."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active encryption key id {active_key_id!r} is not among the keys")
        for key_id, key in keys.items():
            check_codec_key(key_id, key)
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            self._decrypt(payload)
            if payload.metadata.get("encoding") == ENCODING
            else _mark_unencrypted(payload)
            for payload in payloads
        ]

    def _encrypt(self, payload: Payload) -> Payload:
        key_id = self.active_key_id.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_key_id].encrypt(
            nonce, payload.SerializeToString(), key_id
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id}, data=nonce + sealed
        )

    def _decrypt(self, payload: Payload) -> Payload:
        raw_id = payload.metadata.get(KEY_ID_METADATA, b"")
        key_id = raw_id.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKeyError(key_id)
        if len(payload.data) < NONCE_BYTES + TAG_BYTES:
            raise TamperedPayloadError(key_id)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, raw_id)
        except InvalidTag:
            raise TamperedPayloadError(key_id) from None
        return Payload.FromString(plain)


def _mark_unencrypted(payload: Payload) -> Payload:
    marked = Payload()
    marked.CopyFrom(payload)
    marked.metadata[UNENCRYPTED_METADATA] = b"1"
    return marked


class UnencryptedPayload(ApplicationError):
    """Raised where a marked payload would be read: a workflow's input fails the workflow, an
    Update's argument rejects the Update, a signal's is dropped, a query fails."""

    def __init__(self) -> None:
        super().__init__(UNENCRYPTED_MESSAGE, type=UNENCRYPTED_TYPE, non_retryable=True)


class RefusingPayloadConverter(PydanticPayloadConverter):
    """The pydantic converter, refusing every payload the codec marked as unencrypted."""

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[object]:
        if any(UNENCRYPTED_METADATA in payload.metadata for payload in payloads):
            raise UnencryptedPayload()
        return super().from_payloads(payloads, type_hints)


def data_converter(keys: Mapping[str, bytes] | None, active_key_id: str | None) -> DataConverter:
    """The project's pydantic converter; with keys, every payload and failure text encrypted."""
    if not keys:
        return pydantic_data_converter
    if active_key_id is None:
        if len(keys) != 1:
            raise ValueError("several encryption keys are listed: name the active one")
        (active_key_id,) = keys
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keys, active_key_id),
        payload_converter_class=RefusingPayloadConverter,
        # Failure messages and stack traces move into an encoded payload the codec encrypts.
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def new_key() -> str:
    """A fresh random AES-256 key, base64, for `JSHR_CODEC_KEYS`."""
    return base64.b64encode(AESGCM.generate_key(bit_length=CODEC_KEY_BYTES * 8)).decode()
