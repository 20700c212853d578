"""OpenTelemetry traces, optional: one trace per event across ingest, claim and attempts.

Off unless `HOOKLINE_OTEL_ENDPOINT` is set. Off, every span point holds `None` instead of
a `Tracing` and takes one `is None` branch: the SDK is never imported, no context is
serialised and `deliveries.traceparent` stays NULL (`bench/bench_tracing.py` measures on
against off).

On, three kinds of span, in whichever process does the work:
- `ingest` (server), one per ingest request. Its W3C context (`traceparent`) is written
  on every delivery row the request fans out to, in the same transaction;
- `claim`, one per claim that took rows. It is a batch across events, so it is a trace of
  its own with a link to the ingest span of each delivery it claimed;
- `deliver` (client), one per attempt: a child of its delivery's ingest span, however
  much later and in whichever worker, and linked to the claim that took it. Retries,
  manual retries and recoveries reuse the row, so they continue the same trace. A
  webhook with `sendTraceparent` receives this span's context as `traceparent`.

Attributes never carry a URL's path or query (receivers keep tokens there) nor an
exception's text: the host, the status code and the kind of failure only.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from app import __version__
from app.config import Settings
from app.errors import HooklineError

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Link, Span, SpanContext

    from app.dispatch.claim import Job
    from app.egress.sender import PostResult

INSTALL_HINT = "pip install 'hookline[otel]'"
_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
# Spans wait here for the exporter's thread; a full queue drops spans, never blocks work.
QUEUE_SPANS = 16_384
REMEMBERED = 4096  # parsed trace contexts, claims' links and URL hosts kept per process
T = TypeVar("T")


def format_traceparent(trace_id: int, span_id: int, flags: int) -> str:
    """W3C Trace Context, version 00: `00-<trace id>-<parent span id>-<flags>`."""
    return f"00-{trace_id:032x}-{span_id:016x}-{flags:02x}"


def parse_traceparent(value: str | None) -> tuple[int, int, int] | None:
    """(trace id, span id, flags) of a version-00 `traceparent`; None for anything else."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    trace_id, span_id = int(match[1], 16), int(match[2], 16)
    if trace_id == 0 or span_id == 0:  # invalid by the W3C rules
        return None
    return trace_id, span_id, int(match[3], 16)


def traces_url(endpoint: str) -> str:
    """The collector's base URL (`http://collector:4318`) with the OTLP/HTTP traces path,
    unless the setting already names it."""
    trimmed = endpoint.rstrip("/")
    return trimmed if trimmed.endswith("/v1/traces") else trimmed + "/v1/traces"


def missing_sdk(settings: Settings) -> str | None:
    """Why tracing cannot start (the endpoint set, the `otel` extra not installed), if so:
    the command line refuses to start with it rather than fail inside a process."""
    if settings.otel_endpoint is None:
        return None
    import importlib.util

    for module in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:  # a parent package is missing
            found = False
        if not found:
            return f"HOOKLINE_OTEL_ENDPOINT is set but {module} is missing: {INSTALL_HINT}"
    return None


def _traceparent_of(context: SpanContext) -> str:
    return format_traceparent(context.trace_id, context.span_id, int(context.trace_flags))


