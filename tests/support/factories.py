"""Real tenants made through the real API: a reseller, an organisation and their keys."""

from dataclasses import dataclass
from typing import Any

import httpx

ADMIN_TOKEN = "test-admin-token-0123456789"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EVENT_TYPES = (
    "desktop.app_tracking.captured",
    "desktop.screenshot_tracking.captured",
    "desktop.activity_tracking.captured",
)


@dataclass
class Tenant:
    reseller_id: str
    name: str
    api_key: str
    organisation_id: str
    organisation_name: str
    ingest_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def ingest_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ingest_key}"}


async def new_tenant(client: httpx.AsyncClient, name: str = "Reseller") -> Tenant:
    response = await client.post("/v1/admin/resellers", json={"name": name}, headers=ADMIN_HEADERS)
    assert response.status_code == 201, response.text
    reseller = response.json()
    headers = {"Authorization": f"Bearer {reseller['apiKey']}"}
    response = await client.post("/v1/organisations", json={"name": f"{name} Org"}, headers=headers)
    assert response.status_code == 201, response.text
    org = response.json()
    return Tenant(
        reseller["id"], name, reseller["apiKey"], org["id"], org["name"], org["ingestKey"]
    )


async def new_webhook(
    client: httpx.AsyncClient,
    tenant: Tenant,
    url: str = "https://hooks.example.com/reseller",
    events: tuple[str, ...] = EVENT_TYPES,
    name: str = "Main endpoint",
    **options: Any,
) -> dict[str, Any]:
    """`options` are further fields of the webhook (`maxInFlight=1`, …)."""
    response = await client.post(
        "/v1/webhooks",
        json={"name": name, "url": url, "events": list(events), **options},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    webhook: dict[str, Any] = response.json()
    return webhook


def app_event(user_id: str = "user_1", team_id: str = "team_1", **extra: Any) -> dict[str, Any]:
    """A valid ingest body of the app-tracking type."""
    body: dict[str, Any] = {
        "event": "desktop.app_tracking.captured",
        "userId": user_id,
        "teamId": team_id,
        "data": [
            {
                "organisation": {"organisationId": "o1"},
                "team": {"teamId": team_id},
                "user": {"userId": user_id},
                "tracking": {"trackingId": "t1", "app": {"name": "Slack", "type": "application"}},
            }
        ],
    }
    body.update(extra)
    return body
