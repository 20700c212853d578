"""The hourly rollups behind a busy endpoint's stats, on both databases: written by the
real result writer (in-process on SQLite, three worker processes on PostgreSQL) they
equal the attempt log; the migration's backfill equals the writer; past `RAW_LIMIT` the
stats read them (exact counts, percentiles within a bucket's width) through their
primary key; and housekeeping prunes their old hours with the old attempts."""

import asyncio
import contextlib
import random
import signal
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.engine import create_engine, create_sessionmaker
from app.dispatch.housekeeping import prune_attempts
from app.dispatch.rollups import (
    PER_OCTAVE,
    backfill_statement,
    bucket_range,
    latency_bucket,
    rollup_rows,
)
from app.kit.ids import new_id
from app.kit.time import iso
from app.models import AttemptRollup, Delivery, DeliveryAttempt, Webhook
from app.models.delivery import PENDING
from app.webhooks import stats
from tests.conftest import make_settings
from tests.dispatch.helpers import dispatching
from tests.support.deliveries import deliveries_of
from tests.support.deliveries import ingest as ingest_events
from tests.support.factories import Tenant, new_tenant, new_webhook
from tests.support.receiver import Received, Receiver, Reply
from tests.support.workers import api, ingest, kill, start_worker

T = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PK = "pk_attempt_rollups"
TOLERANCE = 1 / PER_OCTAVE  # a bucket's width, relative to its lower bound


def test_latency_buckets_are_contiguous_and_narrow() -> None:
    previous = -1
    for ms in [*range(0, 5000), *(2**n + d for n in range(13, 31) for d in (-1, 0, 1))]:
        bucket = latency_bucket(200, ms)
        low, high = bucket_range(bucket)
        assert low <= ms <= high, (ms, bucket)
        assert high - low <= low * TOLERANCE, (ms, bucket)
        assert bucket in (previous, previous + 1) or ms >= 5000, ms  # contiguous
        previous = bucket
    assert latency_bucket(None, 250) == -1 and latency_bucket(200, 2**31 - 1) < 2**15


def _rollup(row: Any) -> dict[str, Any]:
    return {c: getattr(row, c) for c in ("webhook_id", "hour", "kind", "latency_bucket")} | {
        "attempts": row.attempts,
        "latency_total": row.latency_total,
    }


async def _rollups(session: AsyncSession, webhook_ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(AttemptRollup)
        .where(AttemptRollup.webhook_id.in_(webhook_ids))
        .order_by(
            AttemptRollup.webhook_id,
            AttemptRollup.hour,
            AttemptRollup.kind,
            AttemptRollup.latency_bucket,
        )
    )
    return [_rollup(r) for r in rows.scalars()]


async def _from_the_log(session: AsyncSession, webhook_ids: Sequence[str]) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(
            DeliveryAttempt.webhook_id,
            DeliveryAttempt.attempted_at,
            DeliveryAttempt.kind,
            DeliveryAttempt.status_code,
            DeliveryAttempt.latency_ms,
        ).where(DeliveryAttempt.webhook_id.in_(webhook_ids))
    )
    return rollup_rows({**r._asdict(), "kind": _kind(r.kind, r.status_code)} for r in rows)


def _kind(kind: str | None, status: int | None) -> str:
    """As the stats classify a row written before kinds."""
    if kind is not None:
        return kind
    if status is None:
        return "network_error"
    return "success" if 200 <= status < 300 else "http_error"


def _mixed(received: Received) -> Reply:
    """Answers of varied latency (0-45 ms), one in five a 500 (retried once)."""
    n = int(received.headers["x-webhook-id"][-2:], 36)
    return Reply(500 if n % 5 == 0 else 200, delay=(n % 4) * 0.015)


async def _settled(sessions: async_sessionmaker[AsyncSession], expected: int) -> None:
    """Until every delivery is final (results are written asynchronously)."""
    async with asyncio.timeout(60):
        while True:
            async with sessions() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(Delivery).where(Delivery.status == PENDING)
                )
                total = await session.scalar(select(func.count()).select_from(Delivery))
            if total == expected and not pending:
                return
            await asyncio.sleep(0.2)


