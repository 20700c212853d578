"""Endpoint stats at 1 million attempts on PostgreSQL: `GET /v1/webhooks/{id}/stats`'s
query (`app.webhooks.stats.endpoint_stats`, through the app's own engine and session),
p50/p99 over repeated calls per window.

A fresh migrated database (dropped at the end) gets `--attempts` rows (default
1,000,000) by one `generate_series` INSERT, in time order over the last 7 days (as the
dispatcher appends them), across
`--webhooks` endpoints (default 100) with a realistic mix of kinds and latencies; one
more "hot" endpoint carries `--hot-share` of them (default 20 %: 200,000 attempts in
the week, ~28,600 a day). The hourly rollups are then built from them by migration
0008's backfill statement (the result writer keeps them as it records attempts), then
VACUUM ANALYZE (autovacuum's work), and each window of each endpoint is asked
`--calls` times (default 200) after a few warm-up calls; the hot endpoint's 24 h and 7 d
are past `stats.RAW_LIMIT` and read the rollups.

    flock -x /tmp/hookline-cpu.lock .venv/bin/python -m bench.bench_stats
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql

from app.config import Settings
from app.db.engine import create_engine, create_sessionmaker
from app.db.migrate import upgrade_to_head
from app.dispatch.rollups import backfill_statement
from app.models import Webhook
from app.webhooks import stats
from bench.common import percentile, print_table

ADMIN_DSN = os.environ.get("HOOKLINE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = f"hookline_bench_stats_{os.getpid()}"

SEED = """
INSERT INTO resellers (id, name, created_at) VALUES ('rsl_bench', 'Bench', now());
INSERT INTO organisations (id, reseller_id, name, created_at)
    VALUES ('org_bench', 'rsl_bench', 'Bench Org', now());
INSERT INTO webhooks (id, reseller_id, name, url, events, secret, enabled,
                      consecutive_failures, created_at, updated_at)
SELECT 'whk_bench' || lpad(n::text, 4, '0'), 'rsl_bench', 'Endpoint ' || n,
       'https://hooks.example.com/' || n, '["desktop.app_tracking.captured"]', 'secret', true,
       0, now(), now()
FROM generate_series(0, $1::int) AS n;
INSERT INTO events (id, reseller_id, organisation_id, event_type, user_id, team_id,
                    timestamp_ms, body, size, received_at)
VALUES ('evt_bench', 'rsl_bench', 'org_bench', 'desktop.app_tracking.captured', 'u', 't', 0,
        '\\x7b7d', 2, now());
INSERT INTO deliveries (id, reseller_id, event_id, webhook_id, event_type, status,
                        attempt_count, created_at, updated_at)
SELECT 'dlv_bench' || lpad(n::text, 4, '0'), 'rsl_bench', 'evt_bench',
       'whk_bench' || lpad(n::text, 4, '0'), 'desktop.app_tracking.captured', 'succeeded', 1,
       now(), now()
FROM generate_series(0, $1::int) AS n;
"""
# Endpoint 0 is the hot one: it gets `hot` of the attempts, the rest round-robin.
ATTEMPTS = """
INSERT INTO delivery_attempts (id, delivery_id, webhook_id, attempt_number, attempted_at,
                               status_code, latency_ms, kind, response_body, error)
SELECT 'att_' || lpad(n::text, 26, '0'),
       'dlv_bench' || lpad(w::text, 4, '0'),
       'whk_bench' || lpad(w::text, 4, '0'),
       1,
       now() - interval '7 days' * (1 - n::float8 / $1::int),  -- appended in time order
       CASE k WHEN 'success' THEN 200 WHEN 'http_error' THEN 503 ELSE NULL END,
       (20 + random() * 300)::int,
       k, 'ok', NULL
