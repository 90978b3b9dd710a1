"""Personal data at rest: AES-256-GCM under the data key (`JSHR_DATA_KEY`).

A value is stored as `v1:` + base64(nonce ‖ ciphertext ‖ tag). The caller names a context (for an
account's ID number: its applicant key, the HMAC beside it), bound in as associated data, so a
ciphertext copied onto another row does not decrypt. Look-ups and uniqueness use the HMAC, never
the ciphertext: the same number encrypts differently every time.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1:"
NONCE_BYTES = 12


class DataKeyError(ValueError):
    """The data key is not base64 of 32 bytes, or a value does not decrypt under it."""


class DataCipher:
    def __init__(self, key_b64: str) -> None:
        try:
            key = base64.b64decode(key_b64, validate=True)
        except binascii.Error:
            raise DataKeyError("JSHR_DATA_KEY must be base64") from None
        if len(key) != 32:
            raise DataKeyError("JSHR_DATA_KEY must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return VERSION + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        if not token.startswith(VERSION):
            raise DataKeyError("unknown ciphertext version")
        try:
            raw = base64.b64decode(token.removeprefix(VERSION), validate=True)
            opened = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (binascii.Error, InvalidTag):
            # Never echo the token or the key: a wrong key, another row's value, or tampering.
            raise DataKeyError("value does not decrypt under this key and context") from None
        return opened.decode()
