"""Request ids, Prometheus metrics and structured logs."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import ConnectionDatabase, PooledDatabase
from app.main import create_app
from app.observability import logs
from app.observability.logs import JsonFormatter
from app.observability.metrics import POOLS, REGISTRY
from app.settings import Settings
from app.tokens import mint
from tests.conftest import TEST_SECRET
from tests.factories import create_patient
from tests.live_server import free_port

TYPENAME = {"query": "{ __typename }"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_request_id_is_made_when_none_is_sent(client: httpx.AsyncClient) -> None:
    first = await client.post("/graphql", json=TYPENAME)
    second = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", second.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_sane_request_id_is_echoed_and_an_odd_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    sane = "ed-7f3a.2026-12-04:req/1"
    response = await client.post("/graphql", json=TYPENAME, headers={"x-request-id": sane})
    assert response.headers["x-request-id"] == sane
    for odd in ("has spaces in it", "x" * 129, 'quote"and{brace}'):
        response = await client.post("/graphql", json=TYPENAME, headers={"x-request-id": odd})
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]), odd


async def test_metrics_count_graphql_requests_by_shipped_operation(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    patient = await create_patient(conn)
    token = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
    before = {
        "shipped": sample("vardkedja_graphql_requests_total", operation="MyRecord", status="200"),
        "adhoc": sample("vardkedja_graphql_requests_total", operation="adhoc", status="200"),
        "none": sample("vardkedja_graphql_requests_total", operation="none", status="400"),
        "latency": sample("vardkedja_graphql_request_duration_seconds_count", operation="MyRecord"),
        "audit": sample("vardkedja_audit_entries_total"),
        "http": sample(
            "vardkedja_http_requests_total", route="/graphql", method="POST", status="200"
        ),
    }
    own = await client.post(
        "/graphql",
        json={"operationName": "MyRecord", "variables": {"personnummer": patient.identifier}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert own.status_code == 200
    assert own.json()["data"]["patient"]["familyName"] == patient.family_name
    assert (await client.post("/graphql", json=TYPENAME)).status_code == 200
    assert (await client.post("/graphql", json={"operationName": "Nope"})).status_code == 400

    assert sample("vardkedja_graphql_requests_total", operation="MyRecord", status="200") == (
        before["shipped"] + 1
    )
    assert sample("vardkedja_graphql_requests_total", operation="adhoc", status="200") == (
        before["adhoc"] + 1
    )
    assert sample("vardkedja_graphql_requests_total", operation="none", status="400") == (
        before["none"] + 1
    )
    assert sample("vardkedja_graphql_request_duration_seconds_count", operation="MyRecord") == (
        before["latency"] + 1
    )
    assert sample("vardkedja_audit_entries_total") > before["audit"]
    assert sample(
        "vardkedja_http_requests_total", route="/graphql", method="POST", status="200"
    ) == (before["http"] + 2)

    exposition = await client.get("/metrics")
    assert exposition.status_code == 200
    assert exposition.headers["content-type"].startswith("text/plain")
    assert 'vardkedja_graphql_requests_total{operation="MyRecord",status="200"}' in exposition.text
    # Invented operation names never become series.
    assert "Nope" not in exposition.text


async def test_limit_refusals_are_counted_by_code(client: httpx.AsyncClient) -> None:
    from schema.limits import MAX_ALIASES

    before = sample("vardkedja_limit_refusals_total", code="TOO_MANY_ALIASES")
    many = "{ " + " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1)) + " }"
    response = await client.post("/graphql", json={"query": many})
    assert response.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert sample("vardkedja_limit_refusals_total", code="TOO_MANY_ALIASES") == before + 1


async def test_pool_usage_is_a_metric(database_url: str) -> None:
    pooled = PooledDatabase(database_url, pool_size=3)
    pooled.start()
    POOLS.databases.add(pooled)
    try:
        async with pooled.transaction():
            assert sample("vardkedja_db_pool_in_use") >= 1
            assert sample("vardkedja_db_pool_size") >= 3
        idle = sample("vardkedja_db_pool_in_use")
    finally:
        await pooled.stop()
        POOLS.databases.discard(pooled)
    assert idle == 0 or idle < 3


async def test_metrics_can_be_switched_off(conn: AsyncConnection) -> None:
    app = create_app(Settings(jwt_secret=TEST_SECRET, metrics=False), db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        assert (await http.get("/metrics")).status_code == 404


async def test_json_access_line_has_the_request_id_and_no_query_string(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "_configured", "json")  # what configure("json") leaves behind
    with caplog.at_level(logging.INFO, logger="vardkedja.access"):
        response = await client.get(
            "/graphql",
            params={"query": "{ __typename }", "variables": '{"p": "19121212-1212"}'},
            headers={"x-request-id": "trace-42"},
        )
    assert response.status_code == 200
    [record] = [r for r in caplog.records if r.name == "vardkedja.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line | {"time": None, "duration_ms": None} == {
        "time": None,
        "level": "INFO",
        "logger": "vardkedja.access",
        "message": "GET /graphql 200",
        "request_id": "trace-42",
        "method": "GET",
        "path": "/graphql",
        "status": 200,
        "duration_ms": None,
        "operation": "adhoc",
    }
    assert "19121212" not in JsonFormatter().format(record)


def test_json_lines_carry_exceptions_and_extra_fields() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "vardkedja.x", logging.ERROR, "f", 1, "failed %s", ("once",), sys.exc_info()
        )
    record.request_id = "r1"
    record.chain = 3
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed once"
    assert line["request_id"] == "r1"
    assert line["chain"] == 3
    assert "ValueError: boom" in line["exception"]


def test_serve_with_json_logs_writes_only_json_lines_with_request_ids(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = os.environ | {
        "VARDKEDJA_DATABASE_URL": database_url,
        "VARDKEDJA_LOG_FORMAT": "json",
        "VARDKEDJA_DATA_DIR": str(tmp_path),
        "VARDKEDJA_DEVELOPMENT": "true",
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "vardkedja"), "serve", "--no-demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        answer = httpx.get(f"{base}/healthz?who=19121212-1212", headers={"x-request-id": "j-1"})
        assert answer.headers["x-request-id"] == "j-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "vardkedja.access"]
    assert ("/healthz", 200, "j-1") in [(a["path"], a["status"], a["request_id"]) for a in access]
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    assert "19121212" not in err
