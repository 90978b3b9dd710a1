"""The published contract stays true: committed schemas match the models, the doc names every
handler and stage."""

from __future__ import annotations

from config import ROOT
from domain.contracts.registration import Stage
from starter.contract import schemas
from workflows.registration import RegistrationWorkflow

DOCS = ROOT / "docs"


def test_committed_schemas_match_the_models() -> None:
    stale = [
        name
        for name, text in schemas().items()
        if not (DOCS / "schemas" / name).is_file()
        or (DOCS / "schemas" / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"run `python -m starter schema` and commit: {stale}"


def test_the_integration_guide_names_every_handler_and_stage() -> None:
    guide = (DOCS / "integration.md").read_text(encoding="utf-8")
    handlers = [
        name
        for name in (
            "submit_phone_code",
            "resend_phone_code",
            "sign",
            "review_decision",
            "decide",
            "nudge",
            "resubmit",
            "withdraw",
            "status",
            "application",
        )
        if hasattr(RegistrationWorkflow, name)
    ]
    assert len(handlers) == 10
    missing = [
        f"`{name}`" for name in handlers + [s.value for s in Stage] if f"`{name}`" not in guide
    ]
    assert not missing
