"""Demo traffic against the real app: accepted, valid shapes, real JPEGs, the demo's webhook."""

import asyncio
import base64
import random
import struct
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema_rs
import pytest
import pytest_asyncio
from fastapi import FastAPI

from app.config import Settings
from app.demo.jpeg import screenshot_jpeg
from app.demo.traffic import (
    DEMO_WEBHOOK,
    EVENT_TYPES,
    make_event,
    organisation_for,
    run_demo,
    send_events,
)
from app.events.catalogue import CATALOGUE
from app.main import create_app
from tests.conftest import make_settings
from tests.support.databases import DatabaseFactory
from tests.support.factories import Tenant, new_tenant
from tests.support.server import serve


@pytest_asyncio.fixture(scope="module")
async def settings(databases: DatabaseFactory) -> Settings:
    return make_settings(await databases.fresh("sqlite"))


@pytest_asyncio.fixture(scope="module")
async def traffic_app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture
async def http(traffic_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=traffic_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as client:
        yield client


def _jpeg_size(image: bytes) -> tuple[int, int]:
    """Walks the JPEG's segments to its frame header: (width, height)."""
    assert image[:2] == b"\xff\xd8" and image[-2:] == b"\xff\xd9"
    at = 2
    while image[at] == 0xFF and image[at + 1] != 0xC0:
        at += 2 + struct.unpack(">H", image[at + 2 : at + 4])[0]
    height, width = struct.unpack(">HH", image[at + 5 : at + 9])
    return width, height


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_events_match_the_catalogue_schemas(event_type: str) -> None:
    rng = random.Random(7)
    org = organisation_for("ik_example", rng)
    validator = jsonschema_rs.validator_for(CATALOGUE[event_type].schema)
    for _ in range(20):
        body = make_event(org, rng, event_type)
        assert body["event"] == event_type
        validator.validate(body["data"])
        items = body["data"] if isinstance(body["data"], list) else [body["data"]]
        for item in items:
            assert item["user"]["userId"] == body["userId"]
            assert item["team"]["teamId"] == body["teamId"]
            assert item["organisation"]["organisationId"] == org.organisation_id


def test_screenshots_are_real_jpegs() -> None:
    rng = random.Random(3)
    plain = screenshot_jpeg(rng)
    assert _jpeg_size(plain) == (320, 200)
    assert len(plain) < 4096
    padded = screenshot_jpeg(rng, pad_kb=40)
    assert _jpeg_size(padded) == (320, 200)
    assert 40 * 1024 < len(padded) < 45 * 1024
    body = make_event(organisation_for("ik_x", rng), rng, EVENT_TYPES[1], screenshot_kb=20)
    image = base64.b64decode(body["data"][0]["screenshot"]["imageBuffer"])
    assert _jpeg_size(image) == (320, 200)


def test_organisation_ids_do_not_reveal_keys() -> None:
    org = organisation_for("ik_secretsecret", random.Random(1))
    assert "secret" not in org.organisation_id
    assert organisation_for("ik_secretsecret", random.Random(2)).organisation_id == (
        org.organisation_id
    )


async def _stored(http: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await http.get("/v1/events", params={"limit": 200}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["data"]
    return events


@pytest.mark.parametrize("batch_size", [1, 5])
async def test_send_events_are_accepted(http: httpx.AsyncClient, batch_size: int) -> None:
    tenant = await new_tenant(http, f"Traffic {batch_size}")
    second = await http.post("/v1/organisations", json={"name": "Two"}, headers=tenant.headers)
    keys = [tenant.ingest_key, second.json()["ingestKey"]]
    stats = await send_events(
        "http://unused", keys, rate=500, count=12, batch_size=batch_size, seed=5, client=http
    )
    assert (stats.sent, stats.accepted, stats.failed) == (12, 12, 0), stats.statuses
    assert sum(stats.by_type.values()) == 12
    stored = await _stored(http, tenant)
    assert len(stored) == 12
    assert {event["event"] for event in stored} <= set(EVENT_TYPES)
    detail = await http.get(f"/v1/events/{stored[0]['id']}", headers=tenant.headers)
    payload = detail.json()["payload"]
    jsonschema_rs.validator_for(CATALOGUE[payload["event"]].schema).validate(payload["data"])


async def test_duration_bounds_a_run(http: httpx.AsyncClient) -> None:
    tenant = await new_tenant(http, "Timed")
    stats = await send_events(
        "http://unused", [tenant.ingest_key], rate=20, duration=0.3, client=http
    )
    assert 1 <= stats.sent <= 7
    assert stats.accepted == stats.sent


async def test_refused_events_are_counted(http: httpx.AsyncClient) -> None:
    stats = await send_events("http://unused", ["ik_" + "x" * 43], rate=100, count=3, client=http)
    assert (stats.accepted, stats.failed) == (0, 3)
    assert stats.statuses["401"] == 3


async def test_demo_makes_a_webhook_and_traffic_through_uvicorn(settings: Settings) -> None:
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        tenant = await new_tenant(http, "Demo")
        await run_demo(server.url, tenant.api_key, [tenant.ingest_key], traffic=False)
        await run_demo(server.url, tenant.api_key, [tenant.ingest_key], traffic=False)
        hooks = (await http.get("/v1/webhooks", headers=tenant.headers)).json()["data"]
        assert [(h["url"], h["events"]) for h in hooks] == [
            (DEMO_WEBHOOK["url"], DEMO_WEBHOOK["events"])
        ]
        demo = asyncio.create_task(
            run_demo(server.url, tenant.api_key, [tenant.ingest_key], traffic=True, rate=50)
        )
        try:
            async with asyncio.timeout(20):
                while len(await _stored(http, tenant)) < 3:
                    await asyncio.sleep(0.05)
        finally:
            demo.cancel()
            with pytest.raises(asyncio.CancelledError):
                await demo
