"""Payload encryption: the codec, and what the Temporal server really stores. (The codec endpoint
that decodes for operators is the edge's: tests/edge/test_codec_endpoint.py.)"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError
from temporalio.converter import DefaultPayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The worker's sandbox re-imports this module for its workflows: everything else passes through.
with workflow.unsafe.imports_passed_through():
    import pytest
    from pydantic import BaseModel

    from config import parse_codec_keys
    from plumbing.codec import (
        ENCODING,
        UNENCRYPTED_METADATA,
        EncryptionCodec,
        TamperedPayloadError,
        UnknownKeyError,
        data_converter,
        new_key,
    )

NAME = "张秀英"
ID_NUMBER = "32010219900307002X"
OLD, NEW = b"o" * 32, b"n" * 32
TOKEN = "operator-token-1"
UI = "http://localhost:8233"


class Person(BaseModel):
    name: str
    id_number: str


@workflow.defn
class EchoPerson:
    @workflow.run
    async def run(self, person: Person) -> Person:
        return person


@workflow.defn
class RefusePerson:
    @workflow.run
    async def run(self, person: Person) -> None:
        raise ApplicationError(f"{person.name}({person.id_number})已有账号", non_retryable=True)


def plain(text: str) -> Payload:
    return DefaultPayloadConverter().to_payloads([text])[0]


def flip_last_byte(payload: Payload) -> Payload:
    tampered = Payload()
    tampered.CopyFrom(payload)
    tampered.data = payload.data[:-1] + bytes([payload.data[-1] ^ 1])
    return tampered


async def test_round_trip_and_metadata() -> None:
    codec = EncryptionCodec({"k1": NEW}, "k1")
    original = plain(NAME)
    [encoded] = await codec.encode([original])
    assert encoded.metadata["encoding"] == ENCODING
    assert encoded.metadata["encryption-key-id"] == b"k1"
    assert await codec.decode([encoded]) == [original]


async def test_same_payload_encrypts_differently_each_time() -> None:
    codec = EncryptionCodec({"k1": NEW}, "k1")
    first, second = await codec.encode([plain(NAME), plain(NAME)])
    assert first.data != second.data


async def test_ciphertext_holds_no_plaintext() -> None:
    codec = EncryptionCodec({"k1": NEW}, "k1")
    [encoded] = await codec.encode([plain(f"{NAME} {ID_NUMBER}")])
    wire = encoded.SerializeToString()
    assert NAME.encode() not in wire
    assert ID_NUMBER.encode() not in wire


async def test_old_key_still_decodes_after_rotation() -> None:
    [written] = await EncryptionCodec({"k2025": OLD}, "k2025").encode([plain(NAME)])
    rotated = EncryptionCodec({"k2026": NEW, "k2025": OLD}, "k2026")
    assert await rotated.decode([written]) == [plain(NAME)]
    [rewritten] = await rotated.encode([plain(NAME)])
    assert rewritten.metadata["encryption-key-id"] == b"k2026"


async def test_unknown_key_id_is_a_clear_error() -> None:
    [written] = await EncryptionCodec({"k2025": OLD}, "k2025").encode([plain(NAME)])
    with pytest.raises(UnknownKeyError, match="unknown encryption key id 'k2025'"):
        await EncryptionCodec({"k2026": NEW}, "k2026").decode([written])


async def test_tampered_ciphertext_is_a_clear_error() -> None:
    codec = EncryptionCodec({"k1": NEW}, "k1")
    [encoded] = await codec.encode([plain(NAME)])
    with pytest.raises(TamperedPayloadError, match="failed authentication"):
        await codec.decode([flip_last_byte(encoded)])
    truncated = Payload(metadata=dict(encoded.metadata), data=encoded.data[:20])
    with pytest.raises(TamperedPayloadError):
        await codec.decode([truncated])


async def test_payload_cannot_move_between_key_ids() -> None:
    """Same key material under another id: the key id is authenticated, so it fails."""
    codec = EncryptionCodec({"a": NEW, "b": NEW}, "a")
    [encoded] = await codec.encode([plain(NAME)])
    encoded.metadata["encryption-key-id"] = b"b"
    with pytest.raises(TamperedPayloadError):
        await codec.decode([encoded])


async def test_an_unencrypted_payload_is_marked_and_refused() -> None:
    """The codec server still shows what came in plaintext; our converter refuses to read it."""
    converter = data_converter({"k1": NEW}, "k1")
    assert converter.payload_codec is not None
    [decoded] = await converter.payload_codec.decode([plain(NAME)])
    assert decoded.data == plain(NAME).data
    assert decoded.metadata[UNENCRYPTED_METADATA] == b"1"
    with pytest.raises(ApplicationError) as refused:
        converter.payload_converter.from_payloads([decoded], [str])
    assert refused.value.type == "UnencryptedPayload" and refused.value.non_retryable
    assert "codec" in refused.value.message and NAME not in refused.value.message
    [sealed] = await converter.payload_codec.encode([plain(NAME)])
    [opened] = await converter.payload_codec.decode([sealed])
    assert converter.payload_converter.from_payloads([opened], [str]) == [NAME]


def test_parse_keys() -> None:
    old, new = base64.b64encode(OLD).decode(), base64.b64encode(NEW).decode()
    assert parse_codec_keys(f"k2026a:{new}, k2025b:{old}") == {"k2026a": NEW, "k2025b": OLD}
    assert len(base64.b64decode(new_key())) == 32


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "entry 1"),
        ("k1", "entry 1"),
        (f"k1:{base64.b64encode(NEW).decode()},", "entry 2"),
        (":" + base64.b64encode(NEW).decode(), "entry 1"),
        ("k1:not base64!", "'k1' is not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "'k1' must be 32 bytes"),
        ("bad id:" + base64.b64encode(NEW).decode(), "'bad id'"),
        (f"k1:{base64.b64encode(NEW).decode()},k1:{base64.b64encode(OLD).decode()}", "twice"),
    ],
)
def test_parse_keys_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_codec_keys(spec)
    assert base64.b64encode(NEW).decode() not in str(caught.value)


def test_codec_refuses_an_unlisted_active_key() -> None:
    with pytest.raises(ValueError, match="'k9'"):
        EncryptionCodec({"k1": NEW}, "k9")


# On the real (time-skipping) Temporal server


@pytest.fixture
async def encrypted(time_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """A client and worker with the codec, on the session's server; the workflows here only."""
    keys = {"k1": NEW}
    client = await Client.connect(
        time_env.client.service_client.config.target_host,
        data_converter=data_converter(keys, "k1"),
    )
    async with Worker(client, task_queue=TASK_QUEUE, workflows=[EchoPerson, RefusePerson]):
        yield client


