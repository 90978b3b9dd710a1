"""Keys derived from personal data, so that no raw ID number is ever an identifier."""

from __future__ import annotations

import hashlib
import hmac

WORKFLOW_ID_PREFIX = "registration-"


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256 as hex: stable look-up key that reveals nothing without the secret."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def applicant_key(secret: str, id_number: str) -> str:
    """The applicant's key: the first 32 hex digits of HMAC-SHA256(secret, ID number)."""
    return keyed_hash(secret, id_number.strip().upper())[:32]


def registration_workflow_id(key: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{key}"


def applicant_key_of(workflow_id: str) -> str:
    return workflow_id.removeprefix(WORKFLOW_ID_PREFIX)
