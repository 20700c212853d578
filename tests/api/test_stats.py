"""Endpoint stats against a hand-counted attempt log, on both databases: counts by kind,
percentiles (percentile_cont on PostgreSQL, the same interpolation on SQLite), every
bucket present, empty windows, the endpoint's state; and the index the query uses."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import insert, text

from app.kit.ids import new_id
from app.kit.time import iso
from app.models import DeliveryAttempt
from app.webhooks import stats
from tests.support.deliveries import deliveries_of, ingest
from tests.support.factories import Tenant, new_tenant, new_webhook

T = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a boundary of every bucket size
INDEX = "ix_delivery_attempts_webhook_id_attempted_at"


def _attempt(
    delivery_id: str,
    webhook_id: str,
    before: timedelta,
    kind: str | None,
    status: int | None,
    ms: int,
) -> dict[str, Any]:
    return {
        "id": new_id("att"),
        "delivery_id": delivery_id,
        "webhook_id": webhook_id,
        "attempt_number": 1,
        "attempted_at": T - before,
        "status_code": status,
        "latency_ms": ms,
        "kind": kind,
    }


async def _log(app: FastAPI, client: httpx.AsyncClient) -> tuple[Tenant, str]:
    """The hand-counted log of one webhook (and one attempt of another, never counted)."""
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    other = await new_webhook(client, tenant, name="Other")
    await ingest(client, tenant, 1)
    [mine] = await deliveries_of(app, webhook["id"])
    [theirs] = await deliveries_of(app, other["id"])
    w, d = webhook["id"], mine.id
    minutes = lambda n: timedelta(minutes=n)  # noqa: E731
    rows = [
        _attempt(d, w, minutes(30), "success", 200, 100),
        _attempt(d, w, minutes(30), "success", 200, 300),
        _attempt(d, w, minutes(30), "http_error", 500, 50),
        _attempt(d, w, minutes(90), "timeout", None, 1000),
        _attempt(d, w, minutes(90), "refused", None, 0),
        _attempt(d, w, minutes(300), "network_error", None, 20),
        _attempt(d, w, minutes(300), "success", 201, 200),
        _attempt(d, w, minutes(600), None, 503, 70),  # recorded before kinds: by its status
        _attempt(d, w, minutes(24 * 60), "http_error", 404, 400),  # the window's first instant
        _attempt(d, w, minutes(25 * 60), "success", 200, 10),  # in 7d only
        _attempt(d, w, minutes(0), "success", 200, 999),  # the window's end: excluded
        _attempt(theirs.id, other["id"], minutes(30), "success", 200, 5),
    ]
    async with app.state.sessionmaker() as session:
        await session.execute(insert(DeliveryAttempt), rows)
        await session.commit()
    return tenant, w


async def _stats(client: httpx.AsyncClient, tenant: Tenant, webhook_id: str, **query: str) -> Any:
    response = await client.get(
        f"/v1/webhooks/{webhook_id}/stats", params=query, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def _buckets(result: Any) -> dict[int, tuple[int, int, int]]:
    return {
        i: (b["attempts"], b["successes"], b["failures"])
        for i, b in enumerate(result["series"])
        if b["attempts"]
    }


async def test_stats_match_the_hand_counted_log(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant, webhook_id = await _log(app, client)

    day = await _stats(client, tenant, webhook_id, window="24h", until=iso(T))
    assert (day["window"], day["bucketSeconds"]) == ("24h", 3600)
    assert datetime.fromisoformat(day["since"]) == T - timedelta(hours=24)
    assert datetime.fromisoformat(day["until"]) == T
    assert (day["attempts"], day["successes"]) == (9, 3)
    assert day["failures"] == {"timeout": 1, "networkError": 1, "httpError": 3, "refused": 1}
    assert day["successRate"] == 3 / 9
    # answered latencies 50, 70, 100, 200, 300, 400: p50 = 150, p95 = 300 + 0.75·100
    assert day["latencyMs"] == {"p50": 150.0, "p95": 375.0}
    assert len(day["series"]) == 24
    assert [datetime.fromisoformat(b["start"]) for b in day["series"][:2]] == [
        T - timedelta(hours=24),
        T - timedelta(hours=23),
    ]
    assert _buckets(day) == {
        23: (3, 2, 1),
        22: (2, 0, 2),
        19: (2, 1, 1),
        14: (1, 0, 1),
        0: (1, 0, 1),
    }
    # the mean latency of each bucket's answered attempts (timeouts and refusals have none)
    means = {i: b["latencyMs"] for i, b in enumerate(day["series"]) if b["latencyMs"] is not None}
    assert means == {23: 150.0, 19: 200.0, 14: 70.0, 0: 400.0}  # 22: timeout, refused
    assert "answered" not in day["series"][0] and "latencyTotal" not in day["series"][0]

    hour = await _stats(client, tenant, webhook_id, window="1h", until=iso(T))
    assert (hour["attempts"], hour["successes"], len(hour["series"])) == (3, 2, 12)
    assert hour["failures"] == {"timeout": 0, "networkError": 0, "httpError": 1, "refused": 0}
    assert _buckets(hour) == {6: (3, 2, 1)}
    assert hour["latencyMs"] == {"p50": 100.0, "p95": 280.0}  # 50, 100, 300

    week = await _stats(client, tenant, webhook_id, window="7d", until=iso(T))
    assert (week["attempts"], week["successes"], week["bucketSeconds"]) == (10, 4, 21600)
    assert len(week["series"]) == 28
    assert _buckets(week) == {27: (7, 3, 4), 26: (1, 0, 1), 24: (1, 0, 1), 23: (1, 1, 0)}

    # `until` inside a bucket: the window ends at that bucket's end
    shifted = await _stats(
        client, tenant, webhook_id, window="1h", until=iso(T - timedelta(minutes=7))
    )
    assert datetime.fromisoformat(shifted["until"]) == T - timedelta(minutes=5)
    assert _buckets(shifted) == {7: (3, 2, 1)}


async def test_empty_windows(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant, webhook_id = await _log(app, client)
    for window, buckets in (("1h", 12), ("24h", 24), ("7d", 28)):
        empty = await _stats(
            client, tenant, webhook_id, window=window, until=iso(T - timedelta(days=30))
        )
        assert (empty["attempts"], empty["successes"], empty["successRate"]) == (0, 0, None)
        assert empty["latencyMs"] == {"p50": None, "p95": None}
        assert empty["failures"] == {"timeout": 0, "networkError": 0, "httpError": 0, "refused": 0}
        assert len(empty["series"]) == buckets and _buckets(empty) == {}
    fresh_tenant = await new_tenant(client, "Fresh")
    fresh = await new_webhook(client, fresh_tenant)
    now = await _stats(client, fresh_tenant, fresh["id"])  # defaults: 24h up to now
    assert now["window"] == "24h" and now["attempts"] == 0 and len(now["series"]) == 24
    assert now["endpoint"] == {
        "state": "healthy",
        "enabled": True,
        "disabledReason": None,
        "disabledAt": None,
        "consecutiveFailures": 0,
        "failingSince": None,
        "breaker": "closed",
    }


async def test_endpoint_state_and_bad_queries(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    url = f"/v1/webhooks/{webhook['id']}/stats"
    threshold = app.state.settings.breaker_failures
    async with app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE webhooks SET consecutive_failures = :n WHERE id = :id"),
            {"n": threshold, "id": webhook["id"]},
        )
        await session.commit()
    paused = (await client.get(url, headers=tenant.headers)).json()["endpoint"]
    assert (paused["state"], paused["breaker"], paused["consecutiveFailures"]) == (
        "paused",
        "open",
        threshold,
    )
    await client.patch(
        f"/v1/webhooks/{webhook['id']}", json={"enabled": False}, headers=tenant.headers
    )
    disabled = (await client.get(url, headers=tenant.headers)).json()["endpoint"]
    assert (disabled["state"], disabled["enabled"], disabled["breaker"]) == (
        "disabled",
        False,
        "closed",
    )
    assert disabled["disabledReason"] == "Disabled by the user" and disabled["disabledAt"]
    for query in (
        {"window": "2h"},
        {"window": ""},
        {"until": "soon"},
        {"until": "2026-11-30T12:00:00"},
        {"until": "9999-12-31T23:59:59Z"},
        {"until": "0001-01-01T00:00:00Z"},
    ):
        response = await client.get(url, params=query, headers=tenant.headers)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["error"]["code"] == "validation_error"


async def test_the_query_reads_the_index(app: FastAPI, client: httpx.AsyncClient) -> None:
    """With attempts of many endpoints in the table (and statistics gathered), both
    databases plan one range of (webhook_id, attempted_at), not a scan of the table."""
    _, webhook_id = await _log(app, client)
    [delivery] = await deliveries_of(app, webhook_id)
    async with app.state.sessionmaker() as session:
        many = [
            _attempt(
                delivery.id,
                f"whk_other{n % 200:03d}",
                timedelta(minutes=n % 10_000),
                "success",
                200,
                n % 500,
            )
            for n in range(20_000)
        ]
        await session.execute(insert(DeliveryAttempt), many)
        await session.commit()
        dialect = session.get_bind().dialect.name
        await session.execute(text("ANALYZE"))
        start, end, size = stats.window_bounds("24h", T)
        query = stats.counts_query(dialect, webhook_id, start, end, size)
        compiled = query.compile(
            dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
        )
        explain = "EXPLAIN" if dialect == "postgresql" else "EXPLAIN QUERY PLAN"
        plan = "\n".join(
            str(row[-1]) for row in await session.execute(text(f"{explain} {compiled}"))
        )
        await session.commit()
    assert INDEX in plan, plan
    if dialect == "postgresql":
        assert "Seq Scan" not in plan, plan
    else:
        assert "SCAN delivery_attempts" not in plan.replace(f"USING INDEX {INDEX}", ""), plan