async def _check_against_the_log(
    sessions: async_sessionmaker[AsyncSession], webhook_ids: Sequence[str]
) -> None:
    async with sessions() as session:
        expected = await _from_the_log(session, webhook_ids)
        assert await _rollups(session, webhook_ids) == expected
        kinds = {r["kind"] for r in expected}
        assert {"success", "http_error", "network_error"} <= kinds, kinds
        assert sum(r["attempts"] for r in expected) > 200
        # the stats read from the rollups (raw_limit 0) and from the log agree
        settings = make_settings(str(session.get_bind().url))
        webhook = await session.get(Webhook, webhook_ids[0])
        assert webhook is not None
        now = datetime.now(UTC)
        for window in ("24h", "7d"):
            raw = await stats.endpoint_stats(session, settings, webhook, window, now)
            rolled = await stats.endpoint_stats(
                session, settings, webhook, window, now, raw_limit=0
            )
            assert (raw.latency_approximate, rolled.latency_approximate) == (False, True)
            assert raw.attempts > 0
            assert rolled.model_dump(exclude={"latency_ms", "latency_approximate"}) == (
                raw.model_dump(exclude={"latency_ms", "latency_approximate"})
            )
            for exact, approximate in (
                (raw.latency_ms.p50, rolled.latency_ms.p50),
                (raw.latency_ms.p95, rolled.latency_ms.p95),
            ):
                assert exact is not None and approximate is not None
                assert abs(approximate - exact) <= exact * TOLERANCE + 1, (exact, approximate)


@pytest.mark.timeout(120)
async def test_rollups_equal_the_log_after_real_deliveries(database_url: str) -> None:
    """Several result batches (and on PostgreSQL three workers writing the same hot rows
    at once): successes, 500s retried once, and refusals (a closed port)."""
    events = 200
    settings = {"retry_schedule": (1,), "delivery_timeout_seconds": 1, "breaker_failures": 0}
    async with contextlib.AsyncExitStack() as stack:
        receiver = await stack.enter_async_context(Receiver(behaviour=_mixed))
        if database_url.startswith("sqlite"):
            harness = await stack.enter_async_context(dispatching(database_url, **settings))
            client = harness.client
        else:
            client = await stack.enter_async_context(api(database_url))
            workers = await asyncio.gather(
                *(start_worker(database_url, **settings) for _ in range(3))
            )
            for worker in workers:
                stack.push_async_callback(kill, worker, signal.SIGTERM)
        tenant = await new_tenant(client, "Rollups")
        busy = await new_webhook(client, tenant, url=receiver.url())
        closed = await new_webhook(client, tenant, name="Closed", url="http://127.0.0.1:9/hook")
        for start in range(0, events, 25):
            await ingest(client, tenant, start, 25)
            await asyncio.sleep(0.05)  # results in several batches
        engine = create_engine(make_settings(database_url))
        stack.push_async_callback(engine.dispose)
        sessions = create_sessionmaker(engine)
        await _settled(sessions, 2 * events)
        await _check_against_the_log(sessions, [busy["id"], closed["id"]])


def _generated(delivery_id: str, webhook_id: str, count: int) -> list[dict[str, Any]]:
    """`count` attempts over the 24 h before T, latencies log-normal around 150 ms."""
    rng = random.Random(14)
    rows = []
    for n in range(count):
        status = 200 if n % 20 < 18 else (503 if n % 20 == 18 else None)
        rows.append(
            {
                "id": new_id("att"),
                "delivery_id": delivery_id,
                "webhook_id": webhook_id,
                "attempt_number": 1,
                "attempted_at": T - timedelta(seconds=rng.randrange(1, 86_400)),
                "status_code": status,
                "latency_ms": min(int(rng.lognormvariate(5, 1)), 60_000),
                "kind": {200: "success", 503: "http_error", None: "timeout"}[status],
            }
        )
    return rows


async def _fill(app: FastAPI, rows: list[dict[str, Any]]) -> None:
    """The raw log, then the rollups from it by the migration's backfill statement."""
    async with app.state.sessionmaker() as session:
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(DeliveryAttempt), rows[chunk : chunk + 5000])
        await session.execute(delete(AttemptRollup))
        await session.execute(backfill_statement(session.get_bind().dialect.name))
        await session.commit()


async def _tenant_and_webhook(app: FastAPI, client: httpx.AsyncClient) -> tuple[Tenant, str, str]:
    tenant = await new_tenant(client)
    webhook = await new_webhook(client, tenant)
    await ingest_events(client, tenant, 1)
    [delivery] = await deliveries_of(app, webhook["id"])
    return tenant, webhook["id"], delivery.id


