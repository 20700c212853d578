"""Delivery signatures, per webhook scheme.

`hookline` (the default, SPEC §3, byte-identical to the seed): lowercase hex
HMAC-SHA256 over `timestamp + "." + body`, the timestamp in epoch milliseconds, keyed
with the secret's text. `standard-webhooks` (`app.wire.standard_webhooks`): base64
HMAC-SHA256 over `id + "." + timestamp + "." + body` in Unix seconds, keyed with the
`whsec_` secret's decoded bytes; during a rotation's overlap it carries the previous
secret's signature too. Either way the timestamp is the attempt's own, so every retry
is signed afresh while the body bytes stay exactly those stored for the event.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from app.kit.time import epoch_ms
from app.wire import standard_webhooks

HOOKLINE = "hookline"
STANDARD_WEBHOOKS = "standard-webhooks"
SCHEMES = (HOOKLINE, STANDARD_WEBHOOKS)

# The headers that carry the signature, per scheme (what a simulation reports).
SIGNATURE_HEADERS = {
    HOOKLINE: ("x-webhook-timestamp", "x-webhook-signature"),
    STANDARD_WEBHOOKS: ("webhook-id", "webhook-timestamp", "webhook-signature"),
}


def sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}.".encode(), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def verify(secret: str, timestamp_ms: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp_ms, body), signature)


def new_secret(scheme: str) -> str:
    """A fresh secret in the scheme's format (hookline: the seed's 43 URL-safe characters)."""
    if scheme == STANDARD_WEBHOOKS:
        return standard_webhooks.new_secret()
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Signing:
    """How one webhook signs: its scheme, secret, and a rotation's previous secret."""

    scheme: str
    secret: str
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None

    def secrets_at(self, at: datetime) -> tuple[str, ...]:
        """The secrets that sign at `at`: the previous one too while its overlap runs,
        for standard-webhooks only (the hookline header holds a single signature)."""
        previous, until = self.previous_secret, self.previous_secret_expires_at
        if self.scheme == STANDARD_WEBHOOKS and previous and until is not None and at < until:
            return (self.secret, previous)
        return (self.secret,)


def delivery_headers(
    *,
    secret: str,
    body: bytes,
    delivery_id: str,
    event_type: str,
    timestamp_ms: int,
    user_agent: str,
) -> dict[str, str]:
    """The hookline headers of SPEC §3, for one attempt."""
    return {
        "content-type": "application/json",
        "x-webhook-timestamp": str(timestamp_ms),
        "x-webhook-signature": sign(secret, timestamp_ms, body),
        "x-webhook-id": delivery_id,
        "x-webhook-event": event_type,
        "user-agent": user_agent,
    }


def signed_headers(
    signing: Signing,
    *,
    body: bytes,
    delivery_id: str,
    event_type: str,
    at: datetime,
    user_agent: str,
) -> dict[str, str]:
    """The headers of one attempt made at `at`, in the webhook's scheme."""
    if signing.scheme != STANDARD_WEBHOOKS:
        return delivery_headers(
            secret=signing.secret,
            body=body,
            delivery_id=delivery_id,
            event_type=event_type,
            timestamp_ms=epoch_ms(at),
            user_agent=user_agent,
        )
    timestamp_s = epoch_ms(at) // 1000
    signature = standard_webhooks.signature_header(
        signing.secrets_at(at), delivery_id, timestamp_s, body
    )
    return {
        "content-type": "application/json",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": signature,
        "x-webhook-event": event_type,
        "user-agent": user_agent,
    }