TASK_QUEUE = f"codec-{uuid.uuid4().hex[:8]}"
PERSON = Person(name=NAME, id_number=ID_NUMBER)


async def raw_history(time_env: WorkflowEnvironment, workflow_id: str) -> tuple[str, bytes]:
    """The history as stored, read by a client that has no codec."""
    plain_client = await Client.connect(time_env.client.service_client.config.target_host)
    history = await plain_client.get_workflow_handle(workflow_id).fetch_history()
    proto = History(events=history.events).SerializeToString()
    return history.to_json(), proto


def assert_no_pii(text: str, proto: bytes) -> None:
    for secret in (NAME, ID_NUMBER):
        assert secret not in text
        assert secret.encode() not in proto
    assert base64.b64encode(ENCODING).decode() in text  # payloads are there, encrypted


async def test_history_holds_only_ciphertext(
    time_env: WorkflowEnvironment, encrypted: Client
) -> None:
    workflow_id = f"codec-echo-{uuid.uuid4().hex}"
    result = await encrypted.execute_workflow(
        EchoPerson.run, PERSON, id=workflow_id, task_queue=TASK_QUEUE
    )
    assert result == PERSON
    assert_no_pii(*await raw_history(time_env, workflow_id))


async def test_failure_message_is_encrypted(
    time_env: WorkflowEnvironment, encrypted: Client
) -> None:
    workflow_id = f"codec-refuse-{uuid.uuid4().hex}"
    with pytest.raises(WorkflowFailureError) as caught:
        await encrypted.execute_workflow(
            RefusePerson.run, PERSON, id=workflow_id, task_queue=TASK_QUEUE
        )
    assert isinstance(caught.value.cause, ApplicationError)
    assert NAME in caught.value.cause.message and ID_NUMBER in caught.value.cause.message
    text, proto = await raw_history(time_env, workflow_id)
    assert_no_pii(text, proto)
    assert "Encoded failure" in text
