"""Verification inside the workflow: what a caller who skips the client's pre-checks meets."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from activities.verification import VerificationActivities
from domain.contracts.base import ApplicationRefused
from domain.contracts.internal import VerificationInput
from domain.contracts.registration import Stage
from domain.keys import applicant_key
from edge.intake import build_request
from starter.client import RegistrationClient
from store.documents import LocalDocumentStore, ref_of
from store.identity import IdentityAnswer, LocalIdentityProvider
from store.models import Account, AuditEvent, OutboxMessage, PhoneCode, PhotoCheck
from store.seed import APPLICANTS
from store.verification import ApplicationChecks, photo_check_key
from testkit import TODAY, count, form, reach, request, sample_documents
from testkit.harness import SIGNER, TIME_SKIPPING_TTL
from worker import build_worker

pytestmark = pytest.mark.asyncio


class FlakyIdentity:
    """The identity service is down for the first `failures` calls."""

    def __init__(self, local: LocalIdentityProvider, failures: int) -> None:
        self._local = local
        self.failures = failures
        self.calls = 0

    async def check(self, name: str, id_number: str) -> IdentityAnswer:
        self.calls += 1
        if self.calls <= self.failures:
            return IdentityAnswer.UNAVAILABLE
        return await self._local.check(name, id_number)


async def test_an_unavailable_identity_service_is_retried(time_env, app) -> None:
    identity = FlakyIdentity(
        LocalIdentityProvider(app.sessions, app.settings.applicant_key_secret), failures=2
    )
    verification = VerificationActivities(
        app.sessions,
        ApplicationChecks(
            app.sessions, app.settings, LocalDocumentStore(app.settings.document_dir), identity
        ),
    )
    client = RegistrationClient(
        time_env.client,
        task_queue=app.settings.task_queue,
        applicant_key_secret=app.settings.applicant_key_secret,
        signer=SIGNER,
        ttl=TIME_SKIPPING_TTL,
    )
    async with build_worker(time_env.client, app.settings, app.sessions, verification=verification):
        workflow_id = await client.start(request())
        await reach(client, workflow_id, Stage.AWAITING_PHONE_CODE)
        await client.withdraw(workflow_id)
        assert (await client.result(workflow_id)).stage == Stage.WITHDRAWN
    assert identity.calls == 3


@pytest.mark.parametrize(
    ("overrides", "code", "fields"),
    [
        ({"name": "张四"}, "identity.mismatch", ["name", "id_number"]),
        ({"username": "admin_centre"}, "username.taken", ["username"]),
    ],
)
async def test_a_start_that_skipped_the_pre_checks_goes_to_correction(
    ts, overrides, code, fields
) -> None:
    unchecked = RegistrationClient(
        ts.env.client,
        task_queue=ts.app.settings.task_queue,
        applicant_key_secret=ts.app.settings.applicant_key_secret,
    )
    workflow_id = await unchecked.start(request(**overrides))
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    refusals = (await ts.client.status(workflow_id)).refusals
    assert [(r.code, r.fields) for r in refusals] == [(code, fields)]
    assert await count(ts.app, PhoneCode) == 0


async def test_photos_missing_from_the_store_are_refused(ts, tmp_path) -> None:
    unchecked = RegistrationClient(
        ts.env.client,
        task_queue=ts.app.settings.task_queue,
        applicant_key_secret=ts.app.settings.applicant_key_secret,
    )
    strange = request().model_copy(update={"id_card_back": "sha256:" + "ab" * 32})
    workflow_id = await unchecked.start(strange)
    await reach(ts.client, workflow_id, Stage.AWAITING_CORRECTION)
    refusals = (await ts.client.status(workflow_id)).refusals
    assert [(r.code, r.fields) for r in refusals] == [("photo.missing", ["id_card_back"])]


# Each strategy yields values a field's rules must refuse.
BAD_FIELDS = {
    "name": st.text(alphabet="abcXYZ0123 ·", min_size=1, max_size=25),
    "id_number": st.text(alphabet="0123456789Xx", min_size=0, max_size=20).filter(
        lambda s: s.upper() != APPLICANTS[0].id_number
    ),
    "phone": st.text(alphabet="0123456789+- ", max_size=14).filter(lambda s: len(s) < 11),
    "email": st.text(alphabet="abc@. ", max_size=20).filter(lambda s: s.count("@") != 1),
    "unit_code": st.text(alphabet="0123456789ABCDEF", min_size=0, max_size=20),
    "username": st.text(alphabet="ABCdef123-_ !", min_size=0, max_size=40).filter(
        lambda s: not s.islower() or not s[:1].isalpha()
    ),
    "password": st.text(alphabet="abcdef", max_size=30),
    "id_card_front": st.binary(max_size=2048),
}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_random_bad_applications_start_nothing_and_write_nothing(app, data) -> None:
    field = data.draw(st.sampled_from(sorted(BAD_FIELDS)))
    value = data.draw(BAD_FIELDS[field])
    before = {model: await count(app, model) for model in (Account, OutboxMessage, AuditEvent)}
    files_before = sorted(os.listdir(app.settings.document_dir))
    client = RegistrationClient(
        None,  # type: ignore[arg-type]  # no server needed: nothing may get that far
        task_queue=app.settings.task_queue,
        applicant_key_secret=app.settings.applicant_key_secret,
        verifier=ApplicationChecks.embedded(app.sessions, app.settings),
        documents=LocalDocumentStore(app.settings.document_dir),
    )
    with pytest.raises(ApplicationRefused) as refused:
        application = build_request(form(**{field: value}), today=TODAY)
        await client.start(application.request, application.documents)
    assert any(field in r.fields[0] for r in refused.value.refusals)
    assert all(r.message_zh for r in refused.value.refusals)
    assert {model: await count(app, model) for model in before} == before
    assert sorted(os.listdir(app.settings.document_dir)) == files_before


async def test_the_working_age_bounds_come_from_settings(app) -> None:
    strict = app.settings.model_copy(update={"applicant_min_age": 40})
    verification = ApplicationChecks.embedded(app.sessions, strict)
    result = await verification.check(
        VerificationInput(
            registration_id="r", applicant_key="k", request=request(), at=datetime.now(UTC)
        )
    )
    assert "id_number.age" in [r.code for r in result.refusals]
    with pytest.raises(ApplicationRefused) as refused:
        build_request(form(), today=TODAY, ages=strict.applicant_ages)
    assert [r.code for r in refused.value.refusals] == ["id_number.age"]


class CountingStore(LocalDocumentStore):
    """The test's document store, counting the photos read back (each one is then decoded)."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.reads = 0

    async def get(self, ref: str) -> bytes:
        self.reads += 1
        return await super().get(ref)


