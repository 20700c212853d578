"""Minting and checking API keys.

A key is `hk_` or `ik_` followed by 43 URL-safe characters (256 random bits). Only
its SHA-256 is stored: with that much entropy a slow hash adds nothing. The first
12 characters are kept visible as `prefix` to find the row and to show in logs.
"""

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.time import utc_now
from app.models import ApiKey, Organisation

RESELLER_PREFIX = "hk_"
INGEST_PREFIX = "ik_"
KIND_BY_PREFIX = {RESELLER_PREFIX: "reseller", INGEST_PREFIX: "ingest"}
VISIBLE_PREFIX_LENGTH = 12


@dataclass(frozen=True, slots=True)
class MintedKey:
    plaintext: str
    row: ApiKey


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def mint_key(
    session: AsyncSession,
    *,
    kind: str,
    reseller_id: str,
    organisation_id: str | None = None,
    name: str | None = None,
) -> MintedKey:
    """Create a key row (flushed by the caller's transaction); the plaintext is shown once."""
    prefix = RESELLER_PREFIX if kind == "reseller" else INGEST_PREFIX
    plaintext = prefix + secrets.token_urlsafe(32)
    row = ApiKey(
        kind=kind,
        prefix=plaintext[:VISIBLE_PREFIX_LENGTH],
        key_hash=hash_key(plaintext),
        reseller_id=reseller_id,
        organisation_id=organisation_id,
        name=name,
    )
    session.add(row)
    return MintedKey(plaintext, row)


@dataclass(frozen=True, slots=True)
class KnownKey:
    """What authentication needs of a live key row, safe to keep between requests."""

    id: str
    kind: str
    reseller_id: str
    organisation_id: str | None
    expires_at: datetime | None  # a rotated ingest key's end, checked on every use
    organisation_enabled: bool = True

    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= utc_now()


# How long a process trusts a verdict read from the database. Revoking, rotating and
# disabling commit to the database and, on PostgreSQL, NOTIFY every process to forget
# its verdicts (`app.auth.revocation`). A verdict is trusted for one second after its
# read began; past that (up to a minute) only while this process's LISTEN connection has
# answered a heartbeat sent within the last second (every notification committed before
# that heartbeat was sent has then been heard). So a change is refused everywhere within
# a second: by the notification, or by the lapse when the listener is slow, lost or
# absent (SQLite). README Decisions, "Key verdicts". The process making it forgets at commit.
VERDICT_SECONDS = 1.0
LISTENED_VERDICT_SECONDS = 60.0


class _Verdicts:
    """Verified keys by hash with the monotonic time their read *began* (a change
    committed after that is seen within the bounds above). A read that began before a
    `clear` is not kept: it may predate the change."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._max = max_entries
        self._entries: dict[str, tuple[float, KnownKey]] = {}
        self.generation = 0
        self.listeners = 0  # revocation listeners connected in this process
        self.confirmed_at = -math.inf  # when the listener's last answered heartbeat was sent

    def get(self, digest: str) -> KnownKey | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        read_began, key = entry
        now = time.monotonic()
        if now < read_began + VERDICT_SECONDS:
            return key
        if now >= read_began + LISTENED_VERDICT_SECONDS:
            self._entries.pop(digest, None)
            return None
        heard = self.listeners > 0 and now < self.confirmed_at + VERDICT_SECONDS
        return key if heard else None

    def put(self, digest: str, key: KnownKey, read_began: float, generation: int) -> None:
        if generation != self.generation:
            return
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[digest] = (read_began, key)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()


_verified = _Verdicts()


def forget_verified() -> None:
    """Drop every cached verdict of this process (a revocation, rotation or disable was
    committed here or, on PostgreSQL, announced by another process)."""
    _verified.clear()


def listening(connected: bool) -> None:
    """A revocation listener connected or lost: either way forget every verdict (a
    notification may have been missed meanwhile)."""
    _verified.listeners += 1 if connected else -1
    _verified.clear()


def heard_until(sent_at: float) -> None:
    """The listener's heartbeat sent at monotonic `sent_at` was answered: every
    notification committed before it has been heard."""
    _verified.confirmed_at = max(_verified.confirmed_at, sent_at)


def _well_formed(plaintext: str) -> bool:
    return len(plaintext) <= 128 and plaintext[:3] in KIND_BY_PREFIX


def known_key(plaintext: str) -> KnownKey | None:
    """The owner of a key verified recently enough, without a session; None when unknown
    here or expired (the caller then asks the database)."""
    if not _well_formed(plaintext):
        return None
    known = _verified.get(hash_key(plaintext))
    if known is not None and known.expired():
        return None
    return known


async def authenticate(session: AsyncSession, plaintext: str) -> KnownKey | None:
    """The owner of a live key (its organisation possibly disabled), or None."""
    known = known_key(plaintext)
    if known is not None:
        return known
    if not _well_formed(plaintext):
        return None
    read_began, generation = time.monotonic(), _verified.generation
    now = utc_now()
    rows = (
        await session.execute(
            select(ApiKey, Organisation.enabled)
            .outerjoin(Organisation, Organisation.id == ApiKey.organisation_id)
            .where(*_live(plaintext, now))
        )
    ).all()
    expected = hash_key(plaintext)
    for row, enabled in rows:
        if hmac.compare_digest(row.key_hash, expected):
            known = KnownKey(
                row.id,
                row.kind,
                row.reseller_id,
                row.organisation_id,
                row.expires_at,
                enabled is not False,
            )
            _verified.put(expected, known, read_began, generation)
            return known
    return None


def live_key(keys: Any, now: datetime) -> ColumnElement[bool]:
    """Neither revoked nor expired at `now` (`keys`: `ApiKey` or an alias of it)."""
    return and_(keys.revoked_at.is_(None), or_(keys.expires_at.is_(None), keys.expires_at > now))


def _live(plaintext: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The rows a plaintext may match: its prefix, live."""
    return (ApiKey.prefix == plaintext[:VISIBLE_PREFIX_LENGTH], live_key(ApiKey, now))


async def find_key(session: AsyncSession, plaintext: str) -> ApiKey | None:
    """The live key row matching `plaintext`, compared in constant time, or None."""
    if not _well_formed(plaintext):
        return None
    candidates = (
        await session.execute(select(ApiKey).where(*_live(plaintext, utc_now())))
    ).scalars()
    expected = hash_key(plaintext)
    for row in candidates:
        if hmac.compare_digest(row.key_hash, expected):
            return row
    return None


def admin_token_matches(given: str, configured: str) -> bool:
    return hmac.compare_digest(given.encode(), configured.encode())
