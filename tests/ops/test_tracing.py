"""OpenTelemetry traces: one event's path is one trace across ingest, claim and attempts.

Spans are read with the SDK's in-memory exporter in the test process (the API, and the
embedded dispatcher), and from a real `worker` process that dumps its in-memory exporter
when it stops (`tests.support.traced_worker`). The receivers are real, on 127.0.0.1, and
record the headers each attempt carried. One test lets the real OTLP/HTTP exporter post
to a small collector on loopback.
"""

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import ValidationError
from sqlalchemy import select

from app.config import Settings
from app.main import create_app
from app.models import Delivery
from app.ops.tracing import format_traceparent, parse_traceparent, traces_url
from tests.conftest import make_settings
from tests.dispatch.helpers import Harness, OffsetClock
from tests.support.factories import Tenant, app_event, new_tenant, new_webhook
from tests.support.receiver import Receiver, Reply
from tests.support.spans import SpanRecord, load, named, records
from tests.support.workers import kill, start_worker

pytestmark = pytest.mark.timeout(90)

ENDPOINT = "http://127.0.0.1:9/otlp"  # turns tracing on; the tests replace its exporter


@asynccontextmanager
async def traced_app(
    database_url: str, exporter: InMemorySpanExporter, **overrides: Any
) -> AsyncIterator[Harness]:
    """The real app with its lifespan, its spans into `exporter` (dispatcher on unless
    `dispatcher="off"`)."""
    values: dict[str, Any] = {
        "dispatcher": "on",
        "allow_private_targets": True,
        "poll_interval_seconds": 0.2,
        "retry_jitter": 0.0,
        "shutdown_grace_seconds": 2.0,
        "otel_endpoint": ENDPOINT,
        "otel_service_name": "hookline-test",
    }
    values.update(overrides)
    app = create_app(make_settings(database_url, **values))
    app.state.span_exporter = exporter
    clock = OffsetClock()
    app.state.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hookline.test") as c:
            yield Harness(app, c, clock)


async def _stored_traceparents(h: Harness, event_id: str) -> list[str | None]:
    async with h.app.state.sessionmaker() as session:
        rows = await session.execute(
            select(Delivery.traceparent).where(Delivery.event_id == event_id)
        )
        return [value for (value,) in rows]


async def _two_webhooks(
    client: httpx.AsyncClient, opted: Receiver, plain: Receiver, name: str
) -> tuple[Tenant, dict[str, Any], dict[str, Any]]:
    tenant = await new_tenant(client, name)
    traced = await new_webhook(client, tenant, url=opted.url(), sendTraceparent=True)
    other = await new_webhook(client, tenant, url=plain.url(), name="Plain")
    assert traced["sendTraceparent"] is True and other["sendTraceparent"] is False
    return tenant, traced, other


def _ingest_span(spans: list[SpanRecord], event_id: str) -> SpanRecord:
    [span] = [s for s in named(spans, "ingest") if event_id in s.attributes["hookline.event_ids"]]
    return span


def _check_attempts(
    spans: list[SpanRecord], ingest: SpanRecord, webhook_id: str, statuses: list[int]
) -> list[SpanRecord]:
    """The attempts of one webhook: children of the ingest span, in attempt order, each
    linked to a claim span that links back to the ingest span."""
    attempts = sorted(
        (s for s in named(spans, "deliver") if s.attributes["hookline.webhook_id"] == webhook_id),
        key=lambda s: s.attributes["hookline.attempt.number"],
    )
    assert [s.attributes["http.response.status_code"] for s in attempts] == statuses
    claims = {s.span_id: s for s in named(spans, "claim")}
    for number, attempt in enumerate(attempts, start=1):
        assert (attempt.trace_id, attempt.parent_id) == (ingest.trace_id, ingest.span_id)
        assert attempt.kind == "CLIENT"
        assert attempt.attributes["hookline.attempt.number"] == number
        assert attempt.attributes["server.address"] == "127.0.0.1"
        assert attempt.attributes["hookline.attempt.latency_ms"] >= 0
        ok = attempt.attributes["http.response.status_code"] < 300
        assert attempt.attributes["hookline.attempt.kind"] == ("success" if ok else "http_error")
        assert attempt.status == ("UNSET" if ok else "ERROR")
        [(_, claim_id)] = attempt.links
        claim = claims[claim_id]
        assert (ingest.trace_id, ingest.span_id) in claim.links
        assert claim.trace_id != ingest.trace_id  # a batch across events: a trace of its own
        assert claim.attributes["hookline.claim.batch_size"] >= 1
        # The claim and the attempt ran in the same process: its worker id is the resource's.
        assert claim.attributes["hookline.worker"] == attempt.resource["service.instance.id"]
    return attempts


