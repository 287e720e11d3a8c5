"""The cost limits over HTTP, as the people who call the endpoint would meet them: refused
before any SQL with a stable code, the cost in every answer, the server responsive meanwhile."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.graphql_http import GRAPHQL_RESPONSE
from app.settings import Settings
from app.tokens import mint
from schema.limits import MAX_FIELDS
from tests import factories as f
from tests.sqlcount import count_statements
from tests.unit.test_cost import doubling

# The issue's example: lists of patients' contacts of patients' contacts, within depth and page
# limits; a patient's own token made it answer 124 MB.
NESTED = """query Nested($pnr: String!) { patient(personnummer: $pnr) {
  careContacts(first: 100) { nodes { patient {
    careContacts(first: 100) { nodes { patient {
      careContacts(first: 100) { nodes { reason } } } } } } } } } }"""


async def post(
    client: httpx.AsyncClient,
    query: str,
    token: str | None = None,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    headers = {"accept": GRAPHQL_RESPONSE}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def code_of(response: httpx.Response) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


async def audit_rows(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT count(*) FROM audit_entry"))).scalar_one())


async def test_nested_lists_are_too_costly_for_the_patient_before_any_sql(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    patient = await f.create_patient(conn)
    token = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
    before = await audit_rows(conn)
    async with count_statements(conn) as statements:
        response = await post(client, NESTED, token, {"pnr": patient.identifier})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["limit"] == settings.max_cost_public
    assert error["extensions"]["cost"] > 100**3
    assert str(settings.max_cost_public) in error["message"]
    assert statements == []
    assert await audit_rows(conn) == before


async def test_ceilings_differ_by_principal_kind(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """A list of 100 patients' 40 contacts (about 20,000 values) is fine for a clinician, too
    much for a patient's app."""
    query = "{ patients(first: 100) { nodes { careContacts(first: 40) { nodes { id reason } } } } }"
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    doctor = mint(
        settings,
        kind="clinician",
        subject="SE2321000016-DR01",
        care_unit=unit.hsa_id,
        care_provider=provider.hsa_id,
    )
    allowed = await post(client, query, doctor)
    assert allowed.status_code == 200, allowed.text
    cost = allowed.json()["extensions"]["cost"]
    assert settings.max_cost_public < cost["estimated"] <= settings.max_cost
    assert cost["limit"] == settings.max_cost
    patient = await f.create_patient(conn)
    own = mint(settings, kind="patient", subject=patient.identifier, pnr=patient.identifier)
    refused = await post(client, query, own)
    assert refused.status_code == 400
    assert code_of(refused) == "QUERY_TOO_COSTLY"


async def test_every_answer_reports_its_cost(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ __typename }")
    assert response.json()["extensions"]["cost"] == {
        "estimated": 1,
        "limit": Settings().max_cost_public,
        "fields": 1,
        "depth": 0,
    }


async def test_settings_move_the_ceiling(conn: AsyncConnection, settings: Settings) -> None:
    from app.db import ConnectionDatabase
    from app.main import create_app

    tight = settings.model_copy(update={"max_cost_public": 2})
    app = create_app(tight, db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await post(client, "{ a: __typename }")).status_code == 200
        refused = await post(client, "{ a: __typename b: __typename c: __typename }")
    assert code_of(refused) == "QUERY_TOO_COSTLY"
    assert refused.json()["errors"][0]["extensions"]["limit"] == 2


async def health_latency(client: httpx.AsyncClient, during: Any) -> tuple[float, Any]:
    """The slowest /healthz answer while `during` runs, and `during`'s result."""
    # Like a freshly started server (app.main.freeze_startup_heap): the objects that earlier
    # tests left (over 300,000 in a full run) must not be walked by a full collection that
    # happens to start mid-measurement (~0.3 s with the GIL held).
    gc.collect()
    gc.freeze()
    slowest = 0.0
    task = asyncio.ensure_future(during)
    while not task.done():
        started = time.perf_counter()
        assert (await client.get("/healthz")).status_code == 200
        slowest = max(slowest, time.perf_counter() - started)
        await asyncio.sleep(0)
    return slowest, await task


async def test_a_fragment_bomb_is_refused_at_once_and_the_server_stays_responsive(
    client: httpx.AsyncClient, conn: AsyncConnection
) -> None:
    """k = 29 kept the server busy for over 10 minutes; now it is one linear pass."""
    before = await audit_rows(conn)
    for k in (20, 29, 120):
        slowest, response = await health_latency(client, post(client, doubling(k)))
        assert response.status_code == 400
        assert code_of(response) == "QUERY_TOO_LARGE"
        assert slowest < 0.1
    started = time.perf_counter()
    assert (await client.get("/healthz")).status_code == 200
    assert time.perf_counter() - started < 0.1
    assert await audit_rows(conn) == before


