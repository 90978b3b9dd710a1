"""Argon2id with the edge's parameters, in one place: a weaker or malformed hash is refused by
the contracts, whoever made it."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from domain import passwords
from domain.contracts.registration import RegistrationRequest
from testkit import request

SALT, HASH = "c2FsdHNhbHRzYWx0c2FsdA", "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"


@pytest.mark.parametrize(
    ("value", "refusal"),
    [
        (f"$argon2id$v=19$m=65536,t=3,p=4${SALT}${HASH}", None),
        (f"$argon2id$v=19$m=131072,t=4,p=8${SALT}${HASH}", None),  # stronger is fine
        (f"$argon2id$v=19$m=65535,t=3,p=4${SALT}${HASH}", "password_hash.weak"),
        (f"$argon2id$v=19$m=65536,t=2,p=4${SALT}${HASH}", "password_hash.weak"),
        (f"$argon2id$v=19$m=65536,t=3,p=1${SALT}${HASH}", "password_hash.weak"),
        (f"$argon2i$v=19$m=65536,t=3,p=4${SALT}${HASH}", "password_hash.format"),
        (f"$argon2id$v=16$m=65536,t=3,p=4${SALT}${HASH}", "password_hash.format"),
        ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "password_hash.format"),  # too short
        ("Good#Pass-2026", "password_hash.format"),  # a plaintext
        ("", "password_hash.format"),
    ],
)
def test_hash_refusal(value: str, refusal: str | None) -> None:
    assert passwords.hash_refusal(value) == refusal


def test_the_edges_hasher_makes_what_the_contracts_accept() -> None:
    made = passwords.hasher().hash("Good#Pass-2026")
    assert passwords.hash_refusal(made) is None
    assert passwords.hasher().verify(made, "Good#Pass-2026")


def test_a_request_with_a_cheap_hash_is_refused_with_its_code() -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("Good#Pass-2026")
    fields = request().model_dump() | {"password_hash": cheap}
    with pytest.raises(ValidationError) as refused:
        RegistrationRequest.model_validate(fields)
    assert [e["type"] for e in refused.value.errors()] == ["password_hash.weak"]