def counted_checks(app) -> tuple[ApplicationChecks, CountingStore, Any]:
    """Checks under limits of their own (a byte limit no other test uses), so that no pass of
    the sample photos counts but theirs; and the condition that finds their passes."""
    settings = app.settings.model_copy(
        update={"photo_max_bytes": app.settings.photo_max_bytes - 1 - uuid.uuid4().int % 1000}
    )
    store = CountingStore(settings.document_dir)
    identity = LocalIdentityProvider(app.sessions, settings.applicant_key_secret)
    theirs = PhotoCheck.limits == photo_check_key(settings.photo_limits())
    return ApplicationChecks(app.sessions, settings, store, identity), store, theirs


def verification_of(app, checked) -> VerificationInput:
    return VerificationInput(
        registration_id="r",
        applicant_key=applicant_key(app.settings.applicant_key_secret, checked.id_number),
        request=checked,
        at=datetime.now(UTC),
    )


async def test_a_pair_that_passed_is_not_decoded_again_but_any_other_photo_is(app) -> None:
    checks, store, theirs = counted_checks(app)
    # Its own username and phone: tests/store reruns it on a shared PostgreSQL database.
    checked = request(
        username=f"u{uuid.uuid4().hex[:12]}", phone=f"139{uuid.uuid4().int % 10**8:08d}"
    )
    assert (await checks.check(verification_of(app, checked))).refusals == []
    assert (store.reads, await count(app, PhotoCheck, theirs)) == (2, 1)
    assert (await checks.check(verification_of(app, checked))).refusals == []
    assert store.reads == 2  # the same refs are the same bytes: passed already

    # A correction's new photo is checked, and refused when it is not one.
    garbage = await store.put(b"not a photo", content_type="image/jpeg")
    corrected = checked.model_copy(update={"id_card_back": garbage})
    refusals = (await checks.check(verification_of(app, corrected))).refusals
    assert [(r.code, r.fields) for r in refusals] == [("photo.format", ["id_card_back"])]
    assert (store.reads, await count(app, PhotoCheck, theirs)) == (4, 1)

    # A pair that passed is still refused once its photo is gone (the purge deleted it).
    await store.delete(checked.id_card_back)
    refusals = (await checks.check(verification_of(app, checked))).refusals
    assert [(r.code, r.fields) for r in refusals] == [("photo.missing", ["id_card_back"])]


async def test_bytes_handed_in_under_another_ref_vouch_for_nothing(app) -> None:
    checks, store, theirs = counted_checks(app)
    back = ref_of(b"never stored")
    claimed = request().model_copy(update={"id_card_back": back})
    photos = list(sample_documents().values())
    # The edge hands in the photos it is about to store; these bytes are not what `back` names.
    pending = {claimed.id_card_front: photos[0], back: photos[1]}
    assert (await checks.check(verification_of(app, claimed), pending)).refusals == []
    assert await count(app, PhotoCheck, theirs) == 0
    refusals = (await checks.check(verification_of(app, claimed))).refusals
    assert [(r.code, r.fields) for r in refusals] == [("photo.missing", ["id_card_back"])]


async def test_a_refused_application_leaves_no_photo_pass_behind(app) -> None:
    checks, _, theirs = counted_checks(app)
    refusals = (await checks.check(verification_of(app, request(name="张四")))).refusals
    assert [r.code for r in refusals] == ["identity.mismatch"]
    assert await count(app, PhotoCheck, theirs) == 0
