"""Signature schemes per webhook: `signatureScheme` on create and PATCH (a change mints a
secret in the new scheme's format), and secret rotation with an overlap (standard-webhooks
only: the hookline header holds one signature). Simulations sign in the webhook's scheme,
checked by the `standardwebhooks` package from PyPI at a real receiver on loopback."""

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.dispatch.housekeeping import housekeeping_once
from app.main import create_app
from app.models import Webhook
from app.ops.logging import Redactor
from app.wire import standard_webhooks
from app.wire.signature import verify
from tests.conftest import make_settings
from tests.support.factories import EVENT_TYPES, Tenant, new_tenant, new_webhook
from tests.support.receiver import Received, http_receiver

SW = "standard-webhooks"
OVERLAP = 3600  # this module's HOOKLINE_SECRET_ROTATION_OVERLAP_SECONDS


@pytest_asyncio.fixture(scope="module")
async def relaxed(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """Loopback targets allowed (simulations to a real receiver), a one-hour default overlap."""
    application: FastAPI = create_app(
        make_settings(
            database_url, allow_private_targets=True, secret_rotation_overlap_seconds=OVERLAP
        )
    )
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield http


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _get(client: httpx.AsyncClient, tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/webhooks/{webhook_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _secret(client: httpx.AsyncClient, tenant: Tenant, webhook_id: str) -> str:
    response = await client.get(f"/v1/webhooks/{webhook_id}/secret", headers=tenant.headers)
    secret: str = response.json()["secret"]
    return secret


async def _rotate(
    client: httpx.AsyncClient, tenant: Tenant, webhook_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/v1/webhooks/{webhook_id}/secret/rotate",
        json=body or None,
        headers=tenant.headers,
    )


def _assert_whsec(secret: str) -> None:
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    StandardWebhook(secret)  # the library accepts it as is


async def test_default_is_hookline_and_standard_webhooks_has_a_whsec_secret(
    relaxed: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(relaxed)
    plain = await new_webhook(relaxed, tenant)
    assert plain["signatureScheme"] == "hookline"
    assert plain["previousSecretExpiresAt"] is None
    assert len(plain["secret"]) == 43 and not plain["secret"].startswith("whsec_")
    standard = await new_webhook(relaxed, tenant, signatureScheme=SW)
    assert standard["signatureScheme"] == SW
    _assert_whsec(standard["secret"])
    assert standard["secretMasked"] == standard["secret"][:8] + "•" * 24
    assert (await _get(relaxed, tenant, standard["id"]))["signatureScheme"] == SW
    listed = (await relaxed.get("/v1/webhooks", headers=tenant.headers)).json()["data"]
    assert {w["id"]: w["signatureScheme"] for w in listed} == {
        plain["id"]: "hookline",
        standard["id"]: SW,
    }


@pytest.mark.parametrize("scheme", ["svix", "HOOKLINE", "", None, 1])
async def test_an_unknown_scheme_is_a_422(relaxed: httpx.AsyncClient, scheme: Any) -> None:
    tenant = await new_tenant(relaxed)
    response = await relaxed.post(
        "/v1/webhooks",
        json={
            "name": "W",
            "url": "https://hooks.example.com/h",
            "events": [EVENT_TYPES[0]],
            "signatureScheme": scheme,
        },
        headers=tenant.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert "signatureScheme" in str(response.json()["error"])
    webhook = await new_webhook(relaxed, tenant)
    patched = await relaxed.patch(
        f"/v1/webhooks/{webhook['id']}",
        json={"signatureScheme": scheme, "name": "Renamed"},
        headers=tenant.headers,
    )
    assert patched.status_code == 422, patched.text
    after = await _get(relaxed, tenant, webhook["id"])
    assert (after["name"], after["signatureScheme"]) == (webhook["name"], "hookline")
    assert await _secret(relaxed, tenant, webhook["id"]) == webhook["secret"]


async def test_switching_scheme_mints_a_secret_in_its_format(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(relaxed, tenant)
    path = f"/v1/webhooks/{webhook['id']}"
    same = await relaxed.patch(path, json={"signatureScheme": "hookline"}, headers=tenant.headers)
    assert same.status_code == 200 and same.json()["secretMasked"] == webhook["secretMasked"]
    assert await _secret(relaxed, tenant, webhook["id"]) == webhook["secret"]

    switched = await relaxed.patch(path, json={"signatureScheme": SW}, headers=tenant.headers)
    assert switched.status_code == 200, switched.text
    assert switched.json()["signatureScheme"] == SW
    assert switched.json()["previousSecretExpiresAt"] is None  # no overlap on a switch
    minted = await _secret(relaxed, tenant, webhook["id"])
    _assert_whsec(minted)
    assert switched.json()["secretMasked"] == minted[:8] + "•" * 24

    # Rotate (an overlap starts), then switch back: a hookline secret, the overlap ends.
    assert (await _rotate(relaxed, tenant, webhook["id"])).json()["previousSecretExpiresAt"]
    back = await relaxed.patch(path, json={"signatureScheme": "hookline"}, headers=tenant.headers)
    assert back.json()["signatureScheme"] == "hookline"
    assert back.json()["previousSecretExpiresAt"] is None
    again = await _secret(relaxed, tenant, webhook["id"])
    assert len(again) == 43 and not again.startswith("whsec_") and again != webhook["secret"]


async def test_rotation_overlap_default_explicit_and_none(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(relaxed, tenant, signatureScheme=SW)
    before = datetime.now(UTC)
    rotated = await _rotate(relaxed, tenant, webhook["id"])
    after = datetime.now(UTC)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    _assert_whsec(body["secret"])
    assert body["secret"] != webhook["secret"]
    assert body["secretMasked"] == body["secret"][:8] + "•" * 24
    until = _at(body["previousSecretExpiresAt"])
    assert before + timedelta(seconds=OVERLAP) <= until <= after + timedelta(seconds=OVERLAP)
    card = await _get(relaxed, tenant, webhook["id"])
    assert _at(card["previousSecretExpiresAt"]) == until
    assert await _secret(relaxed, tenant, webhook["id"]) == body["secret"]

    explicit = (await _rotate(relaxed, tenant, webhook["id"], overlapSeconds=120)).json()
    until = _at(explicit["previousSecretExpiresAt"])
    assert before + timedelta(seconds=120) <= until <= datetime.now(UTC) + timedelta(seconds=120)

    none = await _rotate(relaxed, tenant, webhook["id"], overlapSeconds=0)
    assert none.status_code == 200 and none.json()["previousSecretExpiresAt"] is None
    assert (await _get(relaxed, tenant, webhook["id"]))["previousSecretExpiresAt"] is None


@pytest.mark.parametrize("overlap", [-1, 7 * 86_400 + 1, "soon", 1.5, [60]])
async def test_a_bad_overlap_is_a_422_and_changes_nothing(
    relaxed: httpx.AsyncClient, overlap: Any
) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(relaxed, tenant, signatureScheme=SW)
    response = await _rotate(relaxed, tenant, webhook["id"], overlapSeconds=overlap)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert await _secret(relaxed, tenant, webhook["id"]) == webhook["secret"]
    unknown = await _rotate(relaxed, tenant, webhook["id"], overlap=60)
    assert unknown.status_code == 422


async def test_hookline_rotation_is_immediate(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(relaxed, tenant)
    refused = await _rotate(relaxed, tenant, webhook["id"], overlapSeconds=60)
    assert refused.status_code == 422, refused.text
    assert "overlapSeconds" in str(refused.json()["error"])
    assert await _secret(relaxed, tenant, webhook["id"]) == webhook["secret"]
    for body in ({}, {"overlapSeconds": 0}):
        rotated = await _rotate(relaxed, tenant, webhook["id"], **body)
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["previousSecretExpiresAt"] is None
        assert len(rotated.json()["secret"]) == 43


async def test_rotate_takes_json_or_no_body(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    webhook = await new_webhook(relaxed, tenant, signatureScheme=SW)
    path = f"/v1/webhooks/{webhook['id']}/secret/rotate"
    as_text = await relaxed.post(
        path, content=b"overlapSeconds=5", headers={**tenant.headers, "content-type": "text/plain"}
    )
    assert as_text.status_code == 415
    assert as_text.json()["error"]["code"] == "unsupported_media_type"
    assert await _secret(relaxed, tenant, webhook["id"]) == webhook["secret"]
    bare = await relaxed.post(path, headers=tenant.headers)
    assert bare.status_code == 200 and bare.json()["previousSecretExpiresAt"] is not None
    unauthenticated = await relaxed.post(path, json={"overlapSeconds": 5})
    assert unauthenticated.status_code == 401


async def test_another_reseller_cannot_switch_or_rotate(relaxed: httpx.AsyncClient) -> None:
    owner, other = await new_tenant(relaxed, "Owner"), await new_tenant(relaxed, "Other")
    webhook = await new_webhook(relaxed, owner, signatureScheme=SW)
    path = f"/v1/webhooks/{webhook['id']}"
    patched = await relaxed.patch(path, json={"signatureScheme": "hookline"}, headers=other.headers)
    rotated = await _rotate(relaxed, other, webhook["id"], overlapSeconds=60)
    assert (patched.status_code, rotated.status_code) == (404, 404)
    assert (await _get(relaxed, owner, webhook["id"]))["signatureScheme"] == SW
    assert await _secret(relaxed, owner, webhook["id"]) == webhook["secret"]


def _verifies(secret: str, request: Received) -> bool:
    try:
        StandardWebhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


async def test_simulations_sign_in_the_webhooks_scheme(relaxed: httpx.AsyncClient) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver() as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.url(), signatureScheme=SW)
        old = webhook["secret"]
        simulate = f"/v1/webhooks/{webhook['id']}/simulate"
        first = await relaxed.post(simulate, json={"event": EVENT_TYPES[0]}, headers=tenant.headers)
        assert first.status_code == 200 and first.json()["delivered"] is True, first.text
        new = (await _rotate(relaxed, tenant, webhook["id"])).json()["secret"]
        during = await relaxed.post(
            simulate, json={"event": EVENT_TYPES[0]}, headers=tenant.headers
        )
        await _rotate(relaxed, tenant, webhook["id"], overlapSeconds=0)
        newest = await _secret(relaxed, tenant, webhook["id"])
        after = await relaxed.post(simulate, json={"event": EVENT_TYPES[0]}, headers=tenant.headers)
        # each simulation is followed by its self-check's mis-signed copy
        before_rotation, forged, in_overlap, _, after_overlap, _ = receiver.requests
    assert first.json()["selfCheck"]["acceptedBadSignature"] is True
    assert forged.body == before_rotation.body and not _verifies(old, forged)
    shown = first.json()["headers"]
    assert set(shown) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert shown == {name: before_rotation.headers[name] for name in shown}
    assert shown["webhook-id"].startswith("sim_")
    assert "x-webhook-signature" not in before_rotation.headers
    assert before_rotation.headers["x-webhook-event"] == EVENT_TYPES[0]
    assert before_rotation.headers["Content-Type"] == "application/json"
    assert _verifies(old, before_rotation)

    signatures = in_overlap.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and during.json()["headers"]["webhook-signature"] == " ".join(
        signatures
    )
    assert _verifies(old, in_overlap) and _verifies(new, in_overlap)
    assert len(after_overlap.headers["webhook-signature"].split(" ")) == 1
    assert _verifies(newest, after_overlap)
    assert not _verifies(new, after_overlap) and not _verifies(old, after_overlap)
    assert after.json()["delivered"] is True


async def test_hookline_simulation_is_unchanged_and_single_after_rotation(
    relaxed: httpx.AsyncClient,
) -> None:
    tenant = await new_tenant(relaxed)
    async with http_receiver() as receiver:
        webhook = await new_webhook(relaxed, tenant, url=receiver.url())
        new = (await _rotate(relaxed, tenant, webhook["id"])).json()["secret"]
        result = await relaxed.post(
            f"/v1/webhooks/{webhook['id']}/simulate",
            json={"event": EVENT_TYPES[0]},
            headers=tenant.headers,
        )
        request, _forged = receiver.requests  # the self-check's copy second
    assert set(result.json()["headers"]) == {"x-webhook-timestamp", "x-webhook-signature"}
    assert "webhook-signature" not in request.headers
    timestamp = int(request.headers["x-webhook-timestamp"])
    signature = request.headers["x-webhook-signature"]
    assert verify(new, timestamp, request.body, signature)
    assert not verify(webhook["secret"], timestamp, request.body, signature)


def test_whsec_secrets_are_redacted_in_logs() -> None:
    secret = standard_webhooks.new_secret()
    redact = Redactor()
    for line in (f"minted {secret}", f"secret={secret}", f'{{"secret": "{secret}"}}'):
        assert secret.removeprefix("whsec_") not in redact(line)
    assert redact(f"minted {secret} for W") == "minted whsec_[redacted] for W"


async def test_housekeeping_forgets_a_previous_secret_once_its_overlap_is_over(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant, signatureScheme=SW)
    other = await new_webhook(client, tenant, signatureScheme=SW)
    await _rotate(client, tenant, webhook["id"], overlapSeconds=3600)
    await _rotate(client, tenant, other["id"], overlapSeconds=7200)
    settings = app.state.settings
    sessions = app.state.sessionmaker

    async def previous(webhook_id: str) -> tuple[str | None, datetime | None]:
        async with sessions() as session:
            row = await session.get(Webhook, webhook_id)
            assert row is not None
            return row.previous_secret, row.previous_secret_expires_at

    await housekeeping_once(sessions, settings, now=datetime.now(UTC))
    assert (await previous(webhook["id"]))[0] == webhook["secret"]
    await housekeeping_once(sessions, settings, now=datetime.now(UTC) + timedelta(seconds=5400))
    assert await previous(webhook["id"]) == (None, None)
    assert (await previous(other["id"]))[0] == other["secret"]  # its overlap runs on
    assert (await _get(client, tenant, other["id"]))["previousSecretExpiresAt"] is not None
