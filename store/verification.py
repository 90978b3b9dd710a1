"""Cross-checks of an application against the database and the document store: what a form rule
alone cannot know. The verification activity runs them; the edge runs them before it starts a
workflow, so that a refused application starts nothing and stores nothing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from config import Settings
from domain import rules, texts
from domain.contracts.base import Refusal
from domain.contracts.internal import (
    ProcessPolicy,
    VerificationInput,
    VerificationResult,
)
from domain.contracts.registration import PHOTO_FIELDS, UNDECLARED_FIELDS, RegistrationRequest
from domain.keys import applicant_key, keyed_hash
from domain.photos import PhotoLimits, check_pair, clean_photo
from domain.roles import Role
from store.db import insert_new
from store.documents import DocumentStore, LocalDocumentStore, ref_of
from store.identity import IdentityAnswer, IdentityProvider, LocalIdentityProvider
from store.models import Account, Invitation, PhotoCheck, Unit

# Part of every `photo_check_key`: raise it when `domain.photos`' checks change, so that pairs
# passed under the old checks are checked again.
PHOTO_CHECKS_VERSION = 1


def photo_check_key(limits: PhotoLimits) -> str:
    """What a pass in `photo_checks` holds for: these limits, this version of the checks."""
    return hashlib.sha256(f"{PHOTO_CHECKS_VERSION}:{limits!r}".encode()).hexdigest()


def application_digest(request: RegistrationRequest) -> str:
    """SHA-256 over the canonical application: what an e-signature declares to be true."""
    canonical = request.model_dump_json(exclude=set(UNDECLARED_FIELDS))
    return hashlib.sha256(canonical.encode()).hexdigest()


def signature_required(unit: Unit | None, role: Role) -> bool:
    """The e-signature policy (seed 三): per unit, and always for a unit-admin application."""
    return role == Role.UNIT_ADMIN or bool(unit and unit.requires_signature)


def _refusal(code: str, fields: list[str], **params: str) -> Refusal:
    """The refusal of a `domain.texts.VERIFICATION` code, its placeholders filled in."""
    zh, en = texts.VERIFICATION[code]
    return Refusal(
        code=code, fields=fields, message_zh=zh.format(**params), message_en=en.format(**params)
    )


def _violated(exc: rules.RuleViolation, fields: list[str]) -> Refusal:
    return Refusal(
        code=exc.code, fields=fields, message_zh=exc.message_zh, message_en=exc.message_en
    )


class ApplicationChecks:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        documents: DocumentStore,
        identity: IdentityProvider,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._documents = documents
        self._identity = identity

    @classmethod
    def embedded(
        cls, sessions: async_sessionmaker[AsyncSession], settings: Settings
    ) -> ApplicationChecks:
        """With the embedded document store and the local identity provider."""
        return cls(
            sessions,
            settings,
            LocalDocumentStore(settings.document_dir),
            LocalIdentityProvider(sessions, settings.applicant_key_secret),
        )

    async def check(
        self, inp: VerificationInput, pending_documents: Mapping[str, bytes] | None = None
    ) -> VerificationResult:
        """Every check; the edge runs them before it stores photos, handing those in as
        `pending_documents`."""
        request = inp.request
        refusals: list[Refusal] = []
        try:
            rules.normalize_id_number(
                request.id_number,
                today=inp.at.date(),
                min_age=self._settings.applicant_min_age,
                max_age=self._settings.applicant_max_age,
            )
        except rules.RuleViolation as exc:
            refusals.append(_violated(exc, [exc.field]))
        if applicant_key(self._settings.applicant_key_secret, request.id_number) != (
            inp.applicant_key
        ):
            refusals.append(_refusal("applicant_key.mismatch", ["id_number"]))
        if request.consent.notice_version != self._settings.notice_version:
            refusals.append(
                _refusal("consent.outdated", ["consent"], version=request.consent.notice_version)
            )
        # The identity provider opens a session of its own: asked while this one holds a pooled
        # connection, 15 registrations at once at the edge held the whole pool and waited for a
        # second connection until the pool's 30 s timeout.
        identity = await self._check_identity(request)
        async with self._sessions() as session:
            passed = await self._photos_passed(session, request)
            unit = await session.get(Unit, request.unit_code)
            refusals += self._check_unit(unit, request.unit_name)
            refusals += identity
            refusals += await self._check_uniqueness(session, request, inp.applicant_key)
            if request.requested_role == Role.UNIT_ADMIN:
                refusals += await self._check_invitation(session, request, inp.registration_id)
        # After the session: decoding takes a while, and must hold no pooled connection.
        photo_refusals, newly_passed = await self._check_photos(
            request, pending_documents or {}, passed
        )
        refusals[:0] = photo_refusals
        if newly_passed is not None and not refusals:
            # Only for an application that passed whole: a refused one starts nothing, and
            # leaves nothing about its photos behind.
            async with self._sessions.begin() as session:
                await session.execute(insert_new(session, PhotoCheck).values(**newly_passed))
        return VerificationResult(
            refusals=refusals,
            requires_signature=signature_required(unit, request.requested_role),
            application_digest=application_digest(request),
            policy=self._policy(),
        )

    def _policy(self) -> ProcessPolicy:
        settings = self._settings
        return ProcessPolicy(
            phone_step_timeout_seconds=settings.phone_step_timeout_hours * 3600,
            correction_window_seconds=settings.correction_window_days * 86400,
            max_review_rounds=settings.max_review_rounds,
            continue_as_new_between_rounds=settings.continue_as_new_between_rounds,
        )

    async def _photos_passed(self, session: AsyncSession, request: RegistrationRequest) -> bool:
        """Whether this pair of photos passed the checks under the current limits."""
        passed = await session.scalar(
            select(PhotoCheck.checked_at).where(
                PhotoCheck.front_ref == request.id_card_front,
                PhotoCheck.back_ref == request.id_card_back,
                PhotoCheck.limits == photo_check_key(self._settings.photo_limits()),
            )
        )
        return passed is not None

    async def _check_photos(
        self, request: RegistrationRequest, pending: Mapping[str, bytes], passed: bool
    ) -> tuple[list[Refusal], dict[str, object] | None]:
        """The stored photos themselves, whoever started the workflow and with what refs; and
        the `photo_checks` row to write when they passed here.

        A pair that `passed` before (the edge's pre-check, an earlier round) is not decoded
        again: its refs are content addresses, so the same refs are the same bytes. It must
        still be stored (the purge may have deleted it)."""
        limits = self._settings.photo_limits()
        refs = {field: getattr(request, field) for field in PHOTO_FIELDS}
        if passed:
            missing = [
                _refusal("photo.missing", [field], ref=ref)
                for field, ref in refs.items()
                if ref not in pending and not await self._documents.exists(ref)
            ]
            return missing, None
        photos = {}
        refusals = []
        content_addressed = True
        for field, ref in refs.items():
            try:
                data = pending.get(ref) or await self._documents.get(ref)
                content_addressed &= ref_of(data) == ref
                # Decoding and the sharpness filter are CPU work: off the event loop, which
                # every other activity of this worker shares.
                photos[field] = await asyncio.to_thread(
                    clean_photo, data, field=field, limits=limits
                )
            except FileNotFoundError:
                refusals.append(_refusal("photo.missing", [field], ref=ref))
            except rules.RuleViolation as exc:
                refusals.append(_violated(exc, [field]))
        if len(photos) == 2:
            try:
                check_pair(photos["id_card_front"], photos["id_card_back"])
            except rules.RuleViolation as exc:
                refusals.append(_violated(exc, [exc.field]))
        # Only bytes that are what their refs name: a caller's documents under other refs
        # must not vouch for those refs.
        if refusals or not content_addressed:
            return refusals, None
        return refusals, {
            "front_ref": refs["id_card_front"],
            "back_ref": refs["id_card_back"],
            "limits": photo_check_key(limits),
            "checked_at": datetime.now(UTC),
        }

    async def unit_refusals(self, unit_code: str, unit_name: str) -> list[Refusal]:
        """The unit check alone: a page asks it as the applicant leaves the unit's fields."""
        async with self._sessions() as session:
            return self._check_unit(await session.get(Unit, unit_code), unit_name)

    async def username_refusals(self, username: str, name: str, id_number: str) -> list[Refusal]:
        """The username check alone: taken, with free alternatives when the name and the ID
        number make a suggestion (a page asks as the applicant leaves the field)."""
        async with self._sessions() as session:
            if await session.get(Account, username) is None:
                return []
            suggestion = await self._free_username(session, name, id_number)
        taken = _refusal("username.taken", ["username"], suggestions=", ".join(suggestion))
        if not suggestion:  # the text's "可以使用:" would end in nothing
            taken = taken.model_copy(update={"message_zh": taken.message_zh.split(",")[0]})
        return [taken]

    async def free_usernames(self, name: str, id_number: str) -> list[str]:
        """Name pinyin + birth year and its free alternatives (seed 二: the suggested username)."""
        async with self._sessions() as session:
            return await self._free_username(session, name, id_number)

    @staticmethod
    def _check_unit(unit: Unit | None, unit_name: str) -> list[Refusal]:
        if unit is None or not unit.active:
            return [_refusal("unit.unknown", ["unit_code"])]
        if unit.name != unit_name.strip():
            return [_refusal("unit.name_mismatch", ["unit_name", "unit_code"])]
        return []

    async def _check_identity(self, request: RegistrationRequest) -> list[Refusal]:
        """Real-name check. "Unavailable" raises, so Temporal retries the activity with backoff."""
        answer = await self._identity.check(request.name, request.id_number)
        if answer == IdentityAnswer.UNAVAILABLE:
            raise ApplicationError("identity provider unavailable", type="IdentityUnavailable")
        if answer == IdentityAnswer.MISMATCH:
            return [_refusal("identity.mismatch", ["name", "id_number"])]
        return []

    async def _check_uniqueness(
        self, session: AsyncSession, request: RegistrationRequest, key: str
    ) -> list[Refusal]:
        # One look-up for the three unique keys an application must not collide with.
        same_phone = Account.phone_hmac == request.phone
        holders = (
            await session.execute(
                select(
                    Account.username, Account.applicant_key, same_phone.label("same_phone")
                ).where(
                    or_(
                        Account.applicant_key == key,
                        Account.username == request.username,
                        same_phone,
                    )
                )
            )
        ).all()
        refusals = []
        if any(holder.applicant_key == key for holder in holders):
            refusals.append(_refusal("applicant.already_registered", ["id_number"]))
        if any(holder.username == request.username for holder in holders):
            suggestion = await self._free_username(session, request.name, request.id_number)
            refusals.append(
                _refusal("username.taken", ["username"], suggestions=", ".join(suggestion))
            )
        if any(holder.same_phone and holder.applicant_key != key for holder in holders):
            refusals.append(_refusal("phone.bound", ["phone"]))
        return refusals

    @staticmethod
    async def _free_username(session: AsyncSession, name: str, id_number: str) -> list[str]:
        try:
            base = rules.suggest_username(name, rules.check_id_number_format(id_number))
        except rules.RuleViolation:
            return []
        candidates = rules.username_alternatives(base, (), count=12)
        taken = set(
            await session.scalars(select(Account.username).where(Account.username.in_(candidates)))
        )
        return rules.username_alternatives(base, taken)

    async def _check_invitation(
        self, session: AsyncSession, request: RegistrationRequest, registration_id: str
    ) -> list[Refusal]:
        code = request.invitation_code or ""
        invitation = await session.get(
            Invitation, keyed_hash(self._settings.applicant_key_secret, code)
        )
        if (
            invitation is None
            or invitation.unit_code != request.unit_code
            or invitation.used_by_registration not in (None, registration_id)
        ):
            return [_refusal("invitation.invalid", ["invitation_code"])]
        return []

    async def claim_invitation(
        self, request: RegistrationRequest, registration_id: str
    ) -> list[Refusal]:
        """Reserve the invitation for this registration (a unit-admin application).

        One conditional UPDATE: of two applications with the same code, exactly one claims it,
        whatever the database; the other is refused now, not after its review. The account's
        transaction checks the claim again (`activities.accounts`).
        """
        claimed = await claim_invitation(self._sessions, self._settings, request, registration_id)
        return [] if claimed else [_refusal("invitation.invalid", ["invitation_code"])]


async def claim_invitation(
    sessions: async_sessionmaker[AsyncSession] | AsyncSession,
    settings: Settings,
    request: RegistrationRequest,
    registration_id: str,
) -> bool:
    """True when the invitation is (now) this registration's; in `sessions` when that is an open
    session, else in a transaction of its own."""
    statement = (
        update(Invitation)
        .where(
            Invitation.code_hmac
            == keyed_hash(settings.applicant_key_secret, request.invitation_code or ""),
            Invitation.unit_code == request.unit_code,
            or_(
                Invitation.used_by_registration.is_(None),
                Invitation.used_by_registration == registration_id,
            ),
        )
        .values(used_by_registration=registration_id)
        .returning(Invitation.code_hmac)
    )
    if isinstance(sessions, AsyncSession):
        return (await sessions.execute(statement)).first() is not None
    async with sessions.begin() as session:
        return (await session.execute(statement)).first() is not None


async def release_invitation(
    sessions: async_sessionmaker[AsyncSession], registration_id: str
) -> None:
    """Give back the invitation a registration claimed, unless it made an account with it: an
    application withdrawn, expired or finally rejected does not use up its code."""
    async with sessions.begin() as session:
        made_account = await session.scalar(
            select(Account.username).where(Account.registration_id == registration_id)
        )
        if made_account is None:
            await session.execute(
                update(Invitation)
                .where(Invitation.used_by_registration == registration_id)
                .values(used_by_registration=None)
            )
