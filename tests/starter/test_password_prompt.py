"""No command takes a password as an argument: hash-password and register ask for it."""

from __future__ import annotations

from typer.testing import CliRunner

from domain import passwords
from starter.cli import app as cli


def test_hash_password_asks_twice_and_prints_only_the_hash() -> None:
    result = CliRunner().invoke(cli, ["hash-password"], input="Chen#Jing-2026\nChen#Jing-2026\n")
    assert result.exit_code == 0, result.output
    printed = result.stdout.strip()
    assert passwords.hash_refusal(printed) is None
    assert passwords.hasher().verify(printed, "Chen#Jing-2026")
    assert "Chen#Jing-2026" not in result.output


def test_a_password_is_no_option() -> None:
    for command in (["hash-password"], ["register"]):
        refused = CliRunner().invoke(cli, [*command, "--password", "Chen#Jing-2026"])
        assert refused.exit_code == 2 and "No such option" in refused.output
