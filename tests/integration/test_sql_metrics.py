"""SQL statements and SQL time per request, read from /metrics after real requests: the
statement histogram moves by exactly the statements the request sent on its connection."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncConnection

from app.models import Patient
from app.settings import Settings
from app.tokens import mint
from tests.factories import create_patient
from tests.sqlcount import count_statements

STATEMENTS = "vardkedja_request_sql_statements"
SECONDS = "vardkedja_request_sql_duration_seconds"
Samples = dict[tuple[str, str, str], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    """(sample name, route, operation) -> value, as a Prometheus server reads them."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            if s.name.startswith((STATEMENTS, SECONDS)) and not s.name.endswith("_bucket"):
                found[(s.name, s.labels["route"], s.labels["operation"])] = s.value
    return found


def moved(before: Samples, after: Samples, route: str, operation: str) -> dict[str, float]:
    return {
        name: after[(name, r, o)] - before.get((name, r, o), 0.0)
        for name, r, o in after
        if (r, o) == (route, operation)
    }


async def my_record(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> tuple[Patient, list[str]]:
    """A new patient reads their own record (the shipped MyRecord); the statements it sent."""
    patient = await create_patient(conn)
    token = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
    async with count_statements(conn) as statements:
        answer = await client.post(
            "/graphql",
            json={"operationName": "MyRecord", "variables": {"personnummer": patient.identifier}},
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.json()["data"]["patient"]["familyName"] == patient.family_name
    return patient, statements


async def test_a_request_moves_its_statement_count_and_sql_time(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    before = await scrape(client)
    _, statements = await my_record(client, conn, settings)
    after = await scrape(client)
    change = moved(before, after, "/graphql", "MyRecord")
    assert len(statements) > 0
    assert change[f"{STATEMENTS}_count"] == 1
    assert change[f"{STATEMENTS}_sum"] == len(statements)
    assert change[f"{SECONDS}_count"] == 1
    assert 0 < change[f"{SECONDS}_sum"] < 5


async def test_a_request_without_sql_counts_zero_statements(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    assert (await client.get("/healthz")).status_code == 200
    after = await scrape(client)
    change = moved(before, after, "/healthz", "none")
    assert change[f"{STATEMENTS}_count"] == 1
    assert change[f"{STATEMENTS}_sum"] == 0
    assert change[f"{SECONDS}_sum"] == 0


async def test_an_adhoc_query_counts_under_adhoc(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    patient = await create_patient(conn)
    token = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
    query = "query($p: String!) { patient(personnummer: $p) { familyName } }"
    before = await scrape(client)
    async with count_statements(conn) as statements:
        answer = await client.post(
            "/graphql",
            json={"query": query, "variables": {"p": patient.identifier}},
            headers={"authorization": f"Bearer {token}"},
        )
    assert answer.json()["data"]["patient"]["familyName"] == patient.family_name
    change = moved(before, await scrape(client), "/graphql", "adhoc")
    assert change[f"{STATEMENTS}_count"] == 1
    assert change[f"{STATEMENTS}_sum"] == len(statements) > 0
