"""`python -m starter token …`: integrators' service tokens (scoped, hashed at rest)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from config import Settings
from edge.tokens import SCOPES, ServiceTokens, TokenError
from starter.shell import console, notes
from store.db import make_engine, make_sessions

token = typer.Typer(no_args_is_help=True, help="Service tokens for integrators' systems.")


T = TypeVar("T")


def _tokens_run(work: Callable[[ServiceTokens], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = make_engine(Settings().database_url, Settings().data_key)
        try:
            return await work(ServiceTokens(make_sessions(engine)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except TokenError as exc:
        console.print(f"[red]refused:[/red] {exc}")
        raise typer.Exit(2) from None


@token.command()
def create(
    name: Annotated[str, typer.Argument(help="the integrator's system, e.g. hr-portal")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"one of: {', '.join(SCOPES)} (repeatable)")
    ],
) -> None:
    """Make a token; it is printed once, only its hash is kept."""
    secret = _tokens_run(lambda tokens: tokens.create(name, scope))
    notes.print(f"token {name} ({', '.join(sorted(set(scope)))}); shown once, keep it secret:")
    print(secret)


@token.command()
def revoke(name: str) -> None:
    """Revoke a token: the edge refuses it from now on."""
    _tokens_run(lambda tokens: tokens.revoke(name))
    console.print(f"token {name} revoked")


@token.command("list")
def list_tokens() -> None:
    """Every token by name, with its scopes; never the token itself."""
    rows = _tokens_run(lambda tokens: tokens.list())
    table = Table("name", "scopes", "created", "revoked")
    for row in rows:
        table.add_row(
            row.name,
            ", ".join(row.scopes),
            row.created_at.isoformat(timespec="seconds"),
            row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "",
        )
    console.print(table if rows else "no service tokens")
