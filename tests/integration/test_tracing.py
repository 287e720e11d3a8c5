"""OpenTelemetry spans (VARDKEDJA_TRACING=console): one server span per request with the
shipped operation's name and the request id, a caller's traceparent continued, and nothing of
the patient (no query string, no variables) in any attribute."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit
from app.db import ConnectionDatabase
from app.main import create_app
from app.settings import Settings
from app.sql_watch import operation_name
from app.tokens import mint
from tests.conftest import TEST_SECRET
from tests.factories import create_patient
from tests.integration.test_sql_metrics import my_record

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def spans(printed: str) -> list[dict[str, Any]]:
    decoder, found, at = json.JSONDecoder(), [], 0
    while (start := printed.find("{", at)) != -1:
        span, at = decoder.raw_decode(printed, start)
        found.append(span)
    return found


@pytest.fixture
def settings() -> Settings:
    return Settings(jwt_secret=TEST_SECRET, tracing="console")


@pytest.fixture
async def traced(
    conn: AsyncConnection, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=ConnectionDatabase(conn))  # the exporter binds to stderr now
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


async def test_a_span_per_request_with_the_operation_and_no_patient_data(
    traced: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    patient = await create_patient(conn)
    token = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
    capsys.readouterr()
    response = await traced.get(
        "/graphql",
        params={
            "operationName": "MyRecord",
            "variables": json.dumps({"personnummer": patient.identifier}),
        },
        headers={
            "authorization": f"Bearer {token}",
            "accept": "application/json",
            "x-request-id": "trace-me",
            "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
        },
    )
    assert response.status_code == 200
    assert response.json()["data"]["patient"]["familyName"] == patient.family_name
    printed = capsys.readouterr().err
    [span] = [found for found in spans(printed) if found["kind"] == "SpanKind.SERVER"]
    assert span["name"] == "GET /graphql"
    assert span["kind"] == "SpanKind.SERVER"
    assert span["context"]["trace_id"] == f"0x{TRACE_ID}"
    assert span["parent_id"] == "0x00f067aa0ba902b7"
    assert span["attributes"] == {
        "http.request.method": "GET",
        "http.route": "/graphql",
        "url.path": "/graphql",
        "http.response.status_code": 200,
        "graphql.operation.name": "MyRecord",
        "vardkedja.request_id": "trace-me",
    }
    assert patient.identifier not in printed
    assert patient.family_name not in printed


async def test_spans_are_off_by_default(
    conn: AsyncConnection, capsys: pytest.CaptureFixture[str]
) -> None:
    assert Settings().tracing == "off"
    app = create_app(Settings(jwt_secret=TEST_SECRET), db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        capsys.readouterr()
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
    assert spans(capsys.readouterr().err) == []


async def test_each_sql_statement_is_a_child_span_with_only_its_operation(
    traced: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    patient, statements = await my_record(traced, conn, settings)
    printed = capsys.readouterr().err
    found = spans(printed)
    [server] = [span for span in found if span["kind"] == "SpanKind.SERVER"]
    sql = [span for span in found if span["kind"] == "SpanKind.CLIENT"]
    # One span per statement sent (through SQLAlchemy or straight to asyncpg), all under the
    # request's span; the audit group's append (audit_append) is one of them.
    assert len(sql) == len(statements) > 0
    assert len(found) == len(sql) + 1
    names = [span["name"] for span in sql]
    assert names == [operation_name(statement) for statement in statements]
    assert "SELECT" in names and audit.APPEND in statements
    for span in sql:
        assert span["parent_id"] == server["context"]["span_id"]
        assert span["context"]["trace_id"] == server["context"]["trace_id"]
        assert span["attributes"] == {
            "db.system.name": "postgresql",
            "db.operation.name": span["name"],
        }
        assert span["status"]["status_code"] == "UNSET"
    assert patient.identifier not in printed
    assert patient.family_name not in printed


def test_operation_names_are_a_bounded_keyword() -> None:
    assert operation_name("  /* plan */ -- hot path\n select 1") == "SELECT"
    assert operation_name("WITH x AS (SELECT 1) SELECT * FROM x") == "WITH"
    assert operation_name("19121212-1212") == "OTHER"
    assert operation_name("") == "OTHER"
