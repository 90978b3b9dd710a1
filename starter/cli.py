"""`python -m starter …`: run the embedded system, register, decide, and look around."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from config import Settings
from domain import rules, texts
from domain.keys import applicant_key
from domain.roles import Role
from edge.intake import ApplicationForm, build_request
from starter import applicant_client as applicant
from starter.account_cli import account, permissions
from starter.calendar_cli import calendar
from starter.review_cli import review
from starter.shell import answer, connect_client, console, notes, run
from starter.token_cli import token
from store.db import make_engine, make_sessions
from store.documents import LocalDocumentStore
from store.models import OutboxMessage

app = typer.Typer(no_args_is_help=True, help="Jiangsu health-sector HR account registration.")
app.add_typer(review, name="review")
app.add_typer(account, name="account")
app.add_typer(permissions, name="permission")
app.add_typer(calendar, name="calendar")
app.add_typer(token, name="token")


@app.command()
def up() -> None:
    """Run the embedded system: Temporal dev server (with Web UI) and the worker. Ctrl-C stops."""
    from devtools.local import ensure_dev_secrets, run_system

    ensure_dev_secrets()
    asyncio.run(run_system(Settings()))


@app.command("dev-secrets")
def dev_secrets() -> None:
    """Make the embedded system's secrets into var/dev-secrets.env (0600), those it lacks; make
    every file under var/ 0600 and every folder 0700."""
    from devtools.local import ensure_dev_secrets, private_state

    private_state()
    ensure_dev_secrets()


@app.command()
def seed() -> None:
    """Insert the demo units, admins (passwords made once, kept in var/dev-admins.env, 0600),
    residents and invitation (idempotent)."""
    from devtools.local import DEV_ADMINS_FILE, demo_admin_passwords
    from store.seed import ADMINS, seed_demo

    usernames = [admin[0] for admin in ADMINS]
    try:
        passwords = demo_admin_passwords(usernames)
        kept = True
    except OSError:  # a read-only file system (a container): show them, once
        from devtools.local import demo_password

        passwords = {name: demo_password(name) for name in usernames}
        kept = False

    async def main(settings: Settings) -> None:
        engine = make_engine(settings.database_url, settings.data_key)
        await seed_demo(make_sessions(engine), settings, admin_passwords=passwords)
        await engine.dispose()

    run(main)
    console.print("demo data seeded")
    if not kept:
        console.print(f"demo admins (not saved: {DEV_ADMINS_FILE} is not writable):")
        for name, password in passwords.items():
            print(f"  {name:<16} {password}")


SMS_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


async def _workflow_input(
    settings: Settings, fields: dict[str, str], photos: dict[str, Path], fit_photos: bool
) -> str:
    """The input of a `temporal workflow start`, checked and built as the edge builds it (the
    password hashed), its photos stored. Printed, never written to a file: it holds the
    applicant's data in plaintext."""
    form = ApplicationForm.model_validate(
        {
            **{key: value for key, value in fields.items() if key != "fit_photos"},
            **{field: path.read_bytes() for field, path in photos.items()},
            "consented_at": datetime.now(UTC),
        }
    )
    application = build_request(
        form,
        today=date.today(),
        limits=settings.photo_limits(),
        ages=settings.applicant_ages,
        fit_photos=fit_photos,
    )
    store = LocalDocumentStore(settings.document_dir)
    for data in application.documents.values():
        await store.put(data, content_type="image")
    return application.request.model_dump_json()


