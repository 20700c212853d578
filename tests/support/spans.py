"""Finished spans as plain records, so the spans of the test process (the SDK's in-memory
exporter) and those a worker process dumped as JSON (`traced_worker`) compare alike."""

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan


@dataclass(frozen=True)
class SpanRecord:
    name: str
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_id: str | None  # the parent's span id
    links: list[tuple[str, str]]  # (trace id, span id) of each link
    attributes: dict[str, Any]
    resource: dict[str, Any]
    kind: str
    status: str  # UNSET, OK or ERROR
    flags: int

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"


def record(span: ReadableSpan) -> SpanRecord:
    context = span.get_span_context()
    assert context is not None
    return SpanRecord(
        name=span.name,
        trace_id=f"{context.trace_id:032x}",
        span_id=f"{context.span_id:016x}",
        parent_id=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        links=[(f"{x.context.trace_id:032x}", f"{x.context.span_id:016x}") for x in span.links],
        attributes={k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()}
        if span.attributes
        else {},
        resource=dict(span.resource.attributes),
        kind=span.kind.name,
        status=span.status.status_code.name,
        flags=int(context.trace_flags),
    )


def records(spans: Iterable[ReadableSpan]) -> list[SpanRecord]:
    return [record(span) for span in spans]


def dump(spans: Iterable[ReadableSpan], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in records(spans)]))


def load(path: Path) -> list[SpanRecord]:
    rows = json.loads(path.read_text())
    return [SpanRecord(**{**row, "links": [tuple(x) for x in row["links"]]}) for row in rows]


def named(spans: Iterable[SpanRecord], name: str) -> list[SpanRecord]:
    return [s for s in spans if s.name == name]
