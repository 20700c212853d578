"""The one clock of the service: aware UTC datetimes and epoch milliseconds."""

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_ms(moment: datetime | None = None) -> int:
    """Unix epoch milliseconds, the unit of event timestamps and signatures."""
    return int((moment or utc_now()).timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a `Z`, as the dashboard shows."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
