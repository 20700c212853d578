"""Every hard payload, signed and POSTed to the seed's Express receiver, verifies.

The receiver (tests/receivers/node/receiver.mjs) checks three things: the seed's own
HMAC over `JSON.stringify(req.body)`, the HMAC over the raw body, and
`JSON.stringify(JSON.parse(raw)) === raw`. All three must hold for every payload
Hookline accepts; every payload it refuses must be refused before signing.
"""

import hashlib
import json
import time
from collections.abc import AsyncIterator
from itertools import count
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from app.wire.canonical_json import CanonicalJSONError, dumps, loads
from app.wire.envelope import Party, envelope
from app.wire.signature import delivery_headers
from tests.conformance.conftest import NODE_SECRET
from tests.support.hard_payloads import HARD_PAYLOADS, REFUSED_PAYLOADS, screenshot_payload
from tests.support.node import NodeReceiver, StringifyOracle

_ids = count(1)
SCREENSHOT = "desktop.screenshot_tracking.captured"


@pytest_asyncio.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


def _event(data: Any, event_type: str = "desktop.app_tracking.captured") -> dict[str, Any]:
    return envelope(
        event_type=event_type,
        event_id=f"evt_conformance_{next(_ids)}",
        timestamp_ms=1769591645035,
        parent=Party("res_1", "Reseller \u2028 «Ltd»"),
        organisation=Party("org_1", "Child org 屏幕"),
        user_id="user_991",
        team_id="team_12",
        data=data,
    )


async def _deliver(
    http: aiohttp.ClientSession,
    receiver: NodeReceiver,
    body: bytes,
    *,
    event_type: str = "desktop.app_tracking.captured",
    secret: str = NODE_SECRET,
) -> tuple[int, dict[str, Any]]:
    """POST like the dispatcher does; return the status and the receiver's record."""
    delivery_id = f"dlv_conformance_{next(_ids)}"
    headers = delivery_headers(
        secret=secret,
        body=body,
        delivery_id=delivery_id,
        event_type=event_type,
        timestamp_ms=int(time.time() * 1000),
        user_agent="Hookline/test",
    )
    async with http.post(receiver.url, data=body, headers=headers) as response:
        status = response.status
        await response.read()
    records = [r for r in await receiver.records() if r["webhookId"] == delivery_id]
    assert len(records) == 1
    return status, records[0]


def _assert_verified(status: int, record: dict[str, Any], body: bytes, event_id: str) -> None:
    checks = {k: record[k] for k in ("stringifyVerified", "rawVerified", "roundTrip")}
    assert checks == {"stringifyVerified": True, "rawVerified": True, "roundTrip": True}, (
        record.get("reserialised"),
        body[:300],
    )
    assert status == 200
    assert record["bodySha256"] == hashlib.sha256(body).hexdigest()
    assert record["bodyLength"] == len(body)
    assert record["eventId"] == event_id


def test_enough_hard_payloads() -> None:
    assert len(HARD_PAYLOADS) >= 45
    assert len({name for name, _ in HARD_PAYLOADS}) == len(HARD_PAYLOADS)


@pytest.mark.parametrize(("name", "text"), HARD_PAYLOADS, ids=[n for n, _ in HARD_PAYLOADS])
async def test_hard_payload_verifies_in_express(
    express_receiver: NodeReceiver, http: aiohttp.ClientSession, name: str, text: str
) -> None:
    event = _event(loads(text))
    body = dumps(event)
    status, record = await _deliver(http, express_receiver, body)
    _assert_verified(status, record, body, event["eventId"])


async def test_screenshot_event_of_several_megabytes(
    express_receiver: NodeReceiver, http: aiohttp.ClientSession
) -> None:
    event = _event(loads(screenshot_payload(3)), SCREENSHOT)
    body = dumps(event)
    assert len(body) > 3 * 1024 * 1024
    status, record = await _deliver(http, express_receiver, body, event_type=SCREENSHOT)
    _assert_verified(status, record, body, event["eventId"])
    assert record["event"] == SCREENSHOT


def test_hard_payloads_match_the_oracle(stringify_oracle: StringifyOracle) -> None:
    """The same payloads as bare `data`: byte-equal to JSON.stringify(JSON.parse(text))."""
    texts = [text.replace("\n", " ") for _, text in HARD_PAYLOADS]
    expected = stringify_oracle.stringify(texts)
    for (name, text), javascript in zip(HARD_PAYLOADS, expected, strict=True):
        assert javascript is not None, name
        assert dumps(loads(text)) == javascript.encode(), name


@pytest.mark.parametrize(("name", "raw"), REFUSED_PAYLOADS, ids=[n for n, _ in REFUSED_PAYLOADS])
def test_refused_payloads_never_reach_signing(name: str, raw: bytes) -> None:
    with pytest.raises(CanonicalJSONError):
        loads(raw)


async def test_the_receiver_tells_non_canonical_bodies_apart(
    express_receiver: NodeReceiver, http: aiohttp.ClientSession
) -> None:
    """The harness is not vacuous: Python's default spelling fails the seed's check."""
    event = _event({"v": 1.0, "s": "é", "2": 1, "1": 2})
    body = json.dumps(event).encode()  # spaces, `1.0`, `\u00e9`, insertion key order
    status, record = await _deliver(http, express_receiver, body)
    assert status == 401
    assert record["rawVerified"] is True
    assert record["stringifyVerified"] is False
    assert record["roundTrip"] is False


async def test_wrong_secret_is_refused_and_added_secret_accepted(
    express_receiver: NodeReceiver, http: aiohttp.ClientSession
) -> None:
    event = _event({"ok": True})
    body = dumps(event)
    other = f"whsec_other_{next(_ids)}"
    status, record = await _deliver(http, express_receiver, body, secret=other)
    assert (status, record["stringifyVerified"], record["rawVerified"]) == (401, False, False)
    await express_receiver.add_secret(other)
    status, record = await _deliver(http, express_receiver, body, secret=other)
    _assert_verified(status, record, body, event["eventId"])


async def test_missing_headers_answer_400_like_the_seed(
    express_receiver: NodeReceiver, http: aiohttp.ClientSession
) -> None:
    body = dumps(_event({"ok": True}))
    headers = {"content-type": "application/json", "x-webhook-id": f"dlv_bare_{next(_ids)}"}
    async with http.post(express_receiver.url, data=body, headers=headers) as response:
        assert response.status == 400
    record = (await express_receiver.records())[-1]
    assert (record["webhookId"], record["status"]) == (headers["x-webhook-id"], 400)
    assert record["stringifyVerified"] is False


async def test_status_knob_answers_verified_requests_with_the_given_status(
    express_receiver: NodeReceiver, http: aiohttp.ClientSession
) -> None:
    event = _event({"ok": True})
    body = dumps(event)
    await express_receiver.set_status(503)
    try:
        status, record = await _deliver(http, express_receiver, body)
    finally:
        await express_receiver.set_status(None)
    assert (status, record["status"], record["rawVerified"]) == (503, 503, True)
    status, record = await _deliver(http, express_receiver, body)
    _assert_verified(status, record, body, event["eventId"])