async def test_backfill_equals_the_writer(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Every kind of row, including those written before kinds (classified by status) and
    latencies at the buckets' edges: the SQL buckets are the Python ones."""
    _, webhook_id, delivery_id = await _tenant_and_webhook(app, client)
    edges = [0, 1, 31, 32, 33, 63, 64, 65, 1000, 2**20 - 1, 2**20, 2**31 - 1]
    rows = _generated(delivery_id, webhook_id, 300)
    for n, ms in enumerate(edges):
        rows[n]["latency_ms"] = ms
    rows[-1]["kind"], rows[-1]["status_code"] = None, 404
    rows[-2]["kind"], rows[-2]["status_code"] = None, 204
    rows[-3]["kind"], rows[-3]["status_code"] = None, None
    await _fill(app, rows)
    async with app.state.sessionmaker() as session:
        expected = await _from_the_log(session, [webhook_id])
        assert await _rollups(session, [webhook_id]) == expected
    kinds = {(r["kind"], r["latency_bucket"] == -1) for r in expected}
    assert ("network_error", True) in kinds and ("http_error", False) in kinds
    assert sum(r["attempts"] for r in expected) == 300


async def test_a_busy_window_reads_the_rollups(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Above RAW_LIMIT: the same counts and series as the log, percentiles within the
    buckets' tolerance of the exact ones, and flagged approximate."""
    tenant, webhook_id, delivery_id = await _tenant_and_webhook(app, client)
    await _fill(app, _generated(delivery_id, webhook_id, stats.RAW_LIMIT + 2000))
    response = await client.get(
        f"/v1/webhooks/{webhook_id}/stats",
        params={"window": "24h", "until": iso(T)},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    approximate = response.json()
    assert approximate["latencyApproximate"] is True
    assert approximate["attempts"] == stats.RAW_LIMIT + 2000
    async with app.state.sessionmaker() as session:
        webhook = await session.get(Webhook, webhook_id)
        assert webhook is not None
        exact = await stats.endpoint_stats(
            session, app.state.settings, webhook, "24h", T, raw_limit=10**9
        )
    wire = exact.model_dump(mode="json", by_alias=True)
    assert wire["latencyApproximate"] is False
    for key in ("attempts", "successes", "failures", "successRate", "series"):
        assert approximate[key] == wire[key], key
    for p in ("p50", "p95"):
        assert abs(approximate["latencyMs"][p] - wire["latencyMs"][p]) <= (
            wire["latencyMs"][p] * TOLERANCE
        ), p
    assert approximate["latencyMs"] != wire["latencyMs"]  # really from the histogram
    small = await client.get(  # the 1 h window always reads the log
        f"/v1/webhooks/{webhook_id}/stats",
        params={"window": "1h", "until": iso(T)},
        headers=tenant.headers,
    )
    assert small.json()["latencyApproximate"] is False


async def test_the_rollup_queries_read_the_primary_key(app: FastAPI) -> None:
    hours = [T - timedelta(hours=h) for h in range(200)]
    many = [
        {
            "webhook_id": f"whk_roll{n % 100:03d}",
            "hour": hours[n % 200],
            "kind": "success",
            "latency_bucket": n // 200,
            "attempts": 1,
            "latency_total": 10,
        }
        for n in range(20_000)
    ]
    async with app.state.sessionmaker() as session:
        await session.execute(insert(AttemptRollup), many)
        await session.commit()
        dialect = session.get_bind().dialect
        await session.execute(text("ANALYZE"))
        plans = []
        for window in ("24h", "7d"):
            start, end, size = stats.window_bounds(window, T)
            for query in (
                stats.rollup_counts_query(dialect.name, "whk_roll007", start, end, size),
                stats.histogram_query("whk_roll007", start, end),
            ):
                compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
                explain = "EXPLAIN" if dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
                rows = await session.execute(text(f"{explain} {compiled}"))
                plans.append("\n".join(str(row[-1]) for row in rows))
        await session.commit()
    for plan in plans:
        if dialect.name == "postgresql":
            assert PK in plan and "Seq Scan" not in plan, plan
        else:
            index = "sqlite_autoindex_attempt_rollups_1"
            assert index in plan and "SCAN attempt_rollups" not in plan.replace(
                f"USING INDEX {index}", ""
            ), plan


async def test_housekeeping_prunes_old_rollup_hours(app: FastAPI) -> None:
    """The hours wholly before the retention cutoff go with the old attempts; the hour the
    cutoff falls in stays until it is wholly past."""
    now = T + timedelta(minutes=30)
    cutoff_hour = T - timedelta(days=30)
    ages = {"older": cutoff_hour - timedelta(hours=1), "cut": cutoff_hour, "kept": T}
    async with app.state.sessionmaker() as session:
        await session.execute(
            insert(AttemptRollup),
            [
                {
                    "webhook_id": f"whk_prune_{name}",
                    "hour": hour,
                    "kind": "success",
                    "latency_bucket": 5,
                    "attempts": 3,
                    "latency_total": 15,
                }
                for name, hour in ages.items()
            ],
        )
        await session.commit()
        await prune_attempts(session, now=now, retention_days=30)
        await session.commit()
        left = await session.scalars(
            select(AttemptRollup.webhook_id).where(AttemptRollup.webhook_id.like("whk_prune_%"))
        )
        assert sorted(left) == ["whk_prune_cut", "whk_prune_kept"]
