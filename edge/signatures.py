"""The applicant's e-signature (seed 三) over the application's digest: drawn by hand on the
page's pad, or, for those who cannot draw (or have no JavaScript), their own name typed as the
confirmation. The evidence goes to the document store and the workflow keeps its reference
with the digest (the `sign` Update, `store.models.Signature`). The JSON API and the page sign
through here."""

from __future__ import annotations

import base64
import binascii
import io
import json
from datetime import UTC, datetime

from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from domain import rules
from domain.assertions import Actor
from domain.contracts.registration import SignResult, Stage
from edge.messages import EdgeRefused
from edge.metrics import refused
from edge.registrations import Registrations

# What the applicant declares, shown above the signature and kept with a typed one.
DECLARATION = (
    "本人确认所填写的注册信息及上传的身份证照片真实、准确、完整,"
    "同意以本电子签名作为对上述申请内容(以申请摘要为准)的确认。"
)
MAX_BYTES = 512 * 1024
_DATA_URL = "data:image/png;base64,"
_MAX_SIDE = 2000
# The share of dark pixels below which the pad counts as empty (a stroke leaves far more).
_MIN_INK = 0.002


def _refuse(code: str, field: str) -> EdgeRefused:
    refused(code)
    return EdgeRefused(code, fields=[field])


def from_data_url(value: str) -> bytes:
    """The PNG of the page's pad (`canvas.toDataURL`)."""
    if not value.startswith(_DATA_URL) or len(value) > MAX_BYTES * 4 // 3 + len(_DATA_URL) + 4:
        raise _refuse("signature.unreadable", "signature")
    try:
        return base64.b64decode(value.removeprefix(_DATA_URL), validate=True)
    except binascii.Error:
        raise _refuse("signature.unreadable", "signature") from None


def drawing(data: bytes) -> bytes:
    """The drawn signature as a clean PNG: re-encoded, nothing but its pixels.

    Raises:
        EdgeRefused: `signature.unreadable`, or `signature.missing` for an empty pad.
    """
    try:
        with Image.open(io.BytesIO(data), formats=("PNG",)) as image:
            if max(image.size) > _MAX_SIDE or len(data) > MAX_BYTES:
                raise _refuse("signature.unreadable", "signature")
            image.load()
            flat = Image.new("RGBA", image.size, "white")
            flat.alpha_composite(image.convert("RGBA"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _refuse("signature.unreadable", "signature") from None
    gray = flat.convert("L")
    ink = ImageStat.Stat(ImageOps.invert(gray).point(lambda v: 255 if v > 96 else 0)).mean[0]
    if ink / 255 < _MIN_INK:
        raise _refuse("signature.missing", "signature")
    out = io.BytesIO()
    gray.save(out, "PNG", optimize=True)
    return out.getvalue()


def typed_evidence(name: str, digest: str, at: datetime) -> bytes:
    return json.dumps(
        {
            "method": "typed_name",
            "typed_name": name,
            "declaration": DECLARATION,
            "application_digest": digest,
            "signed_at": at.isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


async def sign(
    registrations: Registrations,
    workflow_id: str,
    *,
    actor: Actor,
    digest: str | None = None,
    drawn: bytes | None = None,
    typed_name: str | None = None,
) -> SignResult:
    """Keep the evidence and sign the application as it stands now. `digest`, when given, is
    the one the page showed: a correction made since makes it stale.

    Raises:
        EdgeRefused: `signature.outdated`, `signature.missing`, `signature.unreadable`,
            `signature.name_mismatch`, `registration.wrong_stage`, and the workflow's refusals.
    """
    status = await registrations.status(workflow_id)
    if status.stage != Stage.AWAITING_SIGNATURE:
        refused("registration.wrong_stage")
        raise EdgeRefused("registration.wrong_stage")
    if digest is not None and digest != status.application_digest:
        refused("signature.outdated")
        raise EdgeRefused("signature.outdated")
    if drawn:
        evidence, kind = drawing(drawn), "image/png"
    elif typed_name and typed_name.strip():
        own = (await registrations.application(workflow_id)).name
        try:
            typed = rules.normalize_name(typed_name)
        except rules.RuleViolation:
            typed = ""
        if typed != own:
            raise _refuse("signature.name_mismatch", "typed_name")
        evidence = typed_evidence(typed, status.application_digest, datetime.now(UTC))
        kind = "application/json"
    else:
        raise _refuse("signature.missing", "signature")
    ref = await registrations.documents.put(evidence, content_type=kind)
    return await registrations.sign(workflow_id, ref, actor=actor)
