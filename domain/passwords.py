"""How passwords are hashed (Argon2id), in one place: the edge hashes with these parameters, and
the contracts refuse a hash made with weaker ones, whoever made it.

The values are RFC 9106's second recommendation (64 MiB, 3 passes, 4 lanes), argon2-cffi's own
defaults. Pure: parsing a hash reads no clock and no file, so workflow code may call it.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher

MEMORY_KIB = 65536
TIME_COST = 3
PARALLELISM = 4

_ARGON2ID = re.compile(
    r"^\$argon2id\$v=19\$m=(?P<m>\d{1,10}),t=(?P<t>\d{1,10}),p=(?P<p>\d{1,3})"
    r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{16,}$"
)


def hasher() -> PasswordHasher:
    """The hasher the edge uses for every password it stores."""
    return PasswordHasher(time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM)


def hash_refusal(value: str) -> str | None:
    """Why `value` is not an Argon2id hash as strong as ours (a code), or None."""
    match = _ARGON2ID.match(value)
    if match is None:
        return "password_hash.format"
    m, t, p = (int(match[name]) for name in ("m", "t", "p"))
    if m < MEMORY_KIB or t < TIME_COST or p < PARALLELISM:
        return "password_hash.weak"
    return None