def test_traceparent_format_and_parse() -> None:
    value = format_traceparent(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, 1)
    assert value == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert parse_traceparent(value) == (0x4BF92F3577B34DA6A3CE929D0E0E4736, 0xF067AA0BA902B7, 1)
    for bad in (
        None,
        "",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # unknown version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero span id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # upper case
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
    ):
        assert parse_traceparent(bad) is None, bad
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_url("https://c.example/otlp/v1/traces") == "https://c.example/otlp/v1/traces"


def test_endpoint_must_be_http() -> None:
    with pytest.raises(ValidationError, match="otel_endpoint"):
        Settings(otel_endpoint="collector:4318")
    assert Settings(otel_endpoint="").otel_endpoint is None


async def test_webhook_opt_in_field(database_url: str) -> None:
    async with traced_app(database_url, InMemorySpanExporter(), dispatcher="off") as h:
        tenant = await new_tenant(h.client, "Opt-in")
        webhook = await new_webhook(h.client, tenant)
        assert webhook["sendTraceparent"] is False
        path = f"/v1/webhooks/{webhook['id']}"
        response = await h.client.patch(
            path, json={"sendTraceparent": True}, headers=tenant.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["sendTraceparent"] is True
        for bad in (None, "yes", 1):
            response = await h.client.patch(
                path, json={"sendTraceparent": bad}, headers=tenant.headers
            )
            assert response.status_code == 422, response.text
            assert "sendTraceparent" in response.json()["error"]["fields"]
        got = await h.client.get(path, headers=tenant.headers)
        assert got.json()["sendTraceparent"] is True


async def test_one_event_one_trace_with_a_retry(database_url: str) -> None:
    """Ingest, claims and two attempts (500, then 200) of the opted-in webhook, and one of
    the other, in the API process with its dispatcher; traceparent only where opted in."""
    exporter = InMemorySpanExporter()
    async with (
        Receiver() as opted,
        Receiver() as plain,
        traced_app(database_url, exporter) as h,
    ):
        opted.then(Reply(500))
        tenant, traced, other = await _two_webhooks(h.client, opted, plain, "Traced")
        response = await h.client.post(
            "/v1/events", json=app_event(), headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text
        event_id = response.json()["id"]
        await opted.wait_for(1)
        await plain.wait_for(1)
        h.advance(10)  # the retry comes due (first delay: 5 s)
        await opted.wait_for(2)
        [delivery] = await h.deliveries(tenant, traced["id"])
        await h.wait_delivery(tenant, delivery["id"], lambda d: d["status"] == "succeeded")
        stored = await _stored_traceparents(h, event_id)
    spans = records(exporter.get_finished_spans())  # the lifespan's end flushed them all

    ingest = _ingest_span(spans, event_id)
    assert ingest.kind == "SERVER"
    assert ingest.parent_id is None
    assert ingest.attributes["hookline.reseller_id"] == tenant.reseller_id
    assert ingest.attributes["hookline.organisation_id"] == tenant.organisation_id
    assert ingest.attributes["hookline.event_ids"] == [event_id]
    assert ingest.attributes["http.response.status_code"] == 202
    assert ingest.attributes["hookline.deliveries"] == 2
    assert ingest.resource["service.name"] == "hookline-test"
    assert ingest.resource["hookline.role"] == "api"
    assert stored == [ingest.traceparent, ingest.traceparent]  # written at fan-out

    attempts = _check_attempts(spans, ingest, traced["id"], [500, 200])
    [plain_attempt] = _check_attempts(spans, ingest, other["id"], [200])
    # The opted-in webhook got each attempt's own context; the other never a traceparent.
    assert [r.headers["traceparent"] for r in opted.requests] == [a.traceparent for a in attempts]
    assert all("traceparent" not in {k.lower() for k in r.headers} for r in plain.requests)
    assert plain_attempt.trace_id == ingest.trace_id


async def test_no_spans_and_no_context_when_the_endpoint_is_unset(database_url: str) -> None:
    exporter = InMemorySpanExporter()
    async with (
        Receiver() as opted,
        Receiver() as plain,
        traced_app(database_url, exporter, otel_endpoint=None) as h,
    ):
        assert h.app.state.tracing is None
        tenant, _, _ = await _two_webhooks(h.client, opted, plain, "Untraced")
        response = await h.client.post(
            "/v1/events", json=app_event(), headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text
        [request] = await opted.wait_for(1)
        await plain.wait_for(1)
        stored = await _stored_traceparents(h, response.json()["id"])
    assert exporter.get_finished_spans() == ()
    assert stored == [None, None]
    # Opted in, but tracing is off: there is no attempt span, so no header.
    assert "traceparent" not in {k.lower() for k in request.headers}


async def test_an_event_traced_across_the_api_and_a_worker_process(
    pg_url: str, tmp_path: Path
) -> None:
    """The API in this process (dispatcher off), the attempts in a real worker process
    started after the ingest; its spans continue the event's trace."""
    exporter = InMemorySpanExporter()
    dumped = tmp_path / "worker-spans.json"
    async with (
        Receiver() as opted,
        Receiver() as plain,
        traced_app(pg_url, exporter, dispatcher="off") as h,
    ):
        opted.then(Reply(503))
        tenant, traced, _ = await _two_webhooks(h.client, opted, plain, "Two processes")
        response = await h.client.post(
            "/v1/events/batch",
            json={"events": [app_event("u1"), app_event("u2")]},
            headers=tenant.ingest_headers,
        )
        assert response.status_code == 202, response.text
        first, second = response.json()["ids"]
        worker = await start_worker(
            pg_url,
            command=("-m", "tests.support.traced_worker", str(dumped)),
            otel_endpoint=ENDPOINT,
            retry_schedule=(1,),
        )
        try:
            await opted.wait_for(3)  # two events, one of them retried after 1 s
            await plain.wait_for(2)
            await _wait_settled(h, tenant, traced["id"])
        finally:
            assert await kill(worker, signal.SIGTERM) == 0
    api_spans = records(exporter.get_finished_spans())
    worker_spans = load(dumped)
    assert not named(api_spans, "deliver") and not named(api_spans, "claim")
    assert not named(worker_spans, "ingest")

    [ingest] = named(api_spans, "ingest")  # one request, one span, both events
    assert ingest.attributes["hookline.event_ids"] == [first, second]
    assert ingest.attributes["hookline.batch"] is True
    retried = [
        s for s in named(worker_spans, "deliver") if s.attributes["hookline.attempt.number"] == 2
    ]
    assert len(retried) == 1 and retried[0].attributes["hookline.webhook_id"] == traced["id"]
    everything = api_spans + worker_spans
    attempts = named(worker_spans, "deliver")
    assert len(attempts) == 5
    assert {a.resource["hookline.role"] for a in attempts} == {"worker"}
    assert attempts[0].resource["service.instance.id"] != ingest.resource["service.instance.id"]
    for attempt in attempts:
        assert (attempt.trace_id, attempt.parent_id) == (ingest.trace_id, ingest.span_id)
    opted_attempts = [a for a in attempts if a.attributes["hookline.webhook_id"] == traced["id"]]
    by_id = {a.attributes["hookline.delivery_id"]: a for a in opted_attempts}
    assert len(by_id) == 2
    statuses = sorted(a.attributes["http.response.status_code"] for a in opted_attempts)
    assert statuses == [200, 200, 503]
    assert sorted(r.headers["traceparent"] for r in opted.requests) == sorted(
        a.traceparent for a in opted_attempts
    )
    assert all("traceparent" not in {k.lower() for k in r.headers} for r in plain.requests)
    claims = named(everything, "claim")
    assert claims and all((ingest.trace_id, ingest.span_id) in c.links for c in claims)
    for attempt in attempts:
        [(_, claim_id)] = attempt.links
        assert claim_id in {c.span_id for c in claims}


async def _wait_settled(h: Harness, tenant: Tenant, webhook_id: str) -> None:
    async with asyncio.timeout(30):
        while True:
            deliveries = await h.deliveries(tenant, webhook_id)
            if all(d["status"] == "succeeded" for d in deliveries):
                return
            await asyncio.sleep(0.1)


@asynccontextmanager
async def _collector() -> AsyncIterator[tuple[str, list[tuple[str, bytes]]]]:
    """A minimal OTLP/HTTP collector on loopback: records each POST /v1/traces."""
    received: list[tuple[str, bytes]] = []

    async def traces(request: web.Request) -> web.Response:
        received.append((request.content_type, await request.read()))
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", received
    finally:
        await runner.cleanup()


async def test_the_otlp_exporter_posts_to_the_collector(database_url: str) -> None:
    async with _collector() as (url, received):
        app = create_app(
            make_settings(database_url, otel_endpoint=url, otel_service_name="hookline-otlp")
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                tenant = await new_tenant(client, "Exported")
                await new_webhook(client, tenant)
                response = await client.post(
                    "/v1/events", json=app_event(), headers=tenant.ingest_headers
                )
                assert response.status_code == 202, response.text
        # Leaving the lifespan flushed the batch processor: the export has been posted.
    assert received
    spans = []
    for content_type, body in received:
        assert content_type == "application/x-protobuf"
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "hookline-otlp"
            for scope in resource_spans.scope_spans:
                spans.extend(scope.spans)
    [ingest] = [s for s in spans if s.name == "ingest"]
    attributes = {a.key: a.value for a in ingest.attributes}
    ids = [v.string_value for v in attributes["hookline.event_ids"].array_value.values]
    assert ids == [response.json()["id"]]
    assert attributes["hookline.organisation_id"].string_value == tenant.organisation_id


async def test_the_sdk_sampler_decides_and_attempts_follow_their_ingest(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`OTEL_TRACES_SAMPLER=parentbased_traceidratio` at 0: no span is exported, the row
    keeps its unsampled context, and the opted-in webhook still gets a `traceparent` of
    that trace, with the sampled flag unset."""
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    exporter = InMemorySpanExporter()
    async with (
        Receiver() as opted,
        Receiver() as plain,
        traced_app(database_url, exporter) as h,
    ):
        tenant, traced, other = await _two_webhooks(h.client, opted, plain, "Sampled out")
        response = await h.client.post(
            "/v1/events", json=app_event(), headers=tenant.ingest_headers
        )
        assert response.status_code == 202, response.text
        [request] = await opted.wait_for(1)
        await plain.wait_for(1)
        stored = await _stored_traceparents(h, response.json()["id"])
    # (Rows other tests of this module left pending may be attempted meanwhile: a sampled
    # stored context is followed, so only this test's spans are looked for.)
    ours = {traced["id"], other["id"]}
    spans = records(exporter.get_finished_spans())
    assert not [s for s in named(spans, "deliver") if s.attributes["hookline.webhook_id"] in ours]
    assert not [
        s
        for s in named(spans, "ingest")
        if s.attributes.get("hookline.reseller_id") == tenant.reseller_id
    ]
    [ingest] = set(stored)
    parsed_ingest, parsed_sent = (
        parse_traceparent(ingest),
        parse_traceparent(request.headers["traceparent"]),
    )
    assert parsed_ingest is not None and parsed_sent is not None
    assert parsed_ingest[0] == parsed_sent[0]  # the same trace
    assert parsed_ingest[1] != parsed_sent[1]  # the attempt's own span id
    assert parsed_ingest[2] & 1 == 0 and parsed_sent[2] & 1 == 0  # neither sampled


async def test_a_delivery_queued_while_tracing_was_off_is_a_trace_of_its_own(
    database_url: str,
) -> None:
    """A row without a stored context (ingested by an untraced API): its attempt is a
    root span, sampled by the SDK's default, still linked to the claim that took it."""
    async with Receiver() as receiver:
        untraced = traced_app(
            database_url, InMemorySpanExporter(), otel_endpoint=None, dispatcher="off"
        )
        async with untraced as quiet:  # tracing off, nothing delivered yet
            tenant = await new_tenant(quiet.client, "Before tracing")
            webhook = await new_webhook(quiet.client, tenant, url=receiver.url())
            response = await quiet.client.post(
                "/v1/events", json=app_event(), headers=tenant.ingest_headers
            )
            assert response.status_code == 202, response.text
        exporter = InMemorySpanExporter()
        async with traced_app(database_url, exporter) as h:
            await receiver.wait_for(1)
            [delivery] = await h.deliveries(tenant, webhook["id"])
            await h.wait_delivery(tenant, delivery["id"], lambda d: d["status"] == "succeeded")
            assert await _stored_traceparents(h, response.json()["id"]) == [None]
    spans = records(exporter.get_finished_spans())
    [attempt] = [
        s for s in named(spans, "deliver") if s.attributes["hookline.webhook_id"] == webhook["id"]
    ]
    assert attempt.parent_id is None and attempt.flags & 1 == 1
    [(_, claim_id)] = attempt.links
    assert claim_id in {s.span_id for s in named(spans, "claim")}
    assert attempt.attributes["http.response.status_code"] == 200
