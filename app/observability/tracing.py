"""OpenTelemetry traces (optional, off by default). VARDKEDJA_TRACING=console writes finished
spans as JSON to stderr, with no network; VARDKEDJA_TRACING=otlp sends them in batches to an
OpenTelemetry collector over OTLP/HTTP (the endpoint, headers and timeout come from the
standard OTEL_EXPORTER_OTLP_* variables; the default is http://localhost:4318/v1/traces).

One server span per HTTP request, named by method and route, with the shipped operation's
name and the request id, and a CLIENT span per SQL statement under it (app/sql_watch.py: the
operation keyword, never the statement). No patient data goes into a span: the path is
recorded without its query string, and no variable or header is recorded.

Needs the `tracing` extra (`pip install 'vardkedja[tracing]'`: opentelemetry-sdk and the OTLP/HTTP
exporter).
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any, cast

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import sql_watch
from app.observability.metrics import route_label

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer


class _Stderr:
    """Whatever sys.stderr is when a span ends (it may be replaced after start-up)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def console_tracer(stream: Any = None) -> Tracer:
    """A tracer whose spans are printed as JSON, one span a time, to `stream` (stderr)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "vardkedja"}))
    exporter = ConsoleSpanExporter(out=stream or cast(IO[str], _Stderr()))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("vardkedja")


def otlp_tracer() -> Tracer:
    """A tracer whose spans go in batches to an OTLP/HTTP collector: a batch keeps the request
    path free of network waits, and a collector that is down loses spans, never requests."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "vardkedja"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider.get_tracer("vardkedja")


class TracedRequests:
    """Pure ASGI: a SERVER span around each HTTP request."""

    def __init__(self, app: ASGIApp, *, tracer: Tracer) -> None:
        self.app, self.tracer = app, tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        method, route = scope["method"], route_label(scope["path"])
        status = 500

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # A caller's W3C traceparent makes this span a child of theirs.
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with self.tracer.start_as_current_span(
            f"{method} {route}", context=extract(carrier), kind=SpanKind.SERVER
        ) as span:
            span.set_attribute("http.request.method", method)
            span.set_attribute("http.route", route)
            span.set_attribute("url.path", scope["path"] if route != "other" else "other")
            try:
                with sql_watch.tracing_with(self.tracer):
                    await self.app(scope, receive, watched)
            finally:
                state = scope.get("state", {})
                span.set_attribute("http.response.status_code", status)
                if state.get("graphql_operation"):
                    span.set_attribute("graphql.operation.name", state["graphql_operation"])
                if state.get("request_id"):
                    span.set_attribute("vardkedja.request_id", state["request_id"])
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