async def test_fragment_cycles_and_spreads_stay_bounded(client: httpx.AsyncClient) -> None:
    cycle = await post(client, "fragment A on Query { ...A } { ...A }")
    assert cycle.status_code == 400
    assert code_of(cycle) == "GRAPHQL_VALIDATION_FAILED"
    wide = "fragment W on Query { " + " ".join(f"f{i}: __typename" for i in range(25)) + " }"
    many = await post(client, wide + " { " + "...W " * 60 + "}")
    assert code_of(many) in {"TOO_MANY_ALIASES", "QUERY_TOO_LARGE"}


async def test_nul_and_invalid_code_points_are_invalid_values_naming_the_argument(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    token = mint(settings, kind="system", subject="integration")
    before = await audit_rows(conn)
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            '{ patients(filter: {familyName: "An\\u0000na"}) { totalCount } }',
            {},
            "patients(filter:)",
        ),
        (
            "query($f: PatientFilter) { patients(filter: $f) { totalCount } }",
            {"f": {"municipalityCodes": ["0180", "01\x0080"]}},
            "$f.municipalityCodes[1]",
        ),
        ('{ careUnit(hsaId: "SE\\u0000") { name } }', {}, "careUnit(hsaId:)"),
        ("query($h: String) { practitioner(hsaId: $h) { name } }", {"h": "\x00"}, "$h"),
    ]
    for query, variables, argument in cases:
        response = await post(client, query, token, variables)
        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "INVALID_VALUE", "argument": argument}, error
        assert argument in error["message"]
    assert await audit_rows(conn) == before


async def test_lone_surrogates_never_reach_the_database(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """JSON and GraphQL both refuse an escaped lone surrogate: a coded 400, never a 500."""
    token = mint(settings, kind="system", subject="integration")
    headers = {
        "content-type": "application/json",
        "accept": GRAPHQL_RESPONSE,
        "authorization": f"Bearer {token}",
    }
    query = "query($h: String) { careProvider(hsaId: $h) { name } }"
    in_json = await client.post(
        "/graphql",
        content=b'{"query": "%s", "variables": {"h": "SE\\ud800"}}' % query.encode(),
        headers=headers,
    )
    assert (in_json.status_code, code_of(in_json)) == (400, "BAD_REQUEST")
    in_literal = await client.post(
        "/graphql",
        content=b'{"query": "{ careProvider(hsaId: \\"SE\\\\ud800\\") { name } }"}',
        headers=headers,
    )
    assert (in_literal.status_code, code_of(in_literal)) == (400, "GRAPHQL_PARSE_FAILED")


async def test_validating_the_largest_allowed_document_leaves_the_loop_free(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """graphql-core's overlap check is quadratic in repeated fields: hundreds of milliseconds
    for a document just under MAX_FIELDS. It runs in a worker thread, so /healthz still answers."""
    unit = (
        "patients(first: 1) { nodes { careContacts(first: 1) "
        "{ nodes { reason careUnit { name } } } } }"
    )
    repeats = MAX_FIELDS // 7
    query = "{ " + " ".join([unit] * repeats) + " }"
    token = mint(settings, kind="system", subject="integration")
    # As `serve` does after start-up (app.main.freeze_startup_heap): the heap that the test
    # session has built up is frozen, so a full collection does not stall the loop instead.
    gc.collect()
    gc.freeze()
    try:
        slowest, response = await health_latency(client, post(client, query, token))
    finally:
        gc.unfreeze()
    assert response.status_code == 200, response.text[:300]
    assert response.json()["extensions"]["cost"]["fields"] == 7 * repeats
    assert slowest < 0.1


async def test_a_request_is_measured_once(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint measures before its transaction; execution reuses that measurement."""
    from schema.cost import estimate as original

    calls: list[int] = []

    def counted(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr("schema.limits.estimate", counted)
    token = mint(settings, kind="system", subject="integration")
    query = "query($n: Int) { patients(first: $n) { totalCount } }"
    response = await post(client, query, token, {"n": 3})
    assert response.status_code == 200, response.text
    assert response.json()["extensions"]["cost"]["estimated"] == 3 * 2
    assert len(calls) == 1
    # Run without the endpoint (no measurement to reuse), the schema measures by itself.
    from schema import schema

    direct = await schema.execute("{ __typename }")
    assert direct.extensions is not None and direct.extensions["cost"]["estimated"] == 1
    assert len(calls) == 2