FROM (
    SELECT n,
           CASE WHEN n % 1000 < $2::int THEN 0 ELSE 1 + n % $3::int END AS w,
           CASE WHEN n % 100 < 90 THEN 'success' WHEN n % 100 < 96 THEN 'http_error'
                WHEN n % 100 < 98 THEN 'timeout' WHEN n % 100 < 99 THEN 'network_error'
                ELSE 'refused' END AS k
    FROM generate_series(0, $1::int - 1) AS n
) AS a
"""


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(ADMIN_DSN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _url() -> str:
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{DATABASE}"


async def _load(attempts: int, webhooks: int, hot: int) -> float:
    connection = await asyncpg.connect(_url().replace("+asyncpg", ""))
    try:
        for statement in SEED.strip().split(";\n"):
            if "$1" in statement:
                await connection.execute(statement, webhooks)
            else:
                await connection.execute(statement)
        started = time.perf_counter()
        await connection.execute(ATTEMPTS, attempts, hot, webhooks)
        loaded = time.perf_counter() - started
        # The hourly rollups the result writer keeps, built as migration 0008 builds them
        # for existing attempts (one INSERT … SELECT … GROUP BY).
        started = time.perf_counter()
        await connection.execute(_compiled(backfill_statement("postgresql")))
        rolled = time.perf_counter() - started
        count = await connection.fetchval("SELECT count(*) FROM attempt_rollups")
        print(f"rollups: {count:,} rows, built in {rolled:.1f} s")
        # What autovacuum does to an append-only table (insert threshold, PostgreSQL 13+):
        # statistics and the visibility map that lets the stats scan the index alone.
        await connection.execute("VACUUM ANALYZE delivery_attempts")
        await connection.execute("VACUUM ANALYZE attempt_rollups")
        return loaded
    finally:
        await connection.close()


async def _measure(settings: Settings, webhook_id: str, window: str, calls: int) -> list[float]:
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    timings: list[float] = []
    try:
        async with sessions() as session:
            webhook = await session.get(Webhook, webhook_id)
            assert webhook is not None
            session.expunge(webhook)  # read once, as the route does per request
            for n in range(calls + 5):
                started = time.perf_counter()
                result = await stats.endpoint_stats(
                    session, settings, webhook, window, datetime.now(UTC)
                )
                elapsed = (time.perf_counter() - started) * 1000
                await session.rollback()  # as a request: its own transaction
                if n >= 5:
                    timings.append(elapsed)
            source = "rollups" if result.latency_approximate else "attempt log"
            print(f"  {webhook_id} {window}: {result.attempts:,} attempts in the window ({source})")
    finally:
        await engine.dispose()
    return timings


def _compiled(query: Any) -> str:
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


async def _plan(query: Any) -> str:
    compiled = _compiled(query)
    connection = await asyncpg.connect(_url().replace("+asyncpg", ""))
    try:
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")
        return "\n".join(r[0] for r in rows)
    finally:
        await connection.close()


async def _run(args: argparse.Namespace) -> None:

    await _admin(f'CREATE DATABASE "{DATABASE}"')
    try:
        await asyncio.to_thread(upgrade_to_head, _url())
        hot = int(1000 * args.hot_share)  # per mille of the attempts, spread over the week
        loaded = await _load(args.attempts, args.webhooks, hot)
        share = f"{hot / 10:g} % on the hot endpoint"
        print(f"loaded {args.attempts:,} attempts ({share}) in {loaded:.1f} s")
        settings = Settings(database_url=_url())
        rows = []
        for label, webhook_id in (("typical", "whk_bench0001"), ("hot", "whk_bench0000")):
            for window in ("1h", "24h", "7d"):
                timings = await _measure(settings, webhook_id, window, args.calls)
                rows.append(
                    (
                        label,
                        window,
                        len(timings),
                        percentile(timings, 50),
                        percentile(timings, 99),
                        max(timings),
                    )
                )
        print()
        print_table(("endpoint", "window", "calls", "p50 ms", "p99 ms", "max ms"), rows)
        now = datetime.now(UTC)
        start, end, size = stats.window_bounds("24h", now)
        print("\nEXPLAIN ANALYZE, the typical endpoint's 24 h counts (the attempt log):")
        print(await _plan(stats.counts_query("postgresql", "whk_bench0001", start, end, size)))
        start, end, size = stats.window_bounds("7d", now)
        print("\nEXPLAIN ANALYZE, the hot endpoint's 7 d counts (the rollups):")
        print(
            await _plan(stats.rollup_counts_query("postgresql", "whk_bench0000", start, end, size))
        )
    finally:
        if args.keep:
            print(f"kept: {_url()}")
        else:
            await _admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--webhooks", type=int, default=100)
    parser.add_argument("--hot-share", type=float, default=0.2)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100,000 attempts")
    args = parser.parse_args(argv)
    if args.quick:
        args.attempts, args.calls = 100_000, 20
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
