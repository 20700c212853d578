"""bench_tracing's "recorded, not encoded" mode: on PYTHONPATH, Python imports this at
start-up in every Hookline process of the run, and the OTLP exporter class becomes one
that accepts each batch and drops it. Everything else is production: the spans, their
attributes and links, the batch span processor and its thread. What is left out is the
OTLP exporter's protobuf encoding and POST (the issue's "in-memory exporter" figure;
the script's other mode keeps them)."""

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.http import trace_exporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class DiscardingExporter(SpanExporter):
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:  # noqa: ARG002
        return SpanExportResult.SUCCESS


trace_exporter.OTLPSpanExporter = DiscardingExporter  # type: ignore[misc, assignment]
