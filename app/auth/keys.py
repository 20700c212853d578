"""Minting and checking API keys.

A key is `hk_` or `ik_` followed by 43 URL-safe characters (256 random bits). Only
its SHA-256 is stored: with that much entropy a slow hash adds nothing. The first
12 characters are kept visible as `prefix` to find the row and to show in logs.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.ttl_cache import TTLCache
from app.models import ApiKey

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
    session: AsyncSession, *, kind: str, reseller_id: str, organisation_id: str | None = None
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
    )
    session.add(row)
    return MintedKey(plaintext, row)


@dataclass(frozen=True, slots=True)
class KnownKey:
    """What authentication needs of a key row, safe to keep between requests."""

    kind: str
    reseller_id: str
    organisation_id: str | None


# Keys cannot be re-assigned and there is no revocation API, so a verified key's owner
# is stable; caching it briefly saves a query on every ingest request.
_verified: TTLCache[str, KnownKey] = TTLCache(ttl_seconds=60)


def known_key(plaintext: str) -> KnownKey | None:
    """The owner of a key verified within the cache's lifetime, without a session."""
    if len(plaintext) > 128 or plaintext[:3] not in KIND_BY_PREFIX:
        return None
    return _verified.get(hash_key(plaintext))


async def authenticate(session: AsyncSession, plaintext: str) -> KnownKey | None:
    """The owner of a valid key, from the short-lived cache or the database."""
    if len(plaintext) > 128 or plaintext[:3] not in KIND_BY_PREFIX:
        return None
    digest = hash_key(plaintext)
    known = _verified.get(digest)
    if known is not None:
        return known
    row = await find_key(session, plaintext)
    if row is None:
        return None
    known = KnownKey(row.kind, row.reseller_id, row.organisation_id)
    _verified.put(digest, known)
    return known


async def find_key(session: AsyncSession, plaintext: str) -> ApiKey | None:
    """The live key row matching `plaintext`, compared in constant time, or None."""
    if len(plaintext) > 128 or plaintext[:3] not in KIND_BY_PREFIX:
        return None
    candidates = (
        await session.execute(
            select(ApiKey).where(
                ApiKey.prefix == plaintext[:VISIBLE_PREFIX_LENGTH], ApiKey.revoked_at.is_(None)
            )
        )
    ).scalars()
    expected = hash_key(plaintext)
    for row in candidates:
        if hmac.compare_digest(row.key_hash, expected):
            return row
    return None


def admin_token_matches(given: str, configured: str) -> bool:
    return hmac.compare_digest(given.encode(), configured.encode())