class Tracing:
    """The process's own tracer provider (never the global one: a test process builds many
    apps) and the three span kinds. Build with `open`, which answers None when tracing is
    off."""

    def __init__(self, provider: TracerProvider, processor: SpanProcessor, *, worker: str) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        self._provider = provider
        self._trace = trace
        self._tracer = provider.get_tracer("hookline", __version__)
        self._contexts: dict[str, Remote] = {}
        self._claims: dict[str, Link] = {}  # lease token -> its claim's span
        self._hosts: dict[str, str] = {}
        self._attempts = AttemptSpans(
            provider, processor, InstrumentationScope("hookline", __version__)
        )
        self.worker = worker

    @classmethod
    def open(
        cls, settings: Settings, *, role: str, exporter: SpanExporter | None = None
    ) -> Tracing | None:
        """Tracing as configured, or None when `HOOKLINE_OTEL_ENDPOINT` is unset.

        `exporter` replaces the OTLP exporter (tests: the SDK's in-memory exporter); the
        endpoint still decides whether there is tracing at all.
        """
        if settings.otel_endpoint is None:
            return None
        try:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import SpanLimits, TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            if exporter is None:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                exporter = OTLPSpanExporter(endpoint=traces_url(settings.otel_endpoint))
        except ImportError as exc:
            raise RuntimeError(
                f"HOOKLINE_OTEL_ENDPOINT is set but the OpenTelemetry SDK is missing: "
                f"{INSTALL_HINT}"
            ) from exc
        worker = f"{socket.gethostname()}:{os.getpid()}"
        resource = Resource.create(
            {
                "service.name": settings.otel_service_name,
                "service.version": __version__,
                "service.instance.id": worker,
                "hookline.role": role,
            }
        )
        provider = TracerProvider(
            resource=resource,
            shutdown_on_exit=False,  # `close` flushes; no atexit hook per provider
            # A claim links to every delivery it took (deduplicated by ingest request).
            span_limits=SpanLimits(max_links=max(128, settings.claim_batch_size)),
        )
        processor = BatchSpanProcessor(exporter, max_queue_size=QUEUE_SPANS)
        provider.add_span_processor(processor)
        return cls(provider, processor, worker=worker)

    async def close(self) -> None:
        """Export what is queued, then stop (off the event loop: it blocks on HTTP)."""
        await asyncio.to_thread(self._provider.shutdown)

    # -- ingest ---------------------------------------------------------------------------

    @contextmanager
    def ingest(self, *, batch: bool) -> Iterator[IngestSpan]:
        """The span of one ingest request, ended when the block ends (after the commit)."""
        kind = self._trace.SpanKind.SERVER
        span = self._tracer.start_span(
            "ingest",
            kind=kind,
            attributes={
                "http.request.method": "POST",
                "http.route": "/v1/events/batch" if batch else "/v1/events",
                "hookline.batch": batch,
            },
            record_exception=False,
            set_status_on_exception=False,
        )
        try:
            yield IngestSpan(span)
        except HooklineError as exc:
            span.set_attribute("http.response.status_code", exc.status_code)
            if exc.status_code >= 500:
                span.set_status(self._trace.StatusCode.ERROR, exc.code)
            raise
        except BaseException as exc:
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(self._trace.StatusCode.ERROR, type(exc).__name__)
            raise
        finally:
            span.end()

    # -- claim ----------------------------------------------------------------------------

    @staticmethod
    def now() -> int:
        return time.time_ns()

    def claimed(self, jobs: Sequence[Job], *, started_ns: int, limit: int) -> None:
        """Record a claim that took `jobs` (started at `started_ns`), and remember its
        context by the jobs' lease tokens (one per claiming statement), so each attempt
        links back to it without a copy of every job."""
        links: list[Link] = []
        seen: set[str] = set()
        for job in jobs:
            if job.traceparent is not None and job.traceparent not in seen:
                seen.add(job.traceparent)
                link = self._link(job.traceparent)
                if link is not None:
                    links.append(link)
        span = self._tracer.start_span(
            "claim",
            links=links,
            start_time=started_ns,
            attributes={
                "hookline.claim.batch_size": len(jobs),
                "hookline.claim.limit": limit,
                "hookline.worker": self.worker,
            },
        )
        span.end()
        link = self._trace.Link(span.get_span_context())
        for token in {job.lease_token for job in jobs}:  # emptied when full: an attempt
            _remember(self._claims, token, link)  # still queued then goes without the link

    # -- attempts -------------------------------------------------------------------------

    def attempt(self, job: Job) -> AttemptSpan:
        """The span of one attempt: a child of the delivery's ingest span when the row has
        its context (rows written while tracing was off start a trace of their own), linked
        to the claim that took it.

        Few attributes on purpose: exporting costs about as much per attribute as the
        span itself (`bench/bench_tracing.py`)."""
        return self._attempts.start(
            self._remote(job.traceparent),
            self._claims.get(job.lease_token),
            {
                "server.address": self._host(job.url),
                "hookline.webhook_id": job.webhook_id,
                "hookline.delivery_id": job.delivery_id,
                "hookline.attempt.number": job.attempt_number,
            },
        )

    def _remote(self, traceparent: str | None) -> Remote | None:
        """The span context of a stored `traceparent`, a parent context and a link made of
        it, and the sampler's verdict for an attempt under it.

        Remembered: a batch's deliveries share one ingest context, a claim's jobs one claim
        context, and every retry of a delivery its own."""
        if traceparent is None:
            return None
        found = self._contexts.get(traceparent)
        if found is not None:
            return found
        parsed = parse_traceparent(traceparent)
        if parsed is None:
            return None
        trace = self._trace
        trace_id, span_id, flags = parsed
        remote = trace.SpanContext(trace_id, span_id, True, trace.TraceFlags(flags))
        parent = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        verdict = self._attempts.verdict(parent, trace_id)
        return _remember(self._contexts, traceparent, Remote(remote, trace.Link(remote), verdict))

    def _link(self, traceparent: str | None) -> Link | None:
        remote = self._remote(traceparent)
        return remote.link if remote is not None else None

    def _host(self, url: str) -> str:
        """The host only: a URL's path and query may hold the receiver's tokens."""
        host = self._hosts.get(url)
        if host is None:
            host = _remember(self._hosts, url, urlsplit(url).hostname or "")
        return host


