"""The key-verdict cache's bounds (`app.auth.keys`) and the last-use batch
(`app.auth.usage`), without a server: lifetimes are checked by the monotonic time a
verdict's read began, never by sleeping."""

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from app.auth.keys import (
    LISTENED_VERDICT_SECONDS,
    VERDICT_SECONDS,
    KnownKey,
    _Verdicts,
)
from app.auth.usage import KeyUsage
from app.db.engine import create_sessionmaker

KEY = KnownKey("key_1", "ingest", "rsl_1", "org_1", None, True)


def test_a_verdict_lasts_a_second_from_the_start_of_its_read() -> None:
    verdicts = _Verdicts()
    now = time.monotonic()
    verdicts.put("fresh", KEY, now, verdicts.generation)
    verdicts.put("old", KEY, now - VERDICT_SECONDS - 0.01, verdicts.generation)
    assert verdicts.get("fresh") == KEY
    assert verdicts.get("old") is None


def test_a_verdict_older_than_a_second_needs_a_fresh_heartbeat() -> None:
    verdicts = _Verdicts()
    verdicts.listeners = 1
    now = time.monotonic()
    began = now - VERDICT_SECONDS - 0.5
    verdicts.put("heard", KEY, began, verdicts.generation)
    verdicts.confirmed_at = now - VERDICT_SECONDS - 0.1  # the heartbeat is late
    assert verdicts.get("heard") is None
    verdicts.confirmed_at = now  # answered again: nothing was missed meanwhile
    assert verdicts.get("heard") == KEY
    verdicts.put("too old", KEY, now - LISTENED_VERDICT_SECONDS, verdicts.generation)
    assert verdicts.get("too old") is None
    verdicts.listeners = 0  # no listener: a second, whatever the heartbeat said
    assert verdicts.get("heard") is None
    verdicts.listeners = 1
    verdicts.clear()  # what a notification, or losing the listener, does
    assert verdicts.get("heard") is None


def test_a_read_that_began_before_a_forget_is_not_kept() -> None:
    verdicts = _Verdicts()
    generation = verdicts.generation  # a read begins
    verdicts.clear()  # a revocation is heard meanwhile
    verdicts.put("stale", KEY, time.monotonic(), generation)
    assert verdicts.get("stale") is None
    verdicts.put("after", KEY, time.monotonic(), verdicts.generation)
    assert verdicts.get("after") == KEY


def test_expiry_is_checked_on_every_use() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    assert KnownKey("k", "ingest", "r", "o", past).expired()
    assert not KnownKey("k", "ingest", "r", "o", past + timedelta(hours=1)).expired()
    assert not KEY.expired()


def test_touch_keeps_the_latest_use_of_each_key() -> None:
    usage = KeyUsage()
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    for at in (early, late, early):
        usage.touch("key_a", at)
    usage.touch("key_b", early)
    assert usage.pending == 2
    assert usage._pending == {"key_a": late, "key_b": early}


async def test_a_failed_flush_keeps_its_entries_for_the_next(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    try:
        usage = KeyUsage()
        at = datetime(2026, 1, 1, tzinfo=UTC)
        usage.touch("key_a", at)
        assert await usage.flush(create_sessionmaker(engine)) == 0  # no api_keys table
        assert usage._pending == {"key_a": at}
    finally:
        await engine.dispose()
