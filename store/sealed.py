"""Column types that keep personal data out of the database file in plaintext.

`Sealed` encrypts a value with the data key (AES-256-GCM, `store.crypto`) when it is written and
decrypts it when it is read, so the ORM's callers see plaintext and the file holds ciphertext.
The column's name is the associated data: a value copied into another column does not decrypt.
Random nonces make equal values differ, so a sealed column cannot be compared in SQL: where a
look-up needs equality a `Keyed` column sits beside it, an HMAC under a key derived from the data
key, applied to every value bound to it (`Account.phone_hmac == "13800000001"` compares HMACs).

The key lives on the engine's dialect (`store.db.make_engine(url, data_key)`): these types are
built at import time, long before any settings are read.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

from store.crypto import DataCipher, DataKeyError

_CIPHER_ATTRIBUTE = "jshr_data_cipher"
_LOOKUP_KEY_ATTRIBUTE = "jshr_lookup_key"


def attach_data_key(dialect: Any, data_key: str) -> None:
    """Give an engine's dialect the cipher and look-up key that its sealed columns use."""
    cipher = DataCipher(data_key)
    setattr(dialect, _CIPHER_ATTRIBUTE, cipher)
    setattr(dialect, _LOOKUP_KEY_ATTRIBUTE, lookup_key(data_key))


def lookup_key(data_key: str) -> bytes:
    """The HMAC key of `Keyed` columns: derived, so the data key itself never keys a hash."""
    return hmac.new(data_key.encode(), b"jshr lookup v1", hashlib.sha256).digest()


def lookup_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _need(dialect: Any, attribute: str) -> Any:
    found = getattr(dialect, attribute, None)
    if found is None:
        raise DataKeyError(
            "this database engine has no data key: build it with make_engine(url, data_key)"
        )
    return found


class Sealed(TypeDecorator[str]):
    """Text encrypted under the data key, `context` (the column) bound in as associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        cipher: DataCipher = _need(dialect, _CIPHER_ATTRIBUTE)
        return cipher.encrypt(value, context=self.context)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        cipher: DataCipher = _need(dialect, _CIPHER_ATTRIBUTE)
        return cipher.decrypt(value, context=self.context)


class Keyed(TypeDecorator[str]):
    """An HMAC of the value for equality look-ups and uniqueness; reads back as the HMAC."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is None:
            return None
        return lookup_hash(_need(dialect, _LOOKUP_KEY_ATTRIBUTE), value)
