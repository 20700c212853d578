"""The signing helpers on their own: the whsec_ key, the overlap's edges, the header order,
and the schema's scheme names kept equal to the wire module's."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from app.webhooks.schemas import SignatureScheme
from app.wire import standard_webhooks
from app.wire.signature import (
    HOOKLINE,
    SCHEMES,
    SIGNATURE_HEADERS,
    STANDARD_WEBHOOKS,
    Signing,
    new_secret,
    signed_headers,
)

AT = datetime(2026, 1, 28, 9, 14, 5, 35000, tzinfo=UTC)
BODY = b'{"event":"x","data":[1]}'


def test_the_schema_offers_exactly_the_wire_schemes() -> None:
    assert get_args(SignatureScheme) == SCHEMES
    assert set(SIGNATURE_HEADERS) == set(SCHEMES)


def test_the_key_is_the_decoded_base64_not_the_text() -> None:
    secret = new_secret(STANDARD_WEBHOOKS)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    assert standard_webhooks.key_of(secret) == key and len(key) == 32
    expected = hmac.new(key, b"dlv_1.1769591645." + BODY, hashlib.sha256).digest()
    signature = standard_webhooks.sign(secret, "dlv_1", 1769591645, BODY)
    assert signature == "v1," + base64.b64encode(expected).decode()
    assert standard_webhooks.verify(secret, "dlv_1", 1769591645, BODY, signature)
    assert not standard_webhooks.verify(secret, "dlv_2", 1769591645, BODY, signature)
    assert not standard_webhooks.verify(secret, "dlv_1", 1769591646, BODY, signature)


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_abc", "whsec_****"])
def test_a_malformed_secret_is_refused(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        standard_webhooks.key_of(secret)


def test_the_previous_secret_signs_until_its_expiry_and_not_at_it() -> None:
    new, old = new_secret(STANDARD_WEBHOOKS), new_secret(STANDARD_WEBHOOKS)
    signing = Signing(STANDARD_WEBHOOKS, new, old, AT + timedelta(seconds=1))
    assert signing.secrets_at(AT) == (new, old)
    assert signing.secrets_at(AT + timedelta(seconds=1)) == (new,)
    assert Signing(STANDARD_WEBHOOKS, new, old, None).secrets_at(AT) == (new,)

    def header(s: Signing, at: datetime) -> str:
        headers = signed_headers(
            s, body=BODY, delivery_id="dlv_1", event_type="x", at=at, user_agent="t"
        )
        return headers["webhook-signature"]

    first, second = header(signing, AT).split(" ")
    assert first == standard_webhooks.sign(new, "dlv_1", int(AT.timestamp()), BODY)
    assert second == standard_webhooks.sign(old, "dlv_1", int(AT.timestamp()), BODY)


def test_hookline_ignores_a_previous_secret_and_sends_no_standard_headers() -> None:
    secret = new_secret(HOOKLINE)
    assert len(secret) == 43
    signing = Signing(HOOKLINE, secret, "older", AT + timedelta(days=1))
    assert signing.secrets_at(AT) == (secret,)
    headers = signed_headers(
        signing, body=BODY, delivery_id="dlv_1", event_type="x", at=AT, user_agent="t"
    )
    assert headers["x-webhook-timestamp"] == "1769591645035"
    assert not any(name.startswith("webhook-") for name in headers)
    standard = signed_headers(
        Signing(STANDARD_WEBHOOKS, new_secret(STANDARD_WEBHOOKS)),
        body=BODY,
        delivery_id="dlv_1",
        event_type="x",
        at=AT,
        user_agent="t",
    )
    assert standard["webhook-timestamp"] == "1769591645"  # seconds, the milliseconds dropped
    assert {name for name in standard if name.startswith("x-")} == {"x-webhook-event"}
