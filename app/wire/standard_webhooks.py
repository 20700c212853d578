"""The Standard Webhooks scheme (https://www.standardwebhooks.com), as its libraries verify it.

Headers `webhook-id` (the delivery id: stable across retries, the receiver's idempotency
key), `webhook-timestamp` (the attempt's Unix seconds) and `webhook-signature`:
`v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`. The key is the
base64-decoded part of the `whsec_<base64>` secret, not its text: that is what the
`standardwebhooks` packages on PyPI and npm do, so a receiver pastes the secret as shown.
Several signatures are space-separated; a receiver accepts the request if any one of
them matches (a rotation's overlap sends the new one first, then the previous one).
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
SECRET_BYTES = 32  # 256 bits, as the hookline scheme's secrets
VERSION = "v1"


def new_secret() -> str:
    """`whsec_` and 32 random bytes in standard, padded base64 (what both libraries decode)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def key_of(secret: str) -> bytes:
    """The HMAC key: the bytes the base64 after `whsec_` stands for."""
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("not a whsec_<base64> secret") from None


def signed_content(msg_id: str, timestamp_s: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp_s}.".encode() + body


def sign(secret: str, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """One `v1,<base64>` signature."""
    mac = hmac.new(key_of(secret), f"{msg_id}.{timestamp_s}.".encode(), hashlib.sha256)
    mac.update(body)
    return f"{VERSION}," + base64.b64encode(mac.digest()).decode("ascii")


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret, space-separated, in order."""
    return " ".join(sign(secret, msg_id, timestamp_s, body) for secret in secrets_)


def verify(secret: str, msg_id: str, timestamp_s: int, body: bytes, header: str) -> bool:
    """True if any `v1` signature in `header` is this secret's (no timestamp window here)."""
    expected = sign(secret, msg_id, timestamp_s, body)
    return any(
        hmac.compare_digest(candidate.encode(), expected.encode()) for candidate in header.split()
    )
