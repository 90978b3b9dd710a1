"""Reading a page's form and showing its refusals at their fields.

A refusal names its fields (`Refusal.fields`); a page shows each message beside its field (tied
by `aria-describedby`), lists them all in a summary (`role="alert"`) and puts the focus on the
first field at fault.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, UploadFile

from domain import texts
from domain.contracts.base import Refusal
from edge.messages import EdgeRefused

# Fields some checks name differently from the form (domain.photos names the back `id_back`;
# verification refuses an outdated consent, which the form's notice box gives).
_ALIASES = {"id_back": "id_card_back", "id_front": "id_card_front", "consent": "accept_notice"}


@dataclass
class FormErrors:
    """Messages by field, in the form's order, and the summary's entries."""

    by_field: dict[str, str] = field(default_factory=dict)
    summary: list[tuple[str | None, str]] = field(default_factory=list)
    # The notice and policy changed since the applicant agreed: the summary links to it.
    notice_outdated: bool = False

    def __bool__(self) -> bool:
        return bool(self.summary)

    @property
    def first(self) -> str | None:
        return next((name for name, _ in self.summary if name), None)

    def get(self, name: str) -> str:
        return self.by_field.get(name, "")


def _field_of(refusal: Refusal | EdgeRefused, known: Sequence[str]) -> str | None:
    for name in refusal.fields:
        name = _ALIASES.get(name, name)
        if name in known:
            return name
    # A check over the whole application names no field; its code starts with the one it means.
    prefix = _ALIASES.get(refusal.code.split(".")[0], refusal.code.split(".")[0])
    return prefix if prefix in known else None


def form_errors(refusals: Iterable[Refusal | EdgeRefused], known: Sequence[str]) -> FormErrors:
    """Each refusal at the first of its fields that the form has (else only in the summary),
    the summary in the order of `known`."""
    errors = FormErrors()
    placed: list[tuple[int, str | None, str]] = []
    for refusal in refusals:
        name = _field_of(refusal, known)
        if name is not None:
            earlier = errors.by_field.get(name)
            if earlier == refusal.message_zh:
                continue
            errors.by_field[name] = (
                f"{earlier} {refusal.message_zh}" if earlier else refusal.message_zh
            )
        placed.append((known.index(name) if name else len(known), name, refusal.message_zh))
    errors.summary = [(name, message) for _, name, message in sorted(placed, key=lambda p: p[0])]
    return errors


def refusal(code: str, name: str, message_zh: str | None = None) -> Refusal:
    """A refusal of the page itself, from the edge's catalogue."""
    entry = texts.EDGE[code]
    return Refusal(code=code, fields=[name], message_zh=message_zh or entry.zh, message_en=entry.en)


def text(form: FormData, name: str, max_length: int = 256) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def values(form: FormData, names: Iterable[str]) -> dict[str, str]:
    return {name: text(form, name) for name in names}


async def upload(form: FormData, name: str, max_bytes: int) -> bytes:
    """The bytes of a file field; empty when none was chosen.

    Raises:
        EdgeRefused: `photo.upload_too_large` beyond `max_bytes` (nothing is read further).
    """
    value: Any = form.get(name)
    if not isinstance(value, UploadFile):
        return b""
    data = await value.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise EdgeRefused("photo.upload_too_large", fields=[name])
    return data
