"""Prefixed, time-ordered ids (`whk_…`, `evt_…`).

48 bits of milliseconds then 80 random bits, Crockford base32: ids sort by creation
time, so "newest first" and cursor pagination are an index scan on the primary key.
"""

import secrets
import time
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"


def first_id_at(prefix: str, at: datetime) -> str:
    """The smallest id minted at `at`: `id < first_id_at(p, t)` means "made before t"."""
    millis = int(at.timestamp() * 1000)
    return f"{prefix}_{_base32(millis, 10)}{'0' * 16}"


ID_LENGTH = 32  # column width: a prefix of at most 5 characters, "_" and 26 characters
