"""The codec endpoint's service: payloads decrypted for one named person, audited, rate-limited.

The Temporal Web UI (with the operator's session cookie) and the `temporal` CLI (with the
operator's bearer session token) send `{"payloads": [...]}` in protobuf JSON. Only an active
account holding `payloads:decode` gets plaintext; each request is counted against that person
(`codec_decode_limit` per `codec_decode_window_seconds`, kept in the database so that every
replica counts the same) and leaves one `audit_events` row: who, which workflow where the
request says so, how many payloads, the namespace and the channel. Encoding is the CLI's alone
(a bearer token), since only a client that sends input needs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from google.protobuf import json_format
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import Payload, Payloads

from config import Settings
from domain.permissions import may
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.sessions import SessionStore
from edge.throttle import Throttle
from plumbing.codec import CodecError, EncryptionCodec
from plumbing.connect import data_converter_for
from store.models import Account, AuditEvent

DECODE_PERMISSION = "payloads:decode"
Direction = Literal["decode", "encode"]
# Workflow IDs of this system hold no personal data (HMACs, codes), but whatever a caller sends
# is only recorded if it looks like one: no spaces, bounded.
_WORKFLOW_ID = re.compile(r"[A-Za-z0-9._:@-]{1,200}")
# The UI's pages: /namespaces/<namespace>/workflows/<workflow id>/<run id>/...
_UI_WORKFLOW_PATH = re.compile(r"/namespaces/[^/]+/workflows/([^/]+)")
_NAMESPACE = re.compile(r"[A-Za-z0-9._-]{1,255}")


@dataclass(frozen=True)
class CodecRequest:
    """What the caller says about the request, apart from the payloads."""

    via: Literal["cookie", "bearer"]
    namespace: str | None = None
    workflow_id: str | None = None


def request_context(via: Literal["cookie", "bearer"], headers: Mapping[str, str]) -> CodecRequest:
    """The namespace (`X-Namespace`, sent by the UI and the CLI) and, when the request names
    one, the workflow: an `X-Workflow-Id` header (the CLI's `--codec-header`), else the UI
    page in the `Referer` (present only where the UI's referrer policy sends the path)."""
    namespace = headers.get("x-namespace")
    workflow_id = headers.get("x-workflow-id")
    if not workflow_id and (referer := headers.get("referer")):
        if match := _UI_WORKFLOW_PATH.search(urlsplit(referer).path):
            workflow_id = unquote(match.group(1))
    return CodecRequest(
        via=via,
        namespace=namespace if namespace and _NAMESPACE.fullmatch(namespace) else None,
        workflow_id=workflow_id if workflow_id and _WORKFLOW_ID.fullmatch(workflow_id) else None,
    )


def parse_payloads(body: Any) -> list[Payload]:
    try:
        return list(json_format.ParseDict(body, Payloads()).payloads)
    except (json_format.ParseError, TypeError, ValueError, AttributeError):
        refused("request.invalid")
        raise EdgeRefused("request.invalid", fields=["payloads"]) from None


class CodecGate:
    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        settings: Settings,
        store: SessionStore,
        codec: EncryptionCodec | None = None,
    ) -> None:
        if codec is None:
            found = data_converter_for(settings).payload_codec
            codec = found if isinstance(found, EncryptionCodec) else None
        self._codec = codec
        self._db = db
        self._store = store
        self._max_payloads = settings.codec_max_payloads
        self.throttle = Throttle(
            db,
            settings,
            store,
            prefix="codec",
            max_failures=settings.codec_decode_limit,
            window=timedelta(seconds=settings.codec_decode_window_seconds),
        )

    def _key(self, username: str) -> str:
        return self.throttle.key("person", username)

    async def convert(
        self,
        direction: Direction,
        account: Account,
        payloads: Sequence[Payload],
        context: CodecRequest,
    ) -> list[Payload]:
        """The payloads decrypted (or encrypted) for `account`, after the permission and the
        rate limit; audited whether it worked or not, once the person is known."""
        if not may(account, DECODE_PERMISSION):
            await self._audit(direction, account.username, "refused.not_operator", 0, context)
            refused("codec.not_operator")
            raise EdgeRefused("codec.not_operator")
        if direction == "encode" and context.via != "bearer":
            refused("codec.bearer_only")
            raise EdgeRefused("codec.bearer_only")
        if not payloads:
            return []  # nothing is read: neither counted nor audited
        if len(payloads) > self._max_payloads:
            refused("codec.too_many_payloads")
            raise EdgeRefused("codec.too_many_payloads", fields=["payloads"])
        key = self._key(account.username)
        if wait := await self.throttle.retry_after([key]):
            await self._audit(direction, account.username, "refused.throttled", 0, context)
            refused("codec.throttled")
            raise EdgeRefused("codec.throttled", retry_after=wait)
        await self.throttle.failed([key])  # counts the request, not a failure
        if self._codec is None:
            # Without keys the system stores plaintext: there is nothing to decrypt.
            converted = list(payloads)
        else:
            try:
                converter = self._codec.decode if direction == "decode" else self._codec.encode
                converted = await converter(payloads)
            except CodecError:
                await self._audit(direction, account.username, "refused.undecodable", 0, context)
                refused("codec.undecodable")
                raise EdgeRefused("codec.undecodable", fields=["payloads"]) from None
        await self._audit(direction, account.username, f"{direction}d", len(payloads), context)
        return converted

    async def _audit(
        self,
        direction: Direction,
        username: str,
        outcome: str,
        count: int,
        context: CodecRequest,
    ) -> None:
        detail = {"payloads": count, "via": context.via, "namespace": context.namespace}
        async with self._db.begin() as session:
            session.add(
                AuditEvent(
                    registration_id=context.workflow_id or "",
                    kind=f"codec.{direction}",
                    actor=username,
                    outcome=outcome,
                    detail=json.dumps(detail, sort_keys=True),
                    at=self._store.clock(),
                )
            )


def payloads_json(payloads: Sequence[Payload]) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}
