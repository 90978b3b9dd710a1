"""The applicant's consent (seed 一): the notice and privacy policy of one version, and the
separate consent PIPL art. 29 asks for sensitive personal information (the ID number, the face
on the ID photo), each with its time.

Given on the notice page, it travels to the form in a cookie sealed with the session key and
bound to the browser's anonymous CSRF binding, so that a form posted later carries the time the
applicant really agreed, and nobody can forge or move it. The application's `Consent` keeps it;
verification refuses an outdated version, so the cookie may hold an old one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import datetime

from edge.sessions import SessionStore

COOKIE = "jshr_consent"


@dataclass(frozen=True)
class GivenConsent:
    notice_version: str
    consented_at: datetime
    sensitive_consented_at: datetime


def _mac(store: SessionStore, binding: str, body: str) -> str:
    return store.keyed("consent", f"{binding}|{body}")


def seal(store: SessionStore, binding: str, consent: GivenConsent) -> str:
    body = "|".join(
        (
            consent.notice_version,
            consent.consented_at.isoformat(),
            consent.sensitive_consented_at.isoformat(),
        )
    )
    encoded = base64.urlsafe_b64encode(body.encode()).decode()
    return f"{encoded}.{_mac(store, binding, body)}"


def unseal(store: SessionStore, binding: str | None, sealed: str | None) -> GivenConsent | None:
    """The consent in the cookie, or None when there is none, or it was given in another
    browser, or it was tampered with."""
    if not binding or not sealed:
        return None
    encoded, _, mac = sealed.partition(".")
    try:
        body = base64.urlsafe_b64decode(encoded.encode()).decode()
        version, consented, sensitive = body.split("|")
        if not hmac.compare_digest(mac, _mac(store, binding, body)):
            return None
        return GivenConsent(
            version, datetime.fromisoformat(consented), datetime.fromisoformat(sensitive)
        )
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
