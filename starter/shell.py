"""What every command shares: the console, settings, errors printed for people, the client."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import FailureError

from config import Settings
from domain.assertions import AssertionSigner
from domain.contracts.base import ApplicationRefused
from starter.client import RegistrationClient
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.verification import ApplicationChecks

console = Console()
# What a command prints for people beside a value that scripts capture with $(...).
notes = Console(stderr=True)
T = TypeVar("T")


def answer(prompt: str, *, hide: bool = False, confirm: bool = False) -> str:
    """A prompted answer: hidden at a terminal; otherwise one line read from stdin byte by byte,
    so that several commands of one script share the lines piped to it, each taking its own."""
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=hide, confirmation_prompt=confirm, err=True))
    lines = [_unbuffered_line(prompt) for _ in range(2 if confirm else 1)]
    if confirm and lines[0] != lines[1]:
        raise typer.BadParameter(f"the two {prompt} lines differ")
    return lines[0]


def _unbuffered_line(prompt: str) -> str:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, io.UnsupportedOperation):  # in-memory (tests): no one shares it
        line = sys.stdin.readline()
        ended = line.endswith("\n")
    else:
        read = bytearray()
        while (byte := os.read(fd, 1)) not in (b"", b"\n"):
            read += byte
        line, ended = read.decode(), byte == b"\n"
    if not line and not ended:
        raise typer.BadParameter(f"{prompt} expected on stdin")
    return line.rstrip("\r\n")


def run(make: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; refusals become a table and exit code 2, not a traceback."""
    settings = Settings()
    try:
        return asyncio.run(make(settings))
    except ApplicationRefused as refused:
        print_refusals(refused)
        raise typer.Exit(2) from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        console.print(
            f"[red]refused:[/red] {cause.message if isinstance(cause, FailureError) else exc}"
        )
        raise typer.Exit(2) from None


def print_refusals(refused: ApplicationRefused) -> None:
    table = Table("code", "fields", "原因", title="申请未通过校验 / application refused")
    for refusal in refused.refusals:
        table.add_row(refusal.code, ", ".join(refusal.fields), refusal.message_zh)
    console.print(table)


def signer(settings: Settings) -> AssertionSigner | None:
    """The edge's signing key, where this machine has it (`make run` makes one for the embedded
    system). The CLI then vouches for whoever its options name, as the edge does for whoever
    logged in: it is a tool for the embedded system and for operators, not for people."""
    found = settings.assertion_signer()
    if found is None:
        console.print(
            "[yellow]no JSHR_ASSERTION_SIGNING_KEY: messages go unsigned and the workers"
            " refuse them[/yellow]"
        )
    return found


async def connect_client(settings: Settings) -> RegistrationClient:
    from plumbing.connect import connect

    sessions = make_sessions(make_engine(settings.database_url, settings.data_key))
    documents = LocalDocumentStore(settings.document_dir)
    return RegistrationClient(
        await connect(settings),
        task_queue=settings.task_queue,
        applicant_key_secret=settings.applicant_key_secret,
        verifier=ApplicationChecks.embedded(sessions, settings),
        documents=documents,
        signer=signer(settings),
        ttl=timedelta(seconds=settings.assertion_ttl_seconds),
    )
