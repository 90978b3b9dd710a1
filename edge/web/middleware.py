"""Pure ASGI middleware: security headers on every answer, an access log without personal data,
the refusal of cross-site state-changing requests, and the codec endpoint's CORS."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edge.messages import EdgeRefused
from edge.metrics import refused

access_log = logging.getLogger("edge.access")
error_log = logging.getLogger("edge.errors")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "frame-ancestors 'none'; form-action 'self'"
)
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class SecurityHeaders:
    """CSP without inline script, nosniff, same-origin referrers; `no-store` on everything but
    the static files, since any other answer may carry personal data or a session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"pragma")
                ]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cache-control", b"public, max-age=3600" if static else b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One line per request: method, the route's template (never the path itself, which may
    hold an ID, nor the query string), status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "(unmatched)"
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                template,
                status,
                (time.perf_counter() - started) * 1000,
            )


class Unexpected:
    """An error no handler knew: a 500 in the edge's shape, and a log line with its type and the
    route only (its message, its traceback's, may quote what was sent: personal data)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def record(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, record)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            error_log.error("unexpected %s on %s %s", type(exc).__name__, scope["method"], route)
            if not started:
                await _refuse(send, EdgeRefused("server.error"))


class CrossSiteGuard:
    """A state-changing request a browser sent from another site is refused before any route
    runs: what a CSRF token cannot cover (a login, an anonymous JSON post) is covered here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in _SAFE
            and not scope["path"].startswith(CODEC_PREFIX)  # `CodecCors` has its own rule
            and _cross_site(scope)
        ):
            refused("csrf.origin")
            await _refuse(send, EdgeRefused("csrf.origin"))
            return
        await self.app(scope, receive, send)


CODEC_PREFIX = "/codec/"
CODEC_ALLOWED_HEADERS = "Content-Type, X-Namespace, X-Workflow-Id"


class CodecCors:
    """The codec endpoint is called by the Temporal UI from its own origin, with the operator's
    session cookie (`credentials: include`). Exactly the configured origins may do so: their
    preflight is answered with `Access-Control-Allow-Credentials`, and their answers carry
    `Access-Control-Allow-Origin: <that origin>` (never `*`, which browsers refuse with
    credentials anyway). Any other origin is refused before a route runs, preflight or not; a
    request with no Origin (the CLI) passes to the route, which wants a bearer token or cookie.
    """

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(CODEC_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(CODEC_PREFIX + "/"):
            # One endpoint, `…/codec/`, for both clients: the UI resolves `decode` against it,
            # the CLI appends `/decode` to it (`…/codec//decode`).
            path = CODEC_PREFIX + scope["path"].lstrip("/").removeprefix("codec").lstrip("/")
            scope = {**scope, "path": path, "raw_path": path.encode()}
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if origin is not None and origin not in self.origins:
            refused("codec.origin")
            await _refuse(send, EdgeRefused("codec.origin"))
            return
        cors = (
            [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-credentials", b"true"),
                (b"vary", b"Origin"),
            ]
            if origin
            else [(b"vary", b"Origin")]
        )
        if scope["method"] == "OPTIONS":
            if origin is None or headers.get("access-control-request-method") != "POST":
                await _refuse(send, EdgeRefused("request.method"))
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": cors
                    + [
                        (b"access-control-allow-methods", b"POST"),
                        (b"access-control-allow-headers", CODEC_ALLOWED_HEADERS.encode()),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        await self.app(scope, receive, with_cors)


def _cross_site(scope: Scope) -> bool:
    headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
    if headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = headers.get("origin")
    if not origin:
        return False
    if origin == "null":
        return True
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


async def _refuse(send: Send, exc: EdgeRefused) -> None:
    body = json.dumps(error_body([exc]), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-store")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def error_body(refusals: list[Any]) -> dict[str, Any]:
    return {
        "errors": [
            {
                "code": r.code,
                "fields": list(r.fields),
                "message_zh": r.message_zh,
                "message_en": r.message_en,
            }
            for r in refusals
        ]
    }
