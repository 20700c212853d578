"""Signatures: lowercase hex HMAC-SHA256 over `timestamp + "." + body` (SPEC §3)."""

import hashlib
import hmac
import re

from app.wire.signature import delivery_headers, sign, verify

SECRET = "whsec_test_0123456789abcdef"
BODY = '{"event":"desktop.app_tracking.captured","data":[{"s":"é\\ud800🚀"}]}'.encode()


def test_sign_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1769591645035." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1769591645035, BODY) == expected


def test_known_vector() -> None:
    # Computed independently: echo -n '1700000000000.{}' | openssl dgst -sha256 -hmac secret
    assert (
        sign("secret", 1700000000000, b"{}")
        == hmac.new(b"secret", b"1700000000000.{}", hashlib.sha256).hexdigest()
    )
    assert re.fullmatch(r"[0-9a-f]{64}", sign("secret", 1700000000000, b"{}"))


def test_signature_changes_with_every_input() -> None:
    base = sign(SECRET, 1, BODY)
    assert sign(SECRET, 2, BODY) != base
    assert sign(SECRET + "x", 1, BODY) != base
    assert sign(SECRET, 1, BODY + b" ") != base


def test_verify() -> None:
    signature = sign(SECRET, 42, BODY)
    assert verify(SECRET, 42, BODY, signature)
    assert not verify(SECRET, 43, BODY, signature)
    assert not verify("other", 42, BODY, signature)
    assert not verify(SECRET, 42, BODY, signature.upper())
    assert not verify(SECRET, 42, BODY, "")


def test_non_ascii_secret_is_utf8() -> None:
    expected = hmac.new("sécret".encode(), b"5.{}", hashlib.sha256).hexdigest()
    assert sign("sécret", 5, b"{}") == expected


def test_delivery_headers() -> None:
    headers = delivery_headers(
        secret=SECRET,
        body=BODY,
        delivery_id="dlv_1",
        event_type="desktop.app_tracking.captured",
        timestamp_ms=1769591645035,
        user_agent="Hookline/0.1.0",
    )
    assert headers == {
        "content-type": "application/json",
        "x-webhook-timestamp": "1769591645035",
        "x-webhook-signature": sign(SECRET, 1769591645035, BODY),
        "x-webhook-id": "dlv_1",
        "x-webhook-event": "desktop.app_tracking.captured",
        "user-agent": "Hookline/0.1.0",
    }
