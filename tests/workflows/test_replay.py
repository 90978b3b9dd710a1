"""Replay recorded histories: a change that would break registrations in flight fails here.

Re-record on purpose with `make histories` (and say why in the commit).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.worker import Replayer

from testkit.harness import converter, load_history, replay_interceptors
from worker import workflow_runner
from workflows.registration import RegistrationWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_cover_the_main_paths() -> None:
    names = {path.stem for path in HISTORIES}
    assert {"happy_path", "two_rejection_rounds", "escalation", "withdrawal", "expiry"} <= names
    # Forged signals dropped, then a signed decision: the checks replay as they ran. And one
    # recorded before messages carried assertions, with resend_phone_code and nudge still
    # argument-less: it replays as it ran, unchecked.
    assert {"signed_decision", "before_assertions"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_replay(path: Path) -> None:
    replayer = Replayer(
        workflows=[RegistrationWorkflow],
        data_converter=converter(),
        workflow_runner=workflow_runner(strict=True),
        # As the worker runs them: signals and starts are checked again on replay.
        interceptors=replay_interceptors(),
    )
    history = load_history(path)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
