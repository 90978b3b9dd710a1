"""The CLI's applicant commands talk to the edge's JSON API as the applicant's browser does, so
that the edge alone vouches for the applicant (the CLI holds no signing key).

`register` posts the form and the photos as a browser would (anonymous CSRF token first); the
edge answers with the session it binds to the new registration. That session token is kept, by
workflow ID, in a 0600 file (JSHR_CLI_APPLICANT_FILE, under var/) and sent as a bearer token by
every later command for that registration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import typer

from config import Settings
from starter.edge_client import print_errors, save_private
from starter.shell import console

COOKIES = ("jshr_applicant", "__Host-jshr_applicant")


def _sessions(path: Path) -> dict[str, str]:
    found: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return found


def _refused(answer: httpx.Response) -> None:
    if answer.status_code >= 400:
        print_errors(answer)
        raise typer.Exit(2)


def start(settings: Settings, fields: dict[str, str], photos: dict[str, Path]) -> str:
    """A new registration (the form's fields, the photos' paths); its workflow ID."""
    with httpx.Client(base_url=settings.edge_url, timeout=120) as client:
        csrf = client.get("/api/v1/csrf")
        _refused(csrf)
        files = {field: (path.name, path.read_bytes()) for field, path in photos.items()}
        started = client.post(
            "/api/v1/registrations",
            data=fields,
            files=files,
            headers={"X-CSRF-Token": csrf.json()["csrf_token"]},
        )
        _refused(started)
    workflow_id: str = started.json()["workflow_id"]
    token = next(started.cookies[name] for name in COOKIES if name in started.cookies)
    path = settings.cli_applicant_file
    save_private(path, {**_sessions(path), workflow_id: token})
    return workflow_id


def call(
    settings: Settings,
    workflow_id: str,
    method: str,
    path: str = "",
    *,
    json_body: dict[str, Any] | None = None,
    fields: dict[str, str] | None = None,
    photos: dict[str, Path] | None = None,
) -> Any:
    """One API call on `/api/v1/registrations/<workflow_id><path>` as its applicant."""
    token = _sessions(settings.cli_applicant_file).get(workflow_id)
    if token is None:
        console.print(
            f"[red]no applicant session for {workflow_id} here:[/red] only the terminal that"
            " registered it acts for its applicant (or the pages' 查询注册进度)"
        )
        raise typer.Exit(2)
    files = {field: (file.name, file.read_bytes()) for field, file in (photos or {}).items()}
    with httpx.Client(base_url=settings.edge_url, timeout=120) as client:
        answer = client.request(
            method,
            f"/api/v1/registrations/{workflow_id}{path}",
            json=json_body,
            data=fields,
            files=files or None,
            headers={"Authorization": f"Bearer {token}"},
        )
    _refused(answer)
    return answer.json()
