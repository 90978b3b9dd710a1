"""The edge: turn what an applicant typed into a `RegistrationRequest`, or say what is wrong.

The plaintext password stops here: it is checked against the policy and hashed with Argon2id,
and only the hash goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, create_model
from pydantic.fields import FieldInfo

from domain import passwords, rules
from domain.contracts.base import ApplicationRefused, Refusal, refusals_of
from domain.contracts.registration import PHOTO_FIELDS, Consent, RegistrationRequest
from domain.photos import CleanPhoto, PhotoLimits, check_pair, clean_photo, fit_to_limit
from store.documents import ref_of

DEFAULT_PHOTO_LIMITS = PhotoLimits()


# What the applicant types, as plain text under the request's own names: every field of
# `RegistrationRequest` but the photos (the form holds their bytes), the password hash (the form
# holds the password) and the consent (two fields of the form). Derived, so that a new field of
# the request reaches the form; its checks are the request's own, run by `build_request`, so that
# every field at fault gets its refusal.
TYPED_FIELDS = tuple(
    name
    for name in RegistrationRequest.model_fields
    if name not in {*PHOTO_FIELDS, "password_hash", "consent"}
)


def _as_typed(field: FieldInfo) -> tuple[Any, Any]:
    if field.is_required():
        return (str, ...)
    return (str | None if field.default is None else str, field.default)


_typed: dict[str, Any] = {
    name: _as_typed(RegistrationRequest.model_fields[name]) for name in TYPED_FIELDS
}
# Any to the type checker, which cannot see fields made at run time.
_TypedFields: Any = create_model("_TypedFields", __module__=__name__, **_typed)


class ApplicationForm(_TypedFields):
    """What the applicant typed, plaintext password included. Never leaves the client."""

    model_config = ConfigDict(hide_input_in_errors=True)  # it holds the plaintext password

    password: str
    id_card_front: bytes
    id_card_back: bytes
    notice_version: str
    consented_at: datetime
    # The separate consent PIPL art. 29 asks for the sensitive data (ID number, face photo).
    sensitive_consented_at: datetime | None = None


class Application(BaseModel):
    """A checked application: the workflow input, and the cleaned photos it refers to."""

    request: RegistrationRequest
    documents: dict[str, bytes]


def build_request(
    form: ApplicationForm,
    *,
    today: date,
    limits: PhotoLimits = DEFAULT_PHOTO_LIMITS,
    fit_photos: bool = False,
    ages: tuple[int, int] = (16, 75),
    keep: Mapping[str, str] | None = None,
) -> Application:
    """Validate every field, check the photos and the password policy, hash the password.

    Photos are checked and stripped of metadata here; with `fit_photos` an oversized one is
    re-encoded to fit the size limit first (the seed's advice). Nothing is stored yet.
    `keep` names photos of an earlier round that a correction keeps (field -> stored ref): the
    form then holds their stored bytes, checked again but not re-encoded, so that the reference
    (and the reviewer's "changed" mark) stays the same.

    Raises:
        ApplicationRefused: with one refusal per field at fault (codes and Chinese messages).
    """
    refusals: list[Refusal] = []
    typed: dict[str, Any] = form.model_dump(include=set(TYPED_FIELDS))
    photos: dict[str, CleanPhoto] = {}
    keep = keep or {}
    for field in PHOTO_FIELDS:
        try:
            photos[field] = check_photo(
                getattr(form, field), field, limits=limits, fit=fit_photos and field not in keep
            )
        except rules.RuleViolation as exc:
            refusals.append(_from_violation(exc))
    if len(photos) == 2:
        try:
            check_pair(photos["id_card_front"], photos["id_card_back"])
        except rules.RuleViolation as exc:
            refusals.append(_from_violation(exc))
    birth: date | None = None
    try:
        number = rules.normalize_id_number(
            typed["id_number"], today=today, min_age=ages[0], max_age=ages[1]
        )
        birth = rules.birth_date_of(number)
    except rules.RuleViolation as exc:
        refusals.append(_from_violation(exc))
    try:
        rules.check_password(form.password, username=typed["username"], birth_date=birth)
    except rules.RuleViolation as exc:
        refusals.append(_from_violation(exc))
    # A refused photo still needs a well-formed reference so the other fields get checked.
    refs = {
        field: keep.get(field)
        or (ref_of(photos[field].data) if field in photos else ref_of(field.encode()))
        for field in PHOTO_FIELDS
    }
    try:
        request = RegistrationRequest(
            **typed,
            **refs,
            password_hash=passwords.hasher().hash(form.password) if not refusals else _PLACEHOLDER,
            consent=Consent(
                notice_version=form.notice_version,
                consented_at=form.consented_at,
                sensitive_consented_at=form.sensitive_consented_at,
            ),
        )
    except ValidationError as exc:
        refusals += refusals_of(exc, whole="application")
        request = None
    if refusals or request is None:
        raise ApplicationRefused(_dedupe(refusals))
    documents = {refs[field]: photo.data for field, photo in photos.items() if field not in keep}
    return Application(request=request, documents=documents)


def check_photo(
    data: bytes, field: str, *, limits: PhotoLimits = DEFAULT_PHOTO_LIMITS, fit: bool = False
) -> CleanPhoto:
    """One ID-card photo as `build_request` checks it (a page asks as soon as it is chosen).

    Raises:
        rules.RuleViolation: what to retake, in Chinese, with `field` set.
    """
    if fit and len(data) > limits.max_bytes:
        data = fit_to_limit(data, limits=limits, field=field)
    return clean_photo(data, field=field, limits=limits)


# The typed fields a page checks one at a time, as the applicant leaves each; the ID number
# and the password by the rules `build_request` applies, the others by the request's own types.
FIELD_CHECKS = (*TYPED_FIELDS, "password")


@cache
def _adapter(field: str) -> TypeAdapter[Any]:
    info = RegistrationRequest.model_fields[field]
    return TypeAdapter(Annotated[info.annotation, info])  # type: ignore[arg-type]


def check_field(
    field: str, values: Mapping[str, str], *, today: date, ages: tuple[int, int] = (16, 75)
) -> Refusal | None:
    """The refusal of one field of the form, by the rules `build_request` applies to it: the
    page's check as the applicant leaves a field, so the page never keeps a copy of a rule.

    `values` holds what the form has so far (the password's policy depends on the username and
    the birth date in the ID number). Raises KeyError for a field not in FIELD_CHECKS.
    """
    if field not in FIELD_CHECKS:
        raise KeyError(field)
    value = values.get(field, "")
    try:
        if field == "id_number":
            rules.normalize_id_number(value, today=today, min_age=ages[0], max_age=ages[1])
        elif field == "password":
            rules.check_password(
                value,
                username=values.get("username", "").strip(),
                birth_date=_birth_date(values.get("id_number", "")),
            )
        else:
            optional = not RegistrationRequest.model_fields[field].is_required()
            _adapter(field).validate_python(value or None if optional else value)
    except rules.RuleViolation as exc:
        return _from_violation(exc)
    except ValidationError as exc:
        return refusals_of(exc, whole=field)[0]
    return None


def _birth_date(id_number: str) -> date | None:
    try:
        return rules.birth_date_of(rules.check_id_number_format(id_number))
    except rules.RuleViolation:
        return None


# Lets the other fields be validated when the password already failed, without hashing it.
_PLACEHOLDER = "$argon2id$v=19$m=65536,t=3,p=4$" + "A" * 22 + "$" + "A" * 43


def _from_violation(exc: rules.RuleViolation) -> Refusal:
    return Refusal(
        code=exc.code, fields=[exc.field], message_zh=exc.message_zh, message_en=exc.message_en
    )


def _dedupe(refusals: list[Refusal]) -> list[Refusal]:
    seen: dict[tuple[str, tuple[str, ...]], Refusal] = {}
    for refusal in refusals:
        seen.setdefault((refusal.code, tuple(refusal.fields)), refusal)
    return list(seen.values())