class IngestSpan:
    """What the ingest path writes on its span; `traceparent` goes on its delivery rows."""

    __slots__ = ("_span", "traceparent")

    def __init__(self, span: Span) -> None:
        self._span = span
        self.traceparent = _traceparent_of(span.get_span_context())

    def describe(self, *, reseller_id: str, organisation_id: str, event_ids: list[str]) -> None:
        self._span.set_attributes(
            {
                "hookline.reseller_id": reseller_id,
                "hookline.organisation_id": organisation_id,
                "hookline.event_ids": event_ids,
                "hookline.event_count": len(event_ids),
            }
        )

    def answered(self, status: int, *, deliveries: int, replayed: bool) -> None:
        self._span.set_attributes(
            {
                "http.response.status_code": status,
                "hookline.deliveries": deliveries,
                "hookline.idempotent_replay": replayed,
            }
        )


def _remember(cache: dict[str, T], key: str, value: T) -> T:
    """Keep `value` under `key` in one of the per-process caches, bounded by emptying the
    cache when it holds `REMEMBERED` entries (the rare miss after costs a parse)."""
    if len(cache) >= REMEMBERED:
        cache.clear()
    cache[key] = value
    return value


@dataclass(frozen=True, slots=True)
class Remote:
    """A stored `traceparent`, parsed once: what a child span, a link and the sampler use."""

    span_context: SpanContext
    link: Link
    sampled: tuple[bool, Any]  # the sampler's verdict for an attempt under it: flag, state


