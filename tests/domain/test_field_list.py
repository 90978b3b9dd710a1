"""One field list, `RegistrationRequest`'s: the edge's form, the reviewer's view, the digest and
what a correction changed all follow it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.contracts.base import ApplicationRefused
from domain.contracts.internal import changed_fields
from domain.contracts.registration import (
    NOT_FOR_REVIEWERS,
    PHOTO_FIELDS,
    UNDECLARED_FIELDS,
    ApplicationView,
    Consent,
    RegistrationRequest,
)
from edge.intake import ApplicationForm, build_request
from store.verification import application_digest
from testkit import TODAY, form, request

REQUEST_FIELDS = set(RegistrationRequest.model_fields)


def test_the_parts_named_are_fields_of_the_request() -> None:
    assert {*PHOTO_FIELDS, *UNDECLARED_FIELDS, *NOT_FOR_REVIEWERS} <= REQUEST_FIELDS


def test_the_form_has_every_field_but_the_hash_and_the_consent_record() -> None:
    expected = REQUEST_FIELDS - {"password_hash", "consent"} | {
        "password",
        "notice_version",
        "consented_at",
        "sensitive_consented_at",
    }
    assert set(ApplicationForm.model_fields) == expected
    for photo in PHOTO_FIELDS:
        assert ApplicationForm.model_fields[photo].annotation is bytes
    assert ApplicationForm.model_fields["requested_role"].default == "user"
    assert ApplicationForm.model_fields["invitation_code"].default is None


def test_the_view_shows_every_field_but_the_secrets() -> None:
    expected = REQUEST_FIELDS - NOT_FOR_REVIEWERS | {"round", "changed_fields"}
    assert set(ApplicationView.model_fields) == expected
    view = ApplicationView.of(request(), round=2, changed_fields=["phone"])
    assert (view.round, view.changed_fields, view.username) == (2, ["phone"], "zhangsan1990")


def test_neither_the_password_nor_the_consent_changes_the_digest_or_counts_as_a_change() -> None:
    before = request()
    after = before.model_copy(
        update={
            "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$b3RoZXI$b3RoZXI",
            "consent": Consent(notice_version="2027-01", consented_at=datetime.now(UTC)),
        }
    )
    assert application_digest(after) == application_digest(before)
    assert changed_fields(before, after) == []
    moved = before.model_copy(update={"unit_name": "另一家医院"})
    assert application_digest(moved) != application_digest(before)
    assert changed_fields(before, moved) == ["unit_name"]


def test_a_role_that_is_not_one_is_a_refusal_not_a_crash() -> None:
    with pytest.raises(ApplicationRefused) as refused:
        build_request(form(requested_role="chief"), today=TODAY)
    assert [r.fields for r in refused.value.refusals] == [["requested_role"]]
    assert refused.value.refusals[0].message_zh == "注册只能申请普通用户或单位管理员角色"
