"""What one attempt's span costs in isolation: `Tracing.claimed` for a claim of 100 jobs,
then `Tracing.attempt` and `finish` for each, through the batch span processor into an
exporter that drops each batch (the "recorded" mode of `bench_tracing`, without the
dispatcher around it). Printed: the process's CPU per attempt, the exporter's thread
included, the median of `--runs` runs.

Run: python -m bench.bench_spans [--quick] [-n 20000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from pydantic import SecretStr

from app.config import Settings
from app.dispatch.claim import Job
from app.egress.sender import AttemptKind, PostResult
from app.ops.tracing import Tracing, format_traceparent

CLAIM = 100  # jobs per claim; a batch ingest's events share one ingest context


class Dropping(SpanExporter):
    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


def _jobs(count: int) -> list[Job]:
    return [
        Job(
            delivery_id=f"dlv_{n}",
            lease_token=f"lease{n // CLAIM}",
            leased_until=datetime.now(UTC),
            attempt_number=1,
            webhook_id="wh_1",
            event_type="desktop.app_tracking.captured",
            url="http://127.0.0.1:9/hook",
            secret="s",
            body=b"{}",
            traceparent=format_traceparent(0xABC + n // CLAIM, 0x1234 + n // CLAIM, 1),
        )
        for n in range(count)
    ]


def one_run(count: int) -> float:
    """CPU µs per attempt, spans created, ended and exported (dropped)."""
    settings = Settings(
        database_url="sqlite+aiosqlite:///unused.db",
        otel_endpoint="http://127.0.0.1:9",
        admin_token=SecretStr("x" * 32),
    )
    exporter = Dropping()
    tracing = Tracing.open(settings, role="worker", exporter=exporter)
    assert tracing is not None
    jobs = _jobs(count)
    result = PostResult(kind=AttemptKind.SUCCESS, latency_ms=3, status=200)
    started = time.process_time()
    for first in range(0, count, CLAIM):
        claim = jobs[first : first + CLAIM]
        tracing.claimed(claim, started_ns=time.time_ns(), limit=CLAIM)
        for job in claim:
            tracing.attempt(job).finish(result)
    asyncio.run(tracing.close())  # the exporter's thread finishes its work inside the count
    cpu = time.process_time() - started
    assert exporter.spans == count + count // CLAIM  # every attempt and claim exported
    return cpu / count * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--attempts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 attempts, 2 runs")
    args = parser.parse_args(argv)
    count, runs = (2_000, 2) if args.quick else (args.attempts, args.runs)
    figures = [one_run(count) for _ in range(runs)]
    listed = ", ".join(f"{f:.1f}" for f in figures)
    print(f"attempt span, CPU per attempt: {statistics.median(figures):.1f} µs ({listed})")


if __name__ == "__main__":
    main()
