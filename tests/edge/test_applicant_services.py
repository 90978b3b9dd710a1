"""The services under the applicant's pages: the sealed consent, the drawn signature, and the
review's clock in working days."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime

import pytest
from PIL import Image, ImageDraw

from config import Settings
from domain.contracts.base import AuditEntry
from domain.contracts.registration import Stage
from edge import consent, signatures
from edge.messages import EdgeRefused
from edge.progress import _round_reminders, _steps, reminder_text, review_clock
from edge.sessions import SessionStore


def store() -> SessionStore:
    settings = Settings(session_key=secrets.token_urlsafe(32))
    return SessionStore(None, settings)  # type: ignore[arg-type]  # sealing needs no database


def test_a_consent_is_sealed_to_its_browser() -> None:
    keys = store()
    given = consent.GivenConsent(
        "2026-01", datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 3, 2, 1, 1, tzinfo=UTC)
    )
    sealed = consent.seal(keys, "browser-a", given)
    assert consent.unseal(keys, "browser-a", sealed) == given
    assert consent.unseal(keys, "browser-b", sealed) is None
    assert consent.unseal(store(), "browser-a", sealed) is None  # another key
    assert consent.unseal(keys, "browser-a", "bm90IGEgY29uc2VudA.00") is None
    assert consent.unseal(keys, "browser-a", None) is None


def png(draw: bool, size: tuple[int, int] = (600, 240)) -> bytes:
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if draw:
        ImageDraw.Draw(image).line([(20, 120), (300, 60), (580, 180)], fill="black", width=6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_a_drawing_is_kept_as_a_clean_png_and_an_empty_pad_is_refused() -> None:
    kept = signatures.drawing(png(draw=True))
    with Image.open(io.BytesIO(kept)) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "L", (600, 240))
    with pytest.raises(EdgeRefused) as empty:
        signatures.drawing(png(draw=False))
    assert empty.value.code == "signature.missing"
    for bad in (b"GIF89a not a png", png(draw=True, size=(2400, 100))):
        with pytest.raises(EdgeRefused) as refused:
            signatures.drawing(bad)
        assert refused.value.code == "signature.unreadable"


def test_the_pads_data_url_is_read_and_anything_else_refused() -> None:
    import base64

    data = png(draw=True)
    assert signatures.from_data_url("data:image/png;base64," + base64.b64encode(data).decode()) == (
        data
    )
    for bad in ("data:image/jpeg;base64,AAAA", "data:image/png;base64,@@@@"):
        with pytest.raises(EdgeRefused):
            signatures.from_data_url(bad)


def test_the_review_clock_counts_working_days_with_the_official_calendar() -> None:
    settings = Settings()
    # Entered on Tuesday 2026-09-29: the 3rd working day after it comes after the National Day
    # holiday (1-7 October): 9-30, 10-8, 10-9.
    entered = datetime(2026, 9, 29, 2, tzinfo=UTC)
    at_once = review_clock(settings, entered, entered)
    assert at_once.due_at.isoformat() == "2026-10-09T09:00:00+08:00"
    assert at_once.days == 3 and at_once.workdays_left == 3 and not at_once.overdue
    in_the_holiday = review_clock(settings, entered, datetime(2026, 10, 5, 2, tzinfo=UTC))
    assert in_the_holiday.workdays_left == 2
    late = review_clock(settings, entered, at_once.due_at)
    assert late.overdue and late.workdays_left == 0


def test_the_reminders_of_this_round_in_the_applicants_words() -> None:
    at = datetime(2026, 3, 2, 1, tzinfo=UTC)
    history = [
        AuditEntry(at=at, kind="reminder", actor="system", outcome="new application"),
        AuditEntry(at=at, kind="decision", actor="admin_centre", outcome="reject"),
        AuditEntry(at=at, kind="reminder", actor="system", outcome="new application"),
        AuditEntry(at=at, kind="reminder", actor="system", outcome="working-day 1 reminder"),
        AuditEntry(at=at, kind="reminder", actor="system", outcome="nudge 1"),
        AuditEntry(at=at, kind="escalation", actor="system", outcome="working-day 3 escalation"),
    ]
    texts = [reminder_text(entry.outcome) for entry in _round_reminders(history)]
    assert texts == ["已通知审核人", "第1个工作日,已提醒审核人", "您催办了一次", "已上报系统管理员"]


def test_the_steps_show_the_signature_only_where_the_policy_asks() -> None:
    labels = [step.label for step in _steps(Stage.AWAITING_REVIEW, with_signature=False)]
    assert labels == ["提交申请", "手机验证", "单位审核", "开通账号"]
    states = [step.state for step in _steps(Stage.AWAITING_CORRECTION, with_signature=True)]
    assert states == ["done", "done", "done", "failed", "todo"]
    assert {step.state for step in _steps(Stage.COMPLETED, with_signature=True)} == {"done"}
