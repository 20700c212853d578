"""Settings: the only code that reads the environment (prefix `HOOKLINE_`).

Every field is documented in the README's settings table; unsafe combinations are
refused at start-up rather than discovered in production.
"""

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_RETRY_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOOKLINE_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./hookline.db"
    admin_token: SecretStr | None = None
    auto_migrate: bool = True
    dispatcher: Literal["on", "off"] = "on"
    allow_private_targets: bool = False
    ca_bundle: str | None = None
    redis_url: str | None = None

    max_event_bytes: int = Field(default=25 * 1024 * 1024, ge=1024, le=512 * 1024 * 1024)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    max_batch_events: int = Field(default=1000, ge=1, le=10_000)
    ingest_read_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    ingest_max_bytes_in_flight: int = Field(default=64 * 1024 * 1024, ge=1024)
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    key_usage_flush_seconds: float = Field(default=10.0, gt=0, le=3600)

    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    simulation_concurrency: int = Field(default=5, ge=1, le=1000)
    bulk_operations_per_tenant: int = Field(default=2, ge=1, le=100)
    secret_rotation_overlap_seconds: int = Field(default=86_400, ge=0, le=7 * 86_400)
    # NoDecode: the environment spells lists `5,30,120` (parsed below), not JSON.
    retry_schedule: Annotated[tuple[int, ...], NoDecode] = DEFAULT_RETRY_SCHEDULE
    retry_jitter: float = Field(default=0.1, ge=0, le=0.5)
    retry_after_max_seconds: int = Field(default=3600, ge=1)
    dispatcher_concurrency: int = Field(default=256, ge=1, le=10_000)
    breaker_failures: int = Field(default=10, ge=0, le=10_000)
    breaker_cooldown_seconds: float = Field(default=5.0, gt=0, le=3600)
    claim_batch_size: int = Field(default=200, ge=1, le=5000)
    lease_seconds: int = Field(default=60, ge=5)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0, le=300)

    disable_after: timedelta = timedelta(days=5)
    disable_min_failures: int = Field(default=20, ge=1)
    retention_days: int = Field(default=30, ge=1)
    event_retention_days: int = Field(default=30, ge=1)

    live_buffer_size: int = Field(default=10_000, ge=10)
    live_buffer_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024)
    live_sockets_per_key: int = Field(default=20, ge=1, le=100_000)
    live_payload_limit: int = Field(default=64 * 1024, ge=1024)
    live_fanout_per_second: int = Field(default=6_000, ge=100)
    live_client_queue_limit: int = Field(default=1000, ge=10)
    live_subscriptions_ttl_seconds: float = Field(default=30.0, gt=0)
    live_cors_origins: Annotated[tuple[str, ...], NoDecode] = ()

    # OpenTelemetry (`app.ops.tracing`): unset = tracing off; the SDK is then never imported.
    otel_endpoint: str | None = None
    otel_service_name: str = Field(default="hookline", min_length=1, max_length=200)
    # `worker` processes serve /metrics here when a port is set (0 = any free port).
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    log_level: str = "INFO"
    log_json: bool = True
    public_url: str = "http://127.0.0.1:8000"
    demo: bool = False

    @field_validator("live_cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("otel_endpoint")
    @classmethod
    def _check_otel_endpoint(cls, value: str | None) -> str | None:
        if not value:  # set but empty: off, like unset
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("otel_endpoint must be an http:// or https:// OTLP/HTTP URL")
        return value

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> object:
        if isinstance(value, str):  # `5,30,120` (the README's spelling) or `[5, 30, 120]`
            parts = value.replace(" ", "").removeprefix("[").removesuffix("]").split(",")
            return tuple(int(part) for part in parts if part)
        return value

    @field_validator("retry_schedule")
    @classmethod
    def _check_schedule(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(delay <= 0 for delay in value):
            raise ValueError("retry_schedule needs at least one positive delay in seconds")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> "Settings":
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("database_url must use sqlite+aiosqlite:// or postgresql+asyncpg://")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 16:
            raise ValueError("admin_token must be at least 16 characters")
        if self.ingest_max_bytes_in_flight < self.max_event_bytes:
            raise ValueError("ingest_max_bytes_in_flight must be at least max_event_bytes")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
