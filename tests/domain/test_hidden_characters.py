"""Identifiers and free text refuse what a person cannot see: controls, bidirectional and
zero-width marks. One type (`domain.contracts.base.PlainText` / `FreeText`) does it for all."""

from __future__ import annotations

import functools

import pytest
from pydantic import ValidationError

from domain.contracts.base import refusals_of
from domain.contracts.permissions import PermissionDecision, RevokeRequest
from domain.contracts.registration import RegistrationRequest, ReviewDecision, Withdrawal
from store.seed import APPLICANTS
from testkit import request

HIDDEN = {
    "NUL": "\x00",
    "escape": "\x1b",
    "delete": "\x7f",
    "right-to-left override": "\u202e",
    "right-to-left mark": "\u200f",
    "right-to-left isolate": "\u2067",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte-order mark": "\ufeff",
    "line separator": "\u2028",
    "private use": "\ue000",
}


@functools.cache
def _application() -> dict[str, object]:
    return request().model_dump()


# Each builds a message with `text` in one identifier or free-text field.
FIELDS = {
    "reviewer_id": lambda text: ReviewDecision(
        decision_id="d1", reviewer_id=f"admin{text}_hospital", approve=True
    ),
    "decision_id": lambda text: ReviewDecision(
        decision_id=f"d{text}1", reviewer_id="admin_hospital", approve=True
    ),
    "comment": lambda text: ReviewDecision(
        decision_id="d1",
        reviewer_id="admin_hospital",
        approve=False,
        reason="photo_unclear",
        comment=f"照片{text}模糊",
    ),
    "fields": lambda text: ReviewDecision(
        decision_id="d1",
        reviewer_id="admin_hospital",
        approve=False,
        reason="photo_unclear",
        fields=[f"id_card{text}_front"],
    ),
    "unit_name": lambda text: RegistrationRequest.model_validate(
        {**_application(), "unit_name": f"南京市{text}人民医院"}
    ),
    "withdrawal.reason": lambda text: Withdrawal(reason=f"不想{text}注册了"),
    "revoke.by": lambda text: RevokeRequest(
        revocation_id="leave2026",
        username="admin_hospital",
        role="unit_admin",
        by=f"sys{text}admin",
        reason="离职",
    ),
    "revoke.reason": lambda text: RevokeRequest(
        revocation_id="leave2026",
        username="admin_hospital",
        role="unit_admin",
        by="sysadmin",
        reason=f"离{text}职",
    ),
    "approver_id": lambda text: PermissionDecision(
        decision_id="d1", approver_id=f"sys{text}admin", approve=True
    ),
}


@pytest.mark.parametrize("char", HIDDEN.values(), ids=HIDDEN.keys())
@pytest.mark.parametrize("build", FIELDS.values(), ids=FIELDS.keys())
def test_hidden_characters_are_refused_with_a_specific_error(build, char) -> None:
    with pytest.raises(ValidationError) as caught:
        build(char)
    [refusal] = refusals_of(caught.value, whole="message")
    assert refusal.code == "text.hidden_character"
    assert f"U+{ord(char):04X}" in refusal.message_en
    assert "不可见字符" in refusal.message_zh


@pytest.mark.parametrize("build", FIELDS.values(), ids=FIELDS.keys())
def test_visible_text_passes(build) -> None:
    build("")


def test_names_keep_the_middle_dot_and_comments_keep_line_breaks() -> None:
    person = APPLICANTS[2]
    assert "·" in person.name
    assert request(person).name == person.name
    decision = ReviewDecision(
        decision_id="d1",
        reviewer_id="admin_hospital",
        approve=False,
        reason="photo_unclear",
        comment="第一行\n第二行",
    )
    assert decision.comment == "第一行\n第二行"
