"""VARDKEDJA_TRACING=otlp: spans reach an OpenTelemetry collector over OTLP/HTTP. The collector
here is a real HTTP receiver on 127.0.0.1 that decodes what arrives with OpenTelemetry's own
protobuf messages, so the test sees exactly what a collector would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase
from app.main import create_app
from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.integration.test_sql_metrics import my_record


class Collector:
    """Receives OTLP/HTTP trace exports; `wait` returns the spans once the server span came."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.arrived = threading.Event()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.paths.append(self.path)
                collector.bodies.append(body)
                collector.arrived.set()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[Span]:
        found: list[Span] = []
        for body in self.bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    found.extend(scope.spans)
        return found

    def wait_for_server_span(self, timeout: float = 20.0) -> list[Span]:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                if any(span.kind == Span.SPAN_KIND_SERVER for span in self.spans()):
                    return self.spans()
                self.arrived.wait(0.1)
                self.arrived.clear()
        finally:
            timer.cancel()
        raise AssertionError(f"no server span reached the collector in {timeout} s")


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    collector = Collector()
    thread = threading.Thread(target=collector.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # milliseconds: export soon after a span
    try:
        yield collector
    finally:
        collector.server.shutdown()
        collector.server.server_close()


async def test_spans_reach_an_otlp_collector_without_patient_data(
    collector: Collector, conn: AsyncConnection
) -> None:
    settings = Settings(jwt_secret=TEST_SECRET, tracing="otlp")
    app = create_app(settings, db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        patient, statements = await my_record(http, conn, settings)
    spans = collector.wait_for_server_span()
    assert set(collector.paths) == {"/v1/traces"}
    [server] = [span for span in spans if span.kind == Span.SPAN_KIND_SERVER]
    assert server.name == "POST /graphql"
    attributes = {item.key: item.value for item in server.attributes}
    assert attributes["graphql.operation.name"].string_value == "MyRecord"
    sql = [span for span in spans if span.kind == Span.SPAN_KIND_CLIENT]
    assert len(sql) == len(statements) > 0
    assert all(span.parent_span_id == server.span_id for span in sql)
    # What went over the wire carries nothing of the patient.
    wire = b"".join(collector.bodies)
    assert patient.identifier.encode() not in wire
    assert patient.family_name.encode() not in wire