@app.command()
def register(
    name: Annotated[str, typer.Option(help="real name, as on the ID card")],
    id_number: Annotated[str, typer.Option(help="18-character resident ID number")],
    phone: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    unit_code: Annotated[str, typer.Option(help="unified social credit code of the unit")],
    unit_name: Annotated[str, typer.Option()],
    username: Annotated[str, typer.Option()],
    id_card_front: Annotated[Path, typer.Option(help="photo of the ID card's portrait side")],
    id_card_back: Annotated[Path, typer.Option(help="photo of the ID card's emblem side")],
    fit_photos: Annotated[
        bool, typer.Option(help="re-encode oversized photos to fit the size limit")
    ] = False,
    role: Annotated[Role, typer.Option()] = Role.USER,
    invitation_code: Annotated[str | None, typer.Option()] = None,
    accept_notice: Annotated[bool, typer.Option(help="I have read the notice and policy")] = False,
    correct: Annotated[
        str | None, typer.Option(help="resubmit this corrected form to a registration ID")
    ] = None,
    print_request: Annotated[
        bool,
        typer.Option(
            help="store the photos and print the workflow input (password hashed) instead of"
            " starting: for `temporal workflow start --input` through the codec endpoint"
        ),
    ] = False,
) -> None:
    """Start a registration at the edge (JSHR_EDGE_URL), as the applicant's browser would, or
    with --correct resubmit a corrected one; asks for the account's password."""
    if not accept_notice:
        console.print(texts.CLI_NOTICE_NOT_ACCEPTED)
        raise typer.Exit(2)
    photos = {"id_card_front": id_card_front, "id_card_back": id_card_back}
    for field, path in photos.items():
        if not path.is_file():
            unreadable = texts.CLI_PHOTO_UNREADABLE.format(path=path, reason="not a file")
            console.print(f"[red]photo.unreadable[/red] {field}: {unreadable}")
            raise typer.Exit(2)
    settings = Settings()
    fields = {
        "name": name,
        "id_number": id_number,
        "phone": phone,
        "email": email,
        "unit_code": unit_code,
        "unit_name": unit_name,
        "username": username,
        "password": ask_password(),
        "requested_role": role.value,
        "notice_version": settings.notice_version,
        "fit_photos": str(fit_photos).lower(),
        **({"invitation_code": invitation_code} if invitation_code else {}),
    }
    if print_request:
        # Plain print: rich would wrap the JSON a `$(…)` hands to the temporal CLI.
        print(run(lambda settings: _workflow_input(settings, fields, photos, fit_photos)))
        return
    if correct:
        result = applicant.call(
            settings, correct, "POST", "/resubmission", fields=fields, photos=photos
        )
        console.print(f"round {result['round']}: {result['message_zh']}")
        return
    workflow_id = applicant.start(settings, fields, photos)
    notes.print("registration started:")
    print(workflow_id)


@app.command()
def status(workflow_id: str) -> None:
    """Show where a registration stands (masked; as the `status` query answers)."""
    console.print_json(data=applicant.call(Settings(), workflow_id, "GET"))


def _post(
    workflow_id: str,
    path: str,
    json_body: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
) -> None:
    """An applicant's message; the edge's answer, in Chinese."""
    answered = applicant.call(
        Settings(), workflow_id, "POST", path, json_body=json_body, fields=fields
    )
    console.print(answered["message_zh"])


@app.command()
def code(workflow_id: str, sms_code: str) -> None:
    """Answer the SMS code (the `submit_phone_code` Update)."""
    found = applicant.call(
        Settings(), workflow_id, "POST", "/phone-code", json_body={"code": sms_code}
    )
    console.print(found["message_zh"])


@app.command()
def resend(workflow_id: str) -> None:
    """Ask for a new SMS code (cooldown and hourly cap apply)."""
    console.print(
        applicant.call(Settings(), workflow_id, "POST", "/phone-code/resend")["message_zh"]
    )


@app.command()
def sign(
    workflow_id: str,
    typed_name: Annotated[str, typer.Option(help="your own name, typed as the confirmation")],
) -> None:
    """E-sign the application as it stands, confirming with one's own name typed (the pages
    offer a signature pad as well)."""
    fields = {"typed_confirmation": typed_name}
    console.print(
        applicant.call(Settings(), workflow_id, "POST", "/signature", fields=fields)["message_zh"]
    )


@app.command()
def nudge(workflow_id: str) -> None:
    """Urge the reviewers (at most once a day)."""
    _post(workflow_id, "/nudge")


@app.command()
def withdraw(workflow_id: str, reason: str = "") -> None:
    """Withdraw the application (the `withdraw` Signal)."""
    body = {"reason": reason}
    console.print(
        applicant.call(Settings(), workflow_id, "POST", "/withdrawal", json_body=body)["message_zh"]
    )


