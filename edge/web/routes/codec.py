"""The codec endpoint: `/codec/decode` for the Temporal Web UI and the `temporal` CLI, and
`/codec/encode` for the CLI only. Point the UI's codec setting (and `--codec-endpoint`) at
`http://<edge>/codec/`; the trailing slash is part of it. Cross-origin rules: `CodecCors`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from edge.codec import Direction, parse_payloads, payloads_json, request_context
from edge.web.deps import CodecStaff, Services
from edge.web.errors import responses

router = APIRouter(prefix="/codec", tags=["codec"])


class CodecPayload(BaseModel):
    """A Temporal `Payload` in protobuf JSON: metadata values and data in base64."""

    model_config = ConfigDict(extra="allow")

    metadata: dict[str, str] = Field(default_factory=dict)
    data: str = ""


class CodecPayloads(BaseModel):
    # Protobuf JSON leaves an empty list out: the CLI sends `{}` for a query without arguments.
    payloads: list[CodecPayload] = Field(default_factory=list)


async def _convert(
    direction: Direction, body: CodecPayloads, request: Request, staff: CodecStaff, edge: Services
) -> CodecPayloads:
    payloads = parse_payloads(body.model_dump(exclude_unset=True))
    context = request_context("cookie" if staff.via_cookie else "bearer", request.headers)
    converted = await edge.codec.convert(direction, staff.account, payloads, context)
    return CodecPayloads.model_validate(payloads_json(converted))


@router.post("/decode", responses=responses(401, 403, 413, 429))
async def decode(
    body: CodecPayloads, request: Request, staff: CodecStaff, edge: Services
) -> CodecPayloads:
    """Decrypts payloads for a logged-in account holding `payloads:decode`: by the session
    cookie (the Temporal UI, with "include cross-origin credentials") or `Authorization: Bearer
    <session token>` (the CLI's `--codec-auth`). Each request is audited and rate-limited."""
    return await _convert("decode", body, request, staff, edge)


@router.post("/encode", responses=responses(401, 403, 413, 429))
async def encode(
    body: CodecPayloads, request: Request, staff: CodecStaff, edge: Services
) -> CodecPayloads:
    """Encrypts the input of `temporal workflow start/signal/update --codec-endpoint`: bearer
    session tokens of accounts holding `payloads:decode` only, never a browser's cookie."""
    return await _convert("encode", body, request, staff, edge)
