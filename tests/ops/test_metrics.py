"""/metrics scraped from the real app and parsed by prometheus-client's own parser.

The registry is process-wide, so counters are compared before and after; the backlog
gauges are read from this module's database (the dispatcher is off, so deliveries stay
due).
"""

import random

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.demo.traffic import make_event, organisation_for
from tests.support.factories import EVENT_TYPES, app_event, new_tenant, new_webhook

FAMILIES = (
    "hookline_events_accepted",
    "hookline_deliveries",
    "hookline_delivery_attempts",
    "hookline_attempt_latency_seconds",
    "hookline_due_deliveries",
    "hookline_oldest_due_delivery_age_seconds",
    "hookline_live_connected_sockets",
    "hookline_live_messages_dropped",
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def _scrape(client: httpx.AsyncClient) -> tuple[set[str], Samples]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families, samples = set(), {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return families, samples


def _accepted(samples: Samples, event_type: str) -> float:
    return samples.get(("hookline_events_accepted_total", (("event_type", event_type),)), 0.0)


async def test_every_family_is_exported(client: httpx.AsyncClient) -> None:
    families, samples = await _scrape(client)
    assert set(FAMILIES) <= families
    assert ("hookline_due_deliveries", ()) in samples
    assert ("hookline_live_connected_sockets", ()) in samples


async def test_counters_and_backlog_move_with_events(client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client, "Metered")
    await new_webhook(client, tenant)  # subscribed to every type: one delivery per event
    _, before = await _scrape(client)

    for user in ("u1", "u2", "u3"):
        response = await client.post(
            "/v1/events", json=app_event(user), headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text
    org = organisation_for(tenant.ingest_key, random.Random(1))
    batch = [make_event(org, random.Random(i), EVENT_TYPES[1]) for i in range(2)]
    response = await client.post(
        "/v1/events/batch", json={"events": batch}, headers=tenant.ingest_headers
    )
    assert response.status_code == 202, response.text

    _, after = await _scrape(client)
    assert _accepted(after, EVENT_TYPES[0]) - _accepted(before, EVENT_TYPES[0]) == 3
    assert _accepted(after, EVENT_TYPES[1]) - _accepted(before, EVENT_TYPES[1]) == 2
    due_before = before[("hookline_due_deliveries", ())]
    assert after[("hookline_due_deliveries", ())] - due_before == 5
    assert after[("hookline_oldest_due_delivery_age_seconds", ())] >= 0
