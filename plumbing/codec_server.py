"""The remote codec server the Temporal Web UI (and `temporal --codec-endpoint`) decodes through.

POST /encode and /decode take and answer `{"payloads": [...]}` in protobuf JSON. Every POST needs
the token: as `Authorization: Bearer <token>` (the `temporal` CLI's `--codec-auth`), or as the
first path segment, `/<token>/decode`, for the Temporal UI, which sends no header of ours: the
UI of `make run` is given that endpoint, so whoever can open it (on this machine) reads payloads.
Browsers at the allowed origins get CORS headers (the preflight carries no credentials, so
OPTIONS is answered without the token).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from config import Settings
from plumbing.codec import CodecError, EncryptionCodec
from plumbing.connect import data_converter_for

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Convert = Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
MAX_BODY_BYTES = 16 * 1024 * 1024


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def make_app(
    codec: EncryptionCodec, *, token: str, allowed_origins: Sequence[str]
) -> web.Application:
    if not token:
        raise ValueError("the codec server needs a non-empty bearer token")
    expected = f"Bearer {token}".encode()
    origins = frozenset(allowed_origins)

    def authorized(request: web.Request) -> bool:
        given = request.headers.get(hdrs.AUTHORIZATION, "").encode()
        in_path = request.match_info.get("token", "").encode()
        return hmac.compare_digest(given, expected) | hmac.compare_digest(in_path, token.encode())

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method == hdrs.METH_OPTIONS and request.match_info.http_exception is None:
            response: web.StreamResponse = web.Response(status=204)
        elif not authorized(request):
            response = _error(
                401, "missing or wrong bearer token", {hdrs.WWW_AUTHENTICATE: "Bearer"}
            )
        else:
            response = await handler(request)
        origin = request.headers.get(hdrs.ORIGIN)
        response.headers[hdrs.VARY] = "Origin"
        if origin in origins:
            response.headers.update(
                {
                    hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
                    hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST, OPTIONS",
                    hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOWED_HEADERS,
                    hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS: "true",
                    hdrs.ACCESS_CONTROL_MAX_AGE: "600",
                }
            )
        return response

    def endpoint(convert: Convert) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                payloads = json_format.Parse(await request.read(), Payloads())
            except (json_format.ParseError, UnicodeDecodeError):
                return _error(400, 'the body must be {"payloads": [...]} in protobuf JSON')
            try:
                converted = await convert(payloads.payloads)
            except CodecError as err:
                return _error(400, str(err))
            body: dict[str, Any] = {"payloads": [json_format.MessageToDict(p) for p in converted]}
            return web.json_response(body)

        return handle

    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY_BYTES)
    for name, convert in (("encode", codec.encode), ("decode", codec.decode)):
        handle = endpoint(convert)
        for path in (f"/{name}", f"/{{token}}/{name}"):
            app.router.add_post(path, handle)
            app.router.add_route(hdrs.METH_OPTIONS, path, handle)  # answered by `guard`
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start `app` in the running event loop; stop it with `await runner.cleanup()`.

    With port 0 the bound address is in `runner.addresses`.
    """
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def start_codec_server(settings: Settings) -> web.AppRunner | None:
    if settings.codec_server_token is None:
        return None
    codec = data_converter_for(settings).payload_codec
    if not isinstance(codec, EncryptionCodec):
        return None
    app = make_app(
        codec,
        token=settings.codec_server_token.get_secret_value(),
        allowed_origins=settings.ui_origins(),
    )
    return await serve(app, settings.codec_server_host, settings.codec_server_port)
