"""The catalogue of texts is complete and the only place they are written."""

from __future__ import annotations

import string

import pytest

from config import ROOT
from domain import permissions, texts
from domain.contracts.registration import RejectionReason
from domain.texts import Text

CATALOGUES = {
    name: value
    for name, value in vars(texts).items()
    if isinstance(value, dict) and all(isinstance(v, Text) for v in value.values())
}
MESSAGES = {  # (subject, body) pairs, all sent by SMS or with an SMS
    name: value
    for name, value in vars(texts).items()
    if isinstance(value, tuple) and not isinstance(value, Text) and len(value) == 2
}
PRODUCTION = ["activities", "domain", "edge", "plumbing", "starter", "store", "workflows"]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_catalogues_are_found() -> None:
    assert {"FORM", "PHOTOS", "CONTRACTS", "VERIFICATION", "REVIEW", "PERMISSIONS"} <= set(
        CATALOGUES
    )
    assert {"PHONE_CODE_SMS", "REVIEW_REMINDER", "APPROVED", "CHANGE_APPLIED"} <= set(MESSAGES)


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_every_refusal_has_both_texts_and_a_code_shaped_key(name: str) -> None:
    for key, text in CATALOGUES[name].items():
        assert text.zh and text.en, key
        assert len(key.split(".")) in (2, 3) and key.replace(".", "").replace("_", "").isalnum()


def test_sent_messages_carry_the_signature_and_nothing_else_writes_it() -> None:
    for name in ("PHONE_CODE_SMS", "REVIEW_REMINDER", "REVIEW_PROGRESS", "APPROVED"):
        assert MESSAGES[name][1].startswith(texts.SMS_PREFIX), name
    written = [
        path.relative_to(ROOT).as_posix()
        for package in PRODUCTION
        for path in (ROOT / package).rglob("*.py")
        if texts.SMS_PREFIX in path.read_text(encoding="utf-8")
    ]
    assert written == ["domain/texts.py"]


def test_codes_that_modules_refuse_with_have_texts() -> None:
    assert set(texts.PERMISSIONS) == set(permissions._FIELDS)
    assert {"reviewer.inactive", "reviewer.is_applicant", "reviewer.not_authorized"} <= set(
        texts.REVIEW
    )
    assert set(texts.REJECTION_REASONS_ZH) == {reason.value for reason in RejectionReason}


def test_templates_name_what_their_callers_fill_in() -> None:
    assert _placeholders(texts.PHONE_CODE_SMS[1]) == {"code", "minutes"}
    assert _placeholders(texts.REVIEW_REMINDER[1]) == {"round", "label"}
    assert _placeholders(texts.CHANGE_APPLIED[1]) == {"verb", "change", "username", "role"}
    assert _placeholders(texts.REJECTED.zh) == {"reason", "comment"}
    assert _placeholders(texts.FORM["id_number.age"].zh) == {"lo", "hi"}
