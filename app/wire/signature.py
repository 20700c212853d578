"""Delivery signatures: lowercase hex HMAC-SHA256 over `timestamp + "." + body`.

The timestamp is the attempt's own (epoch milliseconds), so every retry is signed
afresh while the body bytes stay exactly those stored for the event.
"""

import hashlib
import hmac


def sign(secret: str, timestamp_ms: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}.".encode(), hashlib.sha256)
    mac.update(body)
    return mac.hexdigest()


def verify(secret: str, timestamp_ms: int, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp_ms, body), signature)


def delivery_headers(
    *,
    secret: str,
    body: bytes,
    delivery_id: str,
    event_type: str,
    timestamp_ms: int,
    user_agent: str,
) -> dict[str, str]:
    """The headers of SPEC §3, for one attempt."""
    return {
        "content-type": "application/json",
        "x-webhook-timestamp": str(timestamp_ms),
        "x-webhook-signature": sign(secret, timestamp_ms, body),
        "x-webhook-id": delivery_id,
        "x-webhook-event": event_type,
        "user-agent": user_agent,
    }