class AttemptSpans:
    """Attempt spans built finished, straight into the batch span processor.

    The SDK's `start_span`/`end` (sampler, locks, attribute validation, limits) cost ~60 µs
    of CPU per attempt, and the worker 1.5x its CPU per delivery; an attempt's span has a
    fixed shape (four attributes set here, two or three at the end, one link, a parent), so
    it is built once, at the end, as the SDK's own `ReadableSpan`, and handed to the same
    processor and exporter (~12 µs): what the collector receives is the same.
    The provider's sampler still decides, once per stored parent context (it depends on the
    parent and the trace id, which the parent fixes); for an attempt without a parent it is
    asked each time."""

    __slots__ = (
        "_ids",
        "_kind",
        "_processor",
        "_readable",
        "_resource",
        "_sample",
        "_sampler",
        "_scope",
        "_trace",
        "_unset",
    )

    def __init__(self, provider: TracerProvider, processor: SpanProcessor, scope: Any) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.sdk.trace.sampling import Decision

        self._trace = trace
        self._readable = ReadableSpan
        self._unset = trace.Status(trace.StatusCode.UNSET)
        self._sample = Decision.RECORD_AND_SAMPLE
        self._kind = trace.SpanKind.CLIENT
        self._processor = processor
        self._resource = provider.resource
        self._sampler = provider.sampler
        self._ids = provider.id_generator
        self._scope = scope

    def verdict(self, parent: Context | None, trace_id: int) -> tuple[bool, Any]:
        """The provider's sampler on an attempt: sampled or not, and the trace state."""
        result = self._sampler.should_sample(parent, trace_id, "deliver", self._kind)
        return result.decision is self._sample, result.trace_state

    def start(
        self, parent: Remote | None, claim: Link | None, attributes: dict[str, Any]
    ) -> AttemptSpan:
        trace = self._trace
        if parent is not None:
            trace_id = parent.span_context.trace_id
            random_id = parent.span_context.trace_flags.random_trace_id
            sampled, state = parent.sampled
        else:
            trace_id = self._ids.generate_trace_id()
            random_id = self._ids.is_trace_id_random()
            sampled, state = self.verdict(None, trace_id)
        flags = trace.TraceFlags.SAMPLED if sampled else trace.TraceFlags.DEFAULT
        if random_id:
            flags |= trace.TraceFlags.RANDOM_TRACE_ID
        context = trace.SpanContext(
            trace_id,
            self._ids.generate_span_id(),
            is_remote=False,
            trace_flags=trace.TraceFlags(flags),
            trace_state=state,
        )
        return AttemptSpan(
            self if sampled else None,
            context,
            parent.span_context if parent is not None else None,
            (claim,) if claim is not None else (),
            attributes,
        )

    def end(self, span: AttemptSpan, error: str | None) -> None:
        trace = self._trace
        status = trace.Status(trace.StatusCode.ERROR, error) if error is not None else self._unset
        finished = self._readable(
            "deliver",
            context=span.context,
            parent=span.parent,
            resource=self._resource,
            attributes=span.attributes,
            links=span.links,
            kind=self._kind,
            status=status,
            start_time=span.start_ns,
            end_time=time.time_ns(),
            instrumentation_scope=self._scope,
        )
        self._processor.on_end(finished)


class AttemptSpan:
    """One attempt's span: its context is the `traceparent` header of opted-in webhooks.
    Not sampled, it has a context (sent as `traceparent` with the flag unset) and records
    nothing."""

    __slots__ = ("_spans", "attributes", "context", "links", "parent", "start_ns")

    def __init__(
        self,
        spans: AttemptSpans | None,
        context: SpanContext,
        parent: SpanContext | None,
        links: tuple[Link, ...],
        attributes: dict[str, Any],
    ) -> None:
        self._spans = spans
        self.context = context
        self.parent = parent
        self.links = links
        self.attributes = attributes
        self.start_ns = time.time_ns()

    @property
    def traceparent(self) -> str:
        return _traceparent_of(self.context)

    def finish(self, result: PostResult) -> None:
        if self._spans is None:
            return
        self.attributes["hookline.attempt.kind"] = result.kind.value
        self.attributes["hookline.attempt.latency_ms"] = result.latency_ms
        if result.status is not None:
            self.attributes["http.response.status_code"] = result.status
        self._spans.end(self, None if result.delivered else result.kind.value)

    def fail(self, exc: BaseException) -> None:
        """A defect inside the dispatcher (not the endpoint): the type only."""
        if self._spans is None:
            return
        self.attributes["error.type"] = type(exc).__name__
        self._spans.end(self, type(exc).__name__)


@asynccontextmanager
async def tracing_component(app: FastAPI) -> AsyncIterator[Tracing | None]:
    """Lifespan component (the first: it flushes last): `app.state.tracing`, None when off.

    Tests may set `app.state.span_exporter` before the lifespan starts to replace the
    OTLP exporter."""
    tracing = Tracing.open(
        app.state.settings, role="api", exporter=getattr(app.state, "span_exporter", None)
    )
    app.state.tracing = tracing
    try:
        yield tracing
    finally:
        if tracing is not None:
            await tracing.close()
