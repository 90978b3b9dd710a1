"""The CLI's staff commands talk to the edge's JSON API, as the person who logged in.

`python -m starter login` asks for username and password once (hidden prompt, or two lines on
stdin when it is not a terminal) and keeps the session token in a 0600 file (JSHR_CLI_SESSION_FILE,
under var/); every staff command sends it as a bearer token, so the edge knows who acts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.table import Table

from config import Settings
from starter.shell import answer, console

COOKIES = ("jshr_staff", "__Host-jshr_staff")


def save_private(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 before anything is written into it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file)
    path.chmod(0o600)


def print_errors(answer: httpx.Response) -> None:
    try:
        errors = answer.json()["errors"]
    except (ValueError, KeyError, TypeError):
        console.print(f"[red]edge answered {answer.status_code}[/red]")
        return
    table = Table("code", "fields", "原因", title=f"refused ({answer.status_code})")
    for error in errors:
        table.add_row(error["code"], ", ".join(error.get("fields", [])), error["message_zh"])
    console.print(table)


def login(settings: Settings) -> None:
    username = answer("username", hide=False)
    password = answer("password", hide=True)
    with httpx.Client(base_url=settings.edge_url, timeout=30) as client:
        opened = client.post(
            "/api/v1/staff/session", json={"username": username, "password": password}
        )
        if opened.status_code != 200:
            print_errors(opened)
            raise typer.Exit(2)
        token = next(opened.cookies[name] for name in COOKIES if name in opened.cookies)
        body = opened.json()
        if body.get("second_factor") == "sms":
            code = answer(f"SMS code sent to {body['masked_phone']}", hide=False)
            confirmed = client.post(
                "/api/v1/staff/session/code",
                json={"challenge": body["challenge"], "code": code},
                headers={"Authorization": f"Bearer {token}"},
            )
            if confirmed.status_code != 200:
                print_errors(confirmed)
                raise typer.Exit(2)
    save_private(settings.cli_session_file, {"edge": settings.edge_url, "token": token})
    console.print(f"logged in as [bold]{body['username']}[/bold] at {settings.edge_url}")


def logout(settings: Settings) -> None:
    path = settings.cli_session_file
    if path.exists():
        try:
            call(settings, "DELETE", "/api/v1/staff/session")
        finally:
            path.unlink(missing_ok=True)
    console.print("logged out")


def codec_auth(settings: Settings) -> str:
    """`Bearer <the CLI's session token>`, for the `temporal` CLI's codec (TEMPORAL_CODEC_AUTH):
    the edge decodes for this person, if the account holds `payloads:decode`."""
    who = call(settings, "GET", "/api/v1/me")
    if "payloads:decode" not in {p["permission"] for p in who.get("permissions", [])}:
        console.print(f"[red]{who.get('username')} may not decode payloads[/red] (payloads:decode)")
        raise typer.Exit(2)
    saved = json.loads(settings.cli_session_file.read_text())
    return f"Bearer {saved['token']}"


def call(
    settings: Settings, method: str, path: str, *, json_body: dict[str, Any] | None = None
) -> Any:
    """One API call as the logged-in person; a refusal is printed and exits with 2."""
    session_file = settings.cli_session_file
    if not session_file.exists():
        console.print("[red]not logged in:[/red] run `python -m starter login` first")
        raise typer.Exit(2)
    saved = json.loads(session_file.read_text())
    with httpx.Client(base_url=saved["edge"], timeout=60) as client:
        answer = client.request(
            method, path, json=json_body, headers={"Authorization": f"Bearer {saved['token']}"}
        )
    if answer.status_code == 401:
        print_errors(answer)
        console.print("log in again: `python -m starter login`")
        raise typer.Exit(2)
    if answer.status_code >= 400:
        print_errors(answer)
        raise typer.Exit(2)
    if answer.headers.get("content-type", "").startswith("application/json"):
        return answer.json()
    return answer.content
