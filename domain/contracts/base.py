"""Building blocks every contract shares: the message base class, the field types that
carry `domain.rules`, refusals, and the account as workflows report it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from domain import passwords, rules, texts
from domain.assertions import Assertion
from domain.roles import Role


class Message(BaseModel):
    # Errors never echo the input: they end up in workflow histories and logs, and the input is
    # personal data.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)


class Vouched(Message):
    """The argument of a message that carries nothing but the edge's word for who sends it
    (`resend_phone_code`, `nudge`). Every message that changes a registration or a grant has an
    `assertion`: the edge's signed statement of who sent it (`domain.assertions`)."""

    assertion: Assertion | None = None


def _rule(check: Callable[[str], str]) -> AfterValidator:
    """Adapt a `domain.rules` normaliser so that its refusal keeps its code and Chinese text."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except rules.RuleViolation as exc:
            raise PydanticCustomError(
                exc.code, exc.message_en, {"message_zh": exc.message_zh}
            ) from None

    return AfterValidator(validate)


def contract_error(key: str) -> PydanticCustomError:
    """A validator's refusal from `domain.texts.CONTRACTS`: its code, English and Chinese text."""
    zh, en = texts.CONTRACTS[key]
    return PydanticCustomError(".".join(key.split(".")[:2]), en, {"message_zh": zh})


def _argon2id(value: str) -> str:
    # The edge hashes the password before anything starts: a plaintext, or a hash cheaper to
    # crack than the edge's own (domain.passwords), is refused.
    refused = passwords.hash_refusal(value)
    if refused is not None:
        raise contract_error(refused)
    return value


# Characters a person cannot see or that change how the text around them is shown: controls
# (NUL made PostgreSQL refuse an audit row forever), format characters (the bidirectional
# overrides that reorder an ID on screen, zero-width spaces and joiners, the BOM), line and
# paragraph separators, surrogates, private-use and unassigned code points. The middle dot of
# minority names (U+00B7, punctuation) is none of these.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def hidden_character(value: str, *, multiline: bool = False) -> str | None:
    """The first character of `value` that a person cannot see, if any (a page's form check)."""
    allowed = "\n" if multiline else ""
    return next(
        (c for c in value if c not in allowed and unicodedata.category(c) in _HIDDEN_CATEGORIES),
        None,
    )


def _visible(*, multiline: bool) -> AfterValidator:
    def validate(value: str) -> str:
        if (char := hidden_character(value, multiline=multiline)) is not None:
            zh, en = texts.CONTRACTS["text.hidden_character"]
            raise PydanticCustomError(
                "text.hidden_character", f"{en} (U+{ord(char):04X})", {"message_zh": zh}
            )
        return value

    return AfterValidator(validate)


# One line that a person reads or types: identifiers, names, codes.
PlainText = Annotated[str, _visible(multiline=False)]
# What a person writes in a text area (comments, reasons): line breaks allowed.
FreeText = Annotated[str, _visible(multiline=True)]


# Each field type is capped well above its rule's own limit: a plausible mistake still gets
# the rule's specific code, and an absurd value is refused before any rule reads it.
Name = Annotated[PlainText, Field(max_length=64), _rule(rules.normalize_name)]


IdNumber = Annotated[str, Field(max_length=32), _rule(rules.check_id_number_format)]


Mobile = Annotated[str, Field(max_length=32), _rule(rules.normalize_mobile)]


UnitCode = Annotated[str, Field(max_length=32), _rule(rules.normalize_unit_code)]


Username = Annotated[str, Field(max_length=64), _rule(rules.normalize_username)]


PasswordHash = Annotated[str, Field(max_length=256), AfterValidator(_argon2id)]


# A photo in the document store, by content: photos never travel in payloads.
DocumentRef = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]


class Refusal(Message):
    """Why a check failed: a stable code, the fields at fault, and messages for people."""

    code: str
    fields: list[str] = []
    message_zh: str
    message_en: str


class Account(Message):
    username: str
    role: Role
    unit_code: str
    permissions: list[str]


class AuditEntry(Message):
    at: datetime
    kind: str
    actor: str
    outcome: str


# A request ID is the client's (lower-case hex or digits): it ends the workflow ID, so no dashes.
RequestId = Annotated[str, Field(pattern=r"^[a-z0-9]{6,40}$")]


PermissionName = Annotated[str, Field(pattern=r"^[a-z_]{1,30}:[a-z_]{1,30}$")]


def refusals_of(error: ValidationError, *, whole: str) -> list[Refusal]:
    """A validation error as refusals, one per error; `whole` names the field of an error about
    the whole message. The Chinese text is the check's own, else the catalogue's for the field."""
    refusals = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"]) or whole
        kind = detail["type"]
        message_zh = (detail.get("ctx") or {}).get("message_zh") or texts.FIELD_INVALID_ZH.get(
            field, texts.FIELD_INVALID_ZH_ANY.format(field=field)
        )
        refusals.append(
            Refusal(
                code=kind if "." in kind else f"{field}.{kind}",
                fields=[field],
                message_zh=message_zh,
                message_en=detail["msg"],
            )
        )
    return refusals


class ApplicationRefused(Exception):
    """The application was refused before anything started; nothing was written."""

    def __init__(self, refusals: list[Refusal]) -> None:
        super().__init__("; ".join(f"{r.code}: {r.message_en}" for r in refusals))
        self.refusals = refusals