@app.command("sms-inbox")
def sms_inbox(
    phone: str,
    last_code: Annotated[
        bool, typer.Option(help="print only the newest verification code, for scripts")
    ] = False,
    wait: Annotated[
        float, typer.Option(help="with --last-code: seconds to wait for a code to arrive")
    ] = 0,
) -> None:
    """Developer view of the embedded SMS channel: messages sent to a number."""

    def codes_in(rows: list[OutboxMessage]) -> list[str]:
        return [found[-1] for row in rows if (found := SMS_CODE.findall(row.body))]

    async def main(settings: Settings) -> list[OutboxMessage]:
        engine = make_engine(settings.database_url, settings.data_key)
        deadline = asyncio.get_running_loop().time() + (wait if last_code else 0)
        while True:
            # A new session each time: one read transaction would keep seeing its snapshot.
            async with make_sessions(engine)() as session:
                rows = await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.channel == "sms", OutboxMessage.recipient_hmac == phone)
                    .order_by(OutboxMessage.created_at)
                )
                result = list(rows)
            if codes_in(result) or asyncio.get_running_loop().time() >= deadline:
                break
            await asyncio.sleep(0.5)
        await engine.dispose()
        return result

    received = run(main)
    if last_code:
        codes = codes_in(received)
        if not codes:
            console.print(f"no verification code was sent to {phone}")
            raise typer.Exit(1)
        print(codes[-1])
        return
    table = Table("sent at", "message")
    table.columns[1].overflow = "fold"
    for row in received:
        table.add_row(row.created_at.isoformat(timespec="seconds"), row.body)
    console.print(table)


@app.command("sample-photos")
def sample_photos(directory: Annotated[Path, typer.Argument()] = Path("var/samples")) -> None:
    """Write two synthetic ID-card photos (drawn shapes, invented text) to try `register` with."""
    from devtools.samples import card_jpeg

    directory.mkdir(parents=True, exist_ok=True)
    for side in ("front", "back"):
        (directory / f"id-card-{side}.jpg").write_bytes(card_jpeg(side))
    console.print(f"wrote {directory}/id-card-front.jpg and {directory}/id-card-back.jpg")


@app.command("upload-photo")
def upload_photo(
    path: Path,
    side: Annotated[str, typer.Option(help="id_card_front or id_card_back")] = "id_card_front",
    fit: Annotated[bool, typer.Option(help="re-encode an oversized photo to fit")] = False,
) -> None:
    """Check a photo, strip its metadata, store it; print the reference a request carries."""
    from domain.photos import clean_photo, fit_to_limit

    settings = Settings()
    limits = settings.photo_limits()
    data = path.read_bytes()
    try:
        if fit and len(data) > limits.max_bytes:
            data = fit_to_limit(data, limits=limits, field=side)
        photo = clean_photo(data, field=side, limits=limits)
    except rules.RuleViolation as exc:
        console.print(f"[red]{exc.code}[/red] {exc.message_zh}")
        raise typer.Exit(2) from None
    store = LocalDocumentStore(settings.document_dir)
    print(asyncio.run(store.put(photo.data, content_type=f"image/{photo.format.lower()}")))


@app.command()
def schema(directory: Annotated[Path, typer.Argument()] = Path("docs/schemas")) -> None:
    """Write the JSON Schemas of the workflow input and every handler payload."""
    from starter.contract import write_schemas

    for path in write_schemas(directory):
        console.print(str(path))


@app.command()
def openapi(path: Annotated[Path, typer.Argument()] = Path("docs/openapi.json")) -> None:
    """Write the edge's OpenAPI document (the JSON API under /api/v1)."""
    from edge.web.app import openapi_document

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(openapi_document(), encoding="utf-8")
    console.print(str(path))


@app.command("codec-endpoint")
def codec_endpoint() -> None:
    """Print where the `temporal` CLI encodes and decodes payloads (`--codec-endpoint`)."""
    endpoint = Settings().codec_endpoint()
    if endpoint is None:
        raise typer.BadParameter("set JSHR_CODEC_KEYS: payloads are not encrypted here")
    print(endpoint)


@app.command("codec-key")
def codec_key() -> None:
    """Print a new random payload-encryption key (base64) for JSHR_CODEC_KEYS."""
    from plumbing.codec import new_key

    print(new_key())


