"""One settings class for the whole system; every knob has an embedded default and an env var.

Only entry points (worker, CLI, tests) build a `Settings`; nothing here runs at import time, so
workflow code may import the module without reading the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.photos import PhotoLimits
from domain.reminders import DEFAULT_POLICY, ReminderStep

ROOT = Path(__file__).resolve().parent
DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JSHR_", env_file=".env", env_ignore_empty=True, extra="ignore"
    )

    environment: str = Field("development", description="development | test | production")

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "registration"
    temporal_ui_port: int = 8233
    temporal_db_file: Path = ROOT / "var" / "temporal.db"

    # Prometheus /metrics of the worker (the SDK's and ours); 0 turns it off.
    metrics_port: int = 9464

    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'app.db'}"
    document_dir: Path = ROOT / "var" / "documents"

    # Keys the HMACs of ID numbers (workflow IDs, look-ups) and of SMS codes.
    applicant_key_secret: str = DEV_SECRET
    phone_code_secret: str = DEV_SECRET

    # Working age an applicant's ID number must show (birth date against today).
    applicant_min_age: int = 16
    applicant_max_age: int = 75

    phone_code_ttl_seconds: int = 300
    phone_code_max_attempts: int = 5
    phone_code_resend_cooldown_seconds: int = 60
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

    # Notice and privacy policy the applicant must have accepted (seed step 一).
    notice_version: str = "2026-01"

    photo_max_bytes: int = 4 * 1024 * 1024
    photo_min_width: int = 640
    photo_min_height: int = 400

    smtp_host: str | None = None
    smtp_port: int = 25
    mail_from: str = "noreply@jshr.example.cn"

    @property
    def applicant_ages(self) -> tuple[int, int]:
        return (self.applicant_min_age, self.applicant_max_age)

    def photo_limits(self) -> PhotoLimits:
        return PhotoLimits(
            max_bytes=self.photo_max_bytes,
            min_width=self.photo_min_width,
            min_height=self.photo_min_height,
        )

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            for name in ("applicant_key_secret", "phone_code_secret"):
                if getattr(self, name) == DEV_SECRET:
                    raise ValueError(f"{name.upper()} must be set in production")
        return self
