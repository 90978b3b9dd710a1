"""One settings class for the whole system; every knob has an embedded default and an env var.

Only entry points (worker, CLI, tests) build a `Settings`; nothing here runs at import time, so
workflow code may import the module without reading the environment.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.assertions import (
    AssertionSigner,
    AssertionVerifier,
    parse_signing_key,
    parse_trusted_keys,
)
from domain.photos import PhotoLimits
from domain.reminders import DEFAULT_POLICY, ReminderStep

ROOT = Path(__file__).resolve().parent
DEV_SECRETS_FILE = ROOT / "var" / "dev-secrets.env"


# Payload encryption keys (`JSHR_CODEC_KEYS`) are parsed here, with the other settings, so that a
# malformed list fails when the settings load; `plumbing.codec` encrypts with what they give.
CODEC_KEY_BYTES = 32
_CODEC_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def check_codec_key(key_id: str, key: bytes) -> None:
    if not _CODEC_KEY_ID.fullmatch(key_id):
        raise ValueError(f"encryption key id {key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
    if len(key) != CODEC_KEY_BYTES:
        raise ValueError(
            f"encryption key {key_id!r} must be {CODEC_KEY_BYTES} bytes, not {len(key)}"
        )


def parse_codec_keys(spec: str) -> dict[str, bytes]:
    """`"k2026a:<base64 of 32 bytes>,k2025b:<base64>"` → `{"k2026a": b"...", ...}`.

    Errors name the entry's position or key id, never the key material.
    """
    keys: dict[str, bytes] = {}
    for position, entry in enumerate(spec.split(","), start=1):
        key_id, sep, encoded = (part.strip() for part in entry.partition(":"))
        if not sep or not key_id or not encoded:
            raise ValueError(f"encryption key entry {position} is not 'id:base64key'")
        if key_id in keys:
            raise ValueError(f"encryption key id {key_id!r} is listed twice")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise ValueError(f"encryption key {key_id!r} is not valid base64") from None
        check_codec_key(key_id, key)
        keys[key_id] = key
    return keys


# Every component needs these; there is no default: `make run` makes them into
# var/dev-secrets.env, a deployment sets them in .env, the tests make their own.
_REQUIRED_SECRETS = ("applicant_key_secret", "phone_code_secret", "data_key")
_SECRETS = (
    *_REQUIRED_SECRETS,
    "codec_keys",
    "assertion_signing_key",
    "session_key",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JSHR_",
        # `make run` writes the embedded system's own keys here. Not `.env`: that file holds
        # docker compose's production secrets, which a developer's shell must not pick up.
        env_file=DEV_SECRETS_FILE,
        env_ignore_empty=True,
        extra="ignore",
        # A refused setting must not echo its value: some are keys.
        hide_input_in_errors=True,
    )

    environment: str = Field("development", description="development | test | production")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "registration"
    temporal_ui_port: int = 8233
    # Where system admins open a registration in the Temporal Web UI (from the staff portal).
    temporal_ui_url: str | None = None
    temporal_db_file: Path = ROOT / "var" / "temporal.db"

    # The sandbox re-executes a workflow's own modules for every run it starts (~20 ms of CPU
    # per registration); production passes them through (worker.workflow_runner). Strict keeps
    # them sandboxed, so that a clock, random or I/O call in workflow code fails the run: the
    # test suite and the replay tests run that way.
    strict_workflow_sandbox: bool = False
    # Workflows a worker keeps in memory. Registrations wait for days and wake at most once a
    # working day, so an evicted one costs a single replay then; 300 kept bench memory ~300 MiB.
    worker_max_cached_workflows: int = 300
    # Activities a worker runs at once. Each is a few statements on one database: from ~40
    # registrations in flight the SDK's default of 100 made activities overrun their 10 s
    # start-to-close timeout on this 2-core machine; 8 cured it in the benchmark.
    worker_max_concurrent_activities: int = Field(8, ge=1)
    # Prometheus /metrics of the worker (the SDK's and ours); 0 turns it off.
    metrics_port: int = 9464

    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'app.db'}"
    document_dir: Path = ROOT / "var" / "documents"

    # Keys the HMACs of ID numbers (workflow IDs, look-ups) and of SMS codes.
    applicant_key_secret: str = ""
    phone_code_secret: str = ""
    # AES-256-GCM key (base64 of 32 bytes) for personal data at rest, e.g. accounts' ID numbers.
    data_key: str = ""

    # Working age an applicant's ID number must show (birth date against today).
    applicant_min_age: int = 16
    applicant_max_age: int = 75

    phone_code_ttl_seconds: int = 300
    phone_code_max_attempts: int = 5
    phone_code_resend_cooldown_seconds: int = 60
    # SMS codes one phone number may receive in an hour, whatever asks for them.
    phone_code_hourly_cap: int = 5
    phone_step_timeout_hours: int = 24
    correction_window_days: int = 30
    max_review_rounds: int = 5
    # Reminders while a review waits; JSON in JSHR_REVIEW_POLICY overrides it.
    review_policy: tuple[ReminderStep, ...] = DEFAULT_POLICY
    # After the last step, the escalation target is reminded every this many working days.
    review_repeat_days: int = 1
    # Holidays and adjusted working days for years the chinese-calendar package does not know.
    workday_overrides_file: Path = ROOT / "domain" / "workday_overrides.json"
    # History stays small however many rounds: each round after the first is a new run.
    continue_as_new_between_rounds: bool = True

    # Retention (PIPL: kept no longer than needed). A daily Schedule runs the purge
    # (workflows/purge.py): a registration's ID-card photos and messages go this many days
    # after it ended, however it ended ...
    retention_documents_days: int = Field(30, ge=1)
    # ... and what is held about an applicant who got no account (withdrawn, expired, finally
    # rejected: phone codes, signatures) this many days after. Temporal's namespace keeps
    # closed histories exactly as long (`make run`, docker-compose.yml).
    retention_applicant_days: int = Field(90, ge=1)
    purge_schedule_id: str = "purge-personal-data"

    # Notice and privacy policy the applicant must have accepted (seed step 一).
    notice_version: str = "2026-01"

    photo_max_bytes: int = 4 * 1024 * 1024
    photo_min_width: int = 640
    photo_min_height: int = 400

    # Payload encryption (AES-256-GCM): "id:<base64 32 bytes>,…"; the active key encrypts,
    # every listed key decrypts, so keys rotate without losing old histories.
    codec_keys: SecretStr | None = None
    codec_active_key: str | None = None
    # The codec endpoint is the edge's (/codec/decode, /codec/encode): it decrypts only for a
    # logged-in person holding payloads:decode. Browser origins that may call it with the
    # operator's session cookie: the Temporal UI's (exact origins; never "*").
    codec_allowed_origins: tuple[str, ...] = ()
    # Decode requests one person may make in a window (the UI sends about one per payload on
    # a page), and payloads one request may carry.
    codec_decode_limit: int = Field(600, ge=1)
    codec_decode_window_seconds: int = Field(60, ge=1)
    codec_max_payloads: int = Field(200, ge=1)

    # Signed assertions (DESIGN §7): the public keys workers trust, `kid:base64url[@not_after]`
    # entries separated by commas. A key that signed no new message since `not_after` stays
    # listed while any workflow holding its signals may still replay.
    assertion_public_keys: str = ""
    # The one private key that signs, `kid:base64url`: the edge's alone. Workers never need it;
    # the CLI signs its messages with it where it is configured (`make run` makes one).
    assertion_signing_key: SecretStr | None = None
    # How long a message the signer vouched for stays valid (Updates are checked on arrival).
    assertion_ttl_seconds: int = Field(300, ge=1)

    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "noreply@jshr.example.cn"

    # The edge (edge/web): the one door for people, and the only holder of the signing key.
    edge_host: str = "127.0.0.1"
    edge_port: int = 8000
    # Where the CLI's staff commands find the edge, and keep their login (0600).
    edge_url: str = "http://localhost:8000"
    cli_session_file: Path = ROOT / "var" / "cli-session.json"
    # The applicant sessions of registrations started from this CLI, by workflow ID.
    cli_applicant_file: Path = ROOT / "var" / "cli-applicants.json"
    # It signs with `assertion_signing_key` (above). This keys the CSRF tokens and the look-up
    # hashes of throttles and one-time codes.
    session_key: SecretStr | None = None
    # Behind TLS the cookies are `Secure` (and `__Host-` prefixed).
    edge_behind_tls: bool = False
    # Addresses of the reverse proxies whose X-Forwarded-For the edge believes.
    edge_forwarded_allow_ips: str = "127.0.0.1"
    staff_session_idle_minutes: int = 30
    staff_session_max_hours: int = 12
    applicant_session_hours: int = 24
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    # An SMS code after the password for unit and system admins; production turns it on.
    staff_second_factor: bool | None = None
    one_time_code_ttl_seconds: int = 300
    one_time_code_max_attempts: int = 5

    @property
    def applicant_ages(self) -> tuple[int, int]:
        return (self.applicant_min_age, self.applicant_max_age)

    @property
    def second_factor_required(self) -> bool:
        if self.staff_second_factor is None:
            return self.environment == "production"
        return self.staff_second_factor

    def photo_limits(self) -> PhotoLimits:
        return PhotoLimits(
            max_bytes=self.photo_max_bytes,
            min_width=self.photo_min_width,
            min_height=self.photo_min_height,
        )

    def codec_keyring(self) -> tuple[dict[str, bytes], str] | None:
        """The payload encryption keys by id, and the id of the one that encrypts; None without
        encryption. (`plumbing.connect.data_converter_for` builds the converter from them.)"""
        if not self.codec_keys:
            return None
        keys = parse_codec_keys(self.codec_keys.get_secret_value())
        active = self.codec_active_key
        if active is None:
            if len(keys) != 1:
                raise ValueError("several encryption keys are listed: name the active one")
            (active,) = keys
        if active not in keys:
            raise ValueError(f"active encryption key id {active!r} is not among the keys")
        return keys, active

    def assertion_verifier(self) -> AssertionVerifier:
        """What the workers check every message with; without keys every message is refused."""
        return AssertionVerifier(parse_trusted_keys(self.assertion_public_keys))

    def assertion_signer(self) -> AssertionSigner | None:
        if self.assertion_signing_key is None:
            return None
        return parse_signing_key(self.assertion_signing_key.get_secret_value())

    def temporal_ui(self) -> str:
        return (self.temporal_ui_url or f"http://localhost:{self.temporal_ui_port}").rstrip("/")

    def ui_origins(self) -> tuple[str, ...]:
        return self.codec_allowed_origins or (
            f"http://localhost:{self.temporal_ui_port}",
            f"http://127.0.0.1:{self.temporal_ui_port}",
        )

    def codec_endpoint(self) -> str | None:
        """Where the Temporal UI and the CLI decode: the edge's `/codec/`. The trailing slash
        matters: the UI resolves `decode` against it (without one it would call `/decode`)."""
        if not self.codec_keys:
            return None
        return f"{self.edge_url.rstrip('/')}/codec/"

    @model_validator(mode="after")
    def _no_default_secrets(self) -> Settings:
        for name in _REQUIRED_SECRETS:
            if not getattr(self, name):
                raise ValueError(
                    f"JSHR_{name.upper()} is not set: `make run` writes var/dev-secrets.env, a"
                    " deployment sets it in .env (docs/deployment.md)"
                )
        if self.environment == "production":
            if not self.codec_keys:
                raise ValueError("CODEC_KEYS must be set in production")
            for name in _SECRETS:
                value = getattr(self, name)
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                if value and "change-me" in value:
                    raise ValueError(f"{name.upper()} is still the .env.example placeholder")
        self.codec_keyring()  # a malformed key list fails at start, not at first payload
        # Malformed assertion keys fail at start, not at the first message.
        self.assertion_verifier()
        self.assertion_signer()
        return self
