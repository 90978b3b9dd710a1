"""`make run`'s secrets and demo logins: made once, kept 0600, never changed once made."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config import Settings
from devtools.local import (
    _read_env,
    demo_admin_passwords,
    dev_server_args,
    ensure_dev_secrets,
    private_state,
)
from domain import rules
from domain.assertions import AssertionVerifier, parse_signing_key, parse_trusted_keys


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_secret_is_made_once_into_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "dev-secrets.env"
    ensure_dev_secrets(path)
    first = _read_env(path)
    assert mode(path) == 0o600
    assert set(first) >= {
        "JSHR_APPLICANT_KEY_SECRET", "JSHR_PHONE_CODE_SECRET", "JSHR_DATA_KEY",
        "JSHR_CODEC_KEYS", "JSHR_CODEC_ACTIVE_KEY",
        "JSHR_ASSERTION_SIGNING_KEY", "JSHR_ASSERTION_PUBLIC_KEYS", "JSHR_SESSION_KEY",
    }  # fmt: skip
    ensure_dev_secrets(path)
    assert _read_env(path) == first
    # The key pair belongs together: what the edge signs, the workers' key verifies.
    signer = parse_signing_key(first["JSHR_ASSERTION_SIGNING_KEY"])
    verifier = AssertionVerifier(parse_trusted_keys(first["JSHR_ASSERTION_PUBLIC_KEYS"]))
    now = datetime.now(UTC)
    assertion = signer.sign(
        actor="admin_hospital", actor_kind="staff", workflow_id="w", message="decide",
        payload=None, now=now, ttl=timedelta(minutes=1),
    )  # fmt: skip
    assert (
        verifier.refusal(assertion, workflow_id="w", message="decide", payload=None, now=now)
        is None
    )
    # And they make valid settings.
    Settings(_env_file=str(path))


def test_the_ui_decodes_through_the_edge_and_its_url_holds_no_secret(tmp_path: Path) -> None:
    ensure_dev_secrets(path := tmp_path / "dev-secrets.env")
    settings = Settings(_env_file=str(path), temporal_db_file=tmp_path / "temporal.db")
    args = dev_server_args(settings)
    endpoint = args[args.index("--ui-codec-endpoint") + 1]
    # The UI resolves `decode` against it: the trailing slash keeps `/codec/` in the path.
    assert endpoint == f"{settings.edge_url}/codec/"
    public = {"JSHR_CODEC_ACTIVE_KEY", "JSHR_ASSERTION_PUBLIC_KEYS"}
    for name, value in _read_env(path).items():
        assert name in public or all(value not in arg for arg in args), name


def test_an_older_file_gets_what_it_lacks_and_keeps_what_it_has(tmp_path: Path) -> None:
    path = tmp_path / "dev-secrets.env"
    path.write_text("JSHR_CODEC_KEYS=dev1:abc\nJSHR_CODEC_ACTIVE_KEY=dev1\n")
    path.chmod(0o644)
    ensure_dev_secrets(path)
    made = _read_env(path)
    assert made["JSHR_CODEC_KEYS"] == "dev1:abc" and "JSHR_SESSION_KEY" in made
    assert mode(path) == 0o600


def test_settings_refuse_to_start_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JSHR_PHONE_CODE_SECRET")
    with pytest.raises(ValueError, match="JSHR_PHONE_CODE_SECRET is not set"):
        Settings(_env_file=None)


def test_the_demo_admins_passwords_are_random_policy_proof_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "dev-admins.env"
    names = ["admin_hospital", "sysadmin"]
    first = demo_admin_passwords(names, path)
    assert mode(path) == 0o600
    assert demo_admin_passwords(names, path) == first
    for name, password in first.items():
        rules.check_password(password, username=name, birth_date=None)
    other = demo_admin_passwords(names, tmp_path / "elsewhere.env")
    assert other != first


def test_everything_under_var_becomes_the_owners_alone(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "documents" / "ab").mkdir(parents=True)
    for path in (var / "app.db", var / "temporal.db-wal", var / "documents" / "ab" / "abc"):
        path.write_bytes(b"x")
        path.chmod(0o644)
    (var / "documents").chmod(0o755)
    before = os.umask(0o022)
    try:
        private_state(var)
        (var / "later.db").write_bytes(b"x")  # what the process creates afterwards
        (var / "later").mkdir()
    finally:
        os.umask(before)
    modes = {
        str(path.relative_to(var)): stat.S_IMODE(path.stat().st_mode) for path in var.rglob("*")
    }
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert modes == {
        "app.db": 0o600,
        "temporal.db-wal": 0o600,
        "later.db": 0o600,
        "later": 0o700,
        "documents": 0o700,
        "documents/ab": 0o700,
        "documents/ab/abc": 0o600,
    }
