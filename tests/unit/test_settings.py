"""Every setting the README documents, set through the environment in the README's
spelling, is read by `Settings` as documented, and so is every documented default.

The README's settings table is parsed, so a setting added there without a line in
`EXPECTED` fails the first test. Adding a setting: a row in the README table, a field in
`app/config.py`, and one line here, `"HOOKLINE_X": ("value as the README spells it",
value Settings must read)`, with a value other than the default.
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from app.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"

EXPECTED: dict[str, tuple[str, Any]] = {
    "HOOKLINE_DATABASE_URL": ("postgresql+asyncpg://hl@db/hl", "postgresql+asyncpg://hl@db/hl"),
    "HOOKLINE_ADMIN_TOKEN": ("admin-token-0123456789abcdef", "admin-token-0123456789abcdef"),
    "HOOKLINE_AUTO_MIGRATE": ("false", False),
    "HOOKLINE_DISPATCHER": ("off", "off"),
    "HOOKLINE_ALLOW_PRIVATE_TARGETS": ("true", True),
    "HOOKLINE_CA_BUNDLE": ("/etc/hookline/extra-ca.pem", "/etc/hookline/extra-ca.pem"),
    "HOOKLINE_REDIS_URL": ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    "HOOKLINE_MAX_EVENT_BYTES": ("52428800", 52_428_800),
    "HOOKLINE_MAX_BODY_BYTES": ("131072", 131_072),
    "HOOKLINE_MAX_BATCH_EVENTS": ("500", 500),
    "HOOKLINE_INGEST_READ_TIMEOUT_SECONDS": ("7.5", 7.5),
    "HOOKLINE_INGEST_MAX_BYTES_IN_FLIGHT": ("134217728", 134_217_728),
    "HOOKLINE_IDEMPOTENCY_TTL_SECONDS": ("3600", 3600),
    "HOOKLINE_KEY_USAGE_FLUSH_SECONDS": ("2.5", 2.5),
    "HOOKLINE_DELIVERY_TIMEOUT_SECONDS": ("2.5", 2.5),
    "HOOKLINE_SIMULATION_CONCURRENCY": ("2", 2),
    "HOOKLINE_BULK_OPERATIONS_PER_TENANT": ("4", 4),
    "HOOKLINE_SECRET_ROTATION_OVERLAP_SECONDS": ("3600", 3600),
    "HOOKLINE_RETRY_SCHEDULE": ("5,30,120", (5, 30, 120)),
    "HOOKLINE_RETRY_JITTER": ("0.25", 0.25),
    "HOOKLINE_RETRY_AFTER_MAX_SECONDS": ("600", 600),
    "HOOKLINE_DISPATCHER_CONCURRENCY": ("64", 64),
    "HOOKLINE_BREAKER_FAILURES": ("0", 0),
    "HOOKLINE_BREAKER_COOLDOWN_SECONDS": ("2.5", 2.5),
    "HOOKLINE_CLAIM_BATCH_SIZE": ("50", 50),
    "HOOKLINE_LEASE_SECONDS": ("30", 30),
    "HOOKLINE_POLL_INTERVAL_SECONDS": ("0.5", 0.5),
    "HOOKLINE_SHUTDOWN_GRACE_SECONDS": ("3", 3.0),
    "HOOKLINE_DISABLE_AFTER": ("P2D", timedelta(days=2)),
    "HOOKLINE_DISABLE_MIN_FAILURES": ("5", 5),
    "HOOKLINE_RETENTION_DAYS": ("7", 7),
    "HOOKLINE_EVENT_RETENTION_DAYS": ("14", 14),
    "HOOKLINE_LIVE_BUFFER_SIZE": ("500", 500),
    "HOOKLINE_LIVE_BUFFER_BYTES": ("1048576", 1_048_576),
    "HOOKLINE_LIVE_SOCKETS_PER_KEY": ("3", 3),
    "HOOKLINE_LIVE_PAYLOAD_LIMIT": ("2048", 2048),
    "HOOKLINE_LIVE_FANOUT_PER_SECOND": ("1000", 1000),
    "HOOKLINE_LIVE_CLIENT_QUEUE_LIMIT": ("50", 50),
    "HOOKLINE_LIVE_SUBSCRIPTIONS_TTL_SECONDS": ("5", 5.0),
    "HOOKLINE_LIVE_CORS_ORIGINS": (
        "https://a.example.com, https://b.example.com",
        ("https://a.example.com", "https://b.example.com"),
    ),
    "HOOKLINE_OTEL_ENDPOINT": ("http://otel-collector:4318", "http://otel-collector:4318"),
    "HOOKLINE_OTEL_SERVICE_NAME": ("hookline-eu", "hookline-eu"),
    "HOOKLINE_WORKER_METRICS_PORT": ("9100", 9100),
    "HOOKLINE_WORKER_METRICS_HOST": ("0.0.0.0", "0.0.0.0"),
    "HOOKLINE_LOG_LEVEL": ("DEBUG", "DEBUG"),
    "HOOKLINE_LOG_JSON": ("false", False),
    "HOOKLINE_PUBLIC_URL": ("https://hookline.example.com", "https://hookline.example.com"),
}

# Fields that are not operator settings (set by the `demo` command itself).
NOT_SETTINGS = {"demo"}

_ROW = re.compile(r"^\| `(HOOKLINE_[A-Z0-9_]+)` \| ([^|]*) \|")


def _table() -> dict[str, str]:
    """README settings table: variable → its default cell."""
    section = README.read_text().split("## Settings", 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2].strip() for line in section.splitlines() if (m := _ROW.match(line))}


def _field(variable: str) -> str:
    return variable.removeprefix("HOOKLINE_").lower()


def _read(settings: Settings, variable: str) -> Any:
    value = getattr(settings, _field(variable))
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("HOOKLINE_"):
            monkeypatch.delenv(name)


def test_every_documented_setting_has_an_expectation() -> None:
    documented = set(_table())
    assert documented - set(EXPECTED) == set(), "add these to EXPECTED"
    assert set(EXPECTED) - documented == set(), "documented no more: remove from EXPECTED"


def test_every_setting_is_documented() -> None:
    fields = set(Settings.model_fields) - NOT_SETTINGS
    assert fields - {_field(v) for v in _table()} == set(), "add these to the README table"


def test_every_documented_setting_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable, (raw, _) in EXPECTED.items():
        monkeypatch.setenv(variable, raw)
    settings = Settings()
    for variable, (_, expected) in EXPECTED.items():
        assert _read(settings, variable) == expected, variable


def test_every_documented_default_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """A default written as `value` in the README, set in that spelling, reads back as the
    default the code has (`unset` and `empty` are not spellings: they are checked unset)."""
    defaults = Settings()
    for variable, cell in _table().items():
        spelled = re.match(r"`([^`]*)`", cell)
        if spelled is None:
            assert _read(defaults, variable) in (None, ()), variable
            continue
        monkeypatch.setenv(variable, spelled[1])
        assert _read(Settings(), variable) == _read(defaults, variable), variable
        monkeypatch.delenv(variable)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5,30,120", (5, 30, 120)), ("5", (5,)), (" 5, 30 ", (5, 30)), ("[5, 30]", (5, 30))],
)
def test_retry_schedule_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: tuple[int, ...]
) -> None:
    monkeypatch.setenv("HOOKLINE_RETRY_SCHEDULE", raw)
    assert Settings().retry_schedule == expected


@pytest.mark.parametrize("raw", ["", "0", "5,-1", "five", "5;30"])
def test_a_bad_retry_schedule_stops_the_process(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("HOOKLINE_RETRY_SCHEDULE", raw)
    with pytest.raises(ValidationError):
        Settings()
