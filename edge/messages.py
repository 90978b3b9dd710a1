"""The HTTP status of each refusal the edge itself gives. Its texts (Chinese for people, English
for logs) are in the catalogue, `domain.texts.EDGE`; refusals of the rules and of the workflows
keep their own codes and texts."""

from __future__ import annotations

from domain import texts

STATUS: dict[str, int] = {
    "auth.invalid_credentials": 401,
    "auth.throttled": 429,
    "auth.second_factor_required": 401,
    "session.missing": 401,
    "session.unknown": 401,
    "session.expired": 401,
    "session.ended": 401,
    "account.inactive": 401,
    "csrf.missing": 403,
    "csrf.invalid": 403,
    "csrf.origin": 403,
    "code.wrong": 422,
    "code.expired": 422,
    "code.locked": 422,
    "code.format": 422,
    "applicant.throttled": 429,
    "token.missing": 401,
    "token.invalid": 401,
    "token.scope": 403,
    "codec.not_operator": 403,
    "codec.origin": 403,
    "codec.bearer_only": 403,
    "codec.throttled": 429,
    "codec.too_many_payloads": 413,
    "codec.undecodable": 422,
    "registration.not_yours": 403,
    "registration.not_found": 404,
    "registration.exists": 409,
    "registration.wrong_stage": 409,
    "signature.outdated": 409,
    "signature.missing": 422,
    "signature.unreadable": 422,
    "signature.name_mismatch": 422,
    "signature.declaration": 422,
    "consent.required": 422,
    "consent.sensitive_required": 422,
    "photo.required": 422,
    "withdraw.unconfirmed": 422,
    "resubmit.already_submitted": 409,
    "resubmit.id_number_changed": 422,
    "update.refused": 409,
    "assertion.refused": 403,
    "decision.not_counted": 409,
    "photo.upload_too_large": 413,
    "invitation.unit_unknown": 422,
    "invitation.used": 409,
    "reviewer.not_authorized": 403,
    "reviewer.is_applicant": 403,
    "reviewer.inactive": 403,
    "password.wrong": 403,
    "request.invalid": 422,
    "request.too_large": 413,
    "request.not_found": 404,
    "request.method": 405,
    "workflow.unavailable": 503,
    "server.error": 500,
}


class EdgeRefused(Exception):
    """A request the edge refuses with one of its own codes; nothing was changed.

    `message_zh` replaces the catalogue's text where the refusal has a detail to tell (attempts
    left); `retry_after` is in seconds (429)."""

    def __init__(
        self,
        key: str,
        *,
        fields: list[str] | None = None,
        message_zh: str | None = None,
        retry_after: int | None = None,
        code: str | None = None,
    ) -> None:
        entry = texts.EDGE[key]
        super().__init__(f"{code or key}: {entry.en}")
        # `code` keeps a workflow's own code (a decision that did not count) under the
        # catalogue entry `key` that gives the status.
        self.code = code or key
        self.status = STATUS[key]
        self.fields = fields or []
        self.message_zh = message_zh or entry.zh
        self.message_en = entry.en
        self.retry_after = retry_after