@app.command("assertion-key")
def assertion_key(
    key_id: Annotated[str, typer.Argument(help="a name for the key, e.g. k2026a")],
) -> None:
    """Print a new Ed25519 key pair for signed assertions: the private key for the edge
    (JSHR_ASSERTION_SIGNING_KEY), the public one for every worker (JSHR_ASSERTION_PUBLIC_KEYS)."""
    import re

    from domain.assertions import new_signing_key

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", key_id):
        raise typer.BadParameter("1-32 letters, digits, '_', '.' or '-'", param_hint="KEY_ID")
    private, public = new_signing_key(key_id)
    print(f"JSHR_ASSERTION_SIGNING_KEY={private}")
    print(f"JSHR_ASSERTION_PUBLIC_KEYS={public}")


@app.command()
def vouch(
    workflow_id: str,
    message: Annotated[str, typer.Argument(help="the Update or Signal, e.g. submit_phone_code")],
    input_json: Annotated[str, typer.Option("--input", help="its argument as JSON")] = "{}",
    actor: Annotated[
        str, typer.Option("--as", help="applicant, staff:<username> or service:<name>")
    ] = "applicant",
) -> None:
    """Print a message's JSON with the assertion the edge would sign for it (this round), for
    `temporal workflow update/signal --input`. Needs JSHR_ASSERTION_SIGNING_KEY: a tool for the
    embedded system, where `make run` made the key."""
    from pydantic import ValidationError

    from domain.assertions import Actor
    from domain.vouching import applicant_actor
    from starter.contract import message_model

    model = message_model(message)
    if model is None:
        raise typer.BadParameter(f"no Update or Signal {message!r}", param_hint="MESSAGE")
    kind, _, name = actor.partition(":")
    actors = {
        "applicant": Actor("applicant", applicant_actor(workflow_id)),
        "staff": Actor("staff", name),
        "service": Actor("service", actor),
    }
    if kind not in actors or (kind != "applicant") != bool(name):
        raise typer.BadParameter("applicant, staff:<username> or service:<name>", param_hint="--as")
    try:
        payload = model.model_validate_json(input_json)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc), param_hint="--input") from None

    async def main(settings: Settings) -> str:
        if settings.assertion_signer() is None:
            raise typer.BadParameter("JSHR_ASSERTION_SIGNING_KEY is not set")
        client = await connect_client(settings)
        signed = await client.vouched(workflow_id, message, payload, actor=actors[kind])
        return signed.model_dump_json()

    print(run(main))


@app.command("codec-auth")
def codec_auth() -> None:
    """Print `Bearer <token>` of the CLI's login (`python -m starter login`) for the temporal
    CLI's codec: `export TEMPORAL_CODEC_AUTH="$(python -m starter codec-auth)"`, never on a
    command line. Only for an account holding payloads:decode; it ends with the session."""
    from starter.edge_client import codec_auth as header

    print(header(Settings()))


@app.command("applicant-key")
def applicant_key_command(id_number: str) -> None:
    """Print the workflow ID for an ID number (for integrators starting with the temporal CLI)."""
    normalized = rules.check_id_number_format(id_number)
    print(f"registration-{applicant_key(Settings().applicant_key_secret, normalized)}")


def ask_password() -> str:
    """Asked for, hidden and twice; never an argument, which shell history and `ps` would keep."""
    # On stderr, so that `HASH=$(python -m starter hash-password)` captures the hash alone.
    return answer("password", hide=True, confirm=True)


@app.command("hash-password")
def hash_password() -> None:
    """Argon2id-hash a password (asked for, hidden) with the edge's parameters."""
    from domain import passwords

    print(passwords.hasher().hash(ask_password()))


@app.command()
def login() -> None:
    """Log in to the edge (JSHR_EDGE_URL) for the staff commands: username, then password
    (hidden; two lines on stdin when it is not a terminal), then an SMS code if asked."""
    from starter.edge_client import login as log_in

    log_in(Settings())


@app.command()
def logout() -> None:
    """End the CLI's session at the edge and forget it."""
    from starter.edge_client import logout as log_out

    log_out(Settings())


@app.command()
def demo() -> None:
    """Walk an invented applicant through to `completed` against the running system."""
    from devtools.demo import run_demo

    run(run_demo)
