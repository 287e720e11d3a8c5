"""Shipped operations (care situations): valid against the schema, runnable by name, hash or
documentId on factory data, and the only thing a server in allow-list mode runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse, validate
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.db import ConnectionDatabase
from app.graphql_http import GRAPHQL_RESPONSE
from app.settings import Settings
from schema import schema
from schema.cost import estimate, shape_of
from schema.limits import DEFAULT_MAX_COST, DEFAULT_MAX_COST_PUBLIC, MAX_TOKENS, cost_errors
from schema.persisted import REGISTRY, load_registry, read_operation, resolve_persisted
from tests.factories import (
    create_alert,
    create_care_contact,
    create_dental_treatment,
    create_diagnosis,
    create_dispensation,
    create_implementation_plan,
    create_municipal_decision,
    create_patient,
    create_plan_activity,
    create_prescription,
    create_provider,
    create_tooth_finding,
    create_unit,
)
from tests.integration.mutation_support import patient_token, system_token

SITUATIONS = {
    "EmergencyOverview",
    "DentalVisit",
    "HomeCareVisit",
    "PharmacyDispensing",
    "MyRecord",
    "PopulationList",
    "DischargeHandover",
}


def test_every_care_situation_is_shipped() -> None:
    assert {op.name for op in REGISTRY} == SITUATIONS


@pytest.mark.parametrize("name", sorted(SITUATIONS))
def test_shipped_operations_are_valid_against_the_schema_and_its_limits(name: str) -> None:
    op = REGISTRY.by_name[name]
    document = parse(op.document, max_tokens=MAX_TOKENS)
    assert validate(schema._schema, document) == []
    cost = estimate(shape_of(schema._schema, op.document, name), {})
    # Each within the ceiling of the people it serves: the patient app's, the clinicians'.
    ceiling = DEFAULT_MAX_COST_PUBLIC if name == "MyRecord" else DEFAULT_MAX_COST
    assert cost_errors(cost, ceiling) == [], cost
    assert op.operation_type == "query"


@dataclass
class Record:
    patient: models.Patient
    prescription: models.Prescription


async def make_record(conn: AsyncConnection) -> Record:
    provider = await create_provider(conn)
    clinic = await create_unit(conn, provider, kind="primary_care", name="Vårdcentralen Norr")
    dental = await create_unit(conn, provider, kind="dental", name="Folktandvården Norr")
    pharmacy = await create_unit(conn, provider, kind="pharmacy", name="Apoteket Norr")
    home = await create_unit(conn, provider, kind="home_care", name="Hemtjänst Norr")
    patient = await create_patient(
        conn,
        birth_date=date(1941, 3, 2),
        street_address="Storgatan 1",
        postal_code="11122",
        city="Stockholm",
    )
    when = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    contact = await create_care_contact(conn, patient, clinic, event_time=when)
    await create_diagnosis(
        conn,
        patient,
        clinic,
        care_contact_id=contact.id,
        event_time=when,
        code="I48.9",
        display="Förmaksflimmer",
    )
    await create_alert(conn, patient, clinic)
    rx = await create_prescription(
        conn, patient, clinic, atc_code="B01AF02", drug_name="Eliquis", dispensations_allowed=4
    )
    await create_prescription(conn, patient, clinic, atc_code="M05BA04", drug_name="Alendronat")
    await create_prescription(conn, patient, clinic, status="utsatt", drug_name="Gammal")
    await create_dispensation(conn, rx, pharmacy, event_time=datetime(2025, 3, 2, tzinfo=UTC))
    await create_dental_treatment(
        conn, patient, dental, tooth="46", procedure_code="401", procedure_text="Extraktion"
    )
    await create_tooth_finding(conn, patient, dental, tooth="36")
    decision = await create_municipal_decision(conn, patient, home)
    plan = await create_implementation_plan(conn, decision, home)
    await create_plan_activity(conn, plan)
    return Record(patient, rx)


async def run_named(
    client: httpx.AsyncClient, name: str, variables: dict[str, Any], token: str
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"operationName": name, "variables": variables},
        headers={"authorization": f"Bearer {token}", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body


async def test_emergency_overview(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    body = await run_named(
        client,
        "EmergencyOverview",
        {"personnummer": record.patient.identifier, "since": "2025-01-01T00:00:00Z"},
        system_token(settings),
    )
    patient = body["data"]["patient"]
    assert patient["alerts"]["nodes"][0]["agentAtcCode"] == "J01CE02"
    drugs = {p["drugName"] for p in patient["prescriptions"]["nodes"]}
    assert drugs == {"Eliquis", "Alendronat"}  # the discontinued one is not current
    [contact] = patient["careContacts"]["nodes"]
    assert contact["diagnoses"]["nodes"] == [
        {"code": "I48.9", "display": "Förmaksflimmer", "diagnosisType": "HUVUDDIAGNOS"}
    ]


async def test_dental_visit(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    clinic = await create_unit(conn, await create_provider(conn))
    await create_prescription(conn, record.patient, clinic, atc_code="N02BE01", drug_name="Alvedon")
    body = await run_named(
        client, "DentalVisit", {"personnummer": record.patient.identifier}, system_token(settings)
    )
    patient = body["data"]["patient"]
    relevant = {p["atcCode"] for p in patient["dentalRelevant"]["nodes"]}
    assert relevant == {"B01AF02", "M05BA04"}  # anticoagulant and bisphosphonate, not Alvedon
    active = {p["drugName"] for p in patient["activeMedication"]["nodes"]}
    assert active == {"Eliquis", "Alendronat", "Alvedon"}
    assert patient["dentalTreatments"]["nodes"][0]["procedureText"] == "Extraktion"
    assert [t["tooth"] for t in patient["toothChart"]["nodes"]] == ["36"]


async def test_home_care_visit(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    body = await run_named(
        client, "HomeCareVisit", {"personnummer": record.patient.identifier}, system_token(settings)
    )
    patient = body["data"]["patient"]
    [decision] = patient["municipalDecisions"]["nodes"]
    assert decision["insats"]["code"] == "SOL-HEMTJANST"
    [plan] = decision["implementationPlans"]["nodes"]
    assert plan["activities"]["nodes"][0]["responsible"] == "Hemtjänstgrupp Norr"
    assert patient["address"]["city"] == "Stockholm"


async def test_pharmacy_dispensing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    body = await run_named(
        client,
        "PharmacyDispensing",
        {"personnummer": record.patient.identifier},
        system_token(settings),
    )
    prescriptions = {p["drugName"]: p for p in body["data"]["patient"]["prescriptions"]["nodes"]}
    eliquis = prescriptions["Eliquis"]
    assert eliquis["dispensationsAllowed"] == 4
    assert eliquis["dispensations"]["totalCount"] == 1
    assert eliquis["dispensations"]["nodes"][0]["pharmacy"] == {"name": "Apoteket Norr"}


async def test_my_record_for_the_patient_themself(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    pnr = record.patient.identifier
    body = await run_named(
        client, "MyRecord", {"personnummer": pnr, "first": 5}, patient_token(settings, pnr)
    )
    patient = body["data"]["patient"]
    assert patient["personnummer"] == pnr
    timeline = patient["timeline"]
    assert len(timeline["nodes"]) == 5
    assert timeline["pageInfo"]["hasNextPage"] is True
    assert timeline["totalCount"] > 5
    second = await run_named(
        client,
        "MyRecord",
        {"personnummer": pnr, "first": 5, "after": timeline["pageInfo"]["endCursor"]},
        patient_token(settings, pnr),
    )
    first_ids = {n["id"] for n in timeline["nodes"]}
    assert first_ids.isdisjoint(n["id"] for n in second["data"]["patient"]["timeline"]["nodes"])


# --- calling conventions ------------------------------------------------------------------


async def test_by_apq_hash_and_by_document_id(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    op = REGISTRY.by_name["DentalVisit"]
    headers = {"authorization": f"Bearer {system_token(settings)}"}
    variables = {"personnummer": record.patient.identifier}
    by_hash = await client.post(
        "/graphql",
        json={
            "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": op.sha256}},
        },
        headers=headers,
    )
    by_id = await client.post(
        "/graphql", json={"documentId": op.document_id, "variables": variables}, headers=headers
    )
    by_get = await client.get(
        "/graphql",
        params={
            "documentId": op.sha256,
            "variables": f'{{"personnummer": "{record.patient.identifier}"}}',
        },
        headers=headers,
    )
    assert by_hash.json()["data"]["patient"]["personnummer"] == record.patient.identifier
    assert by_id.json() == by_hash.json() == by_get.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"operationName": "NoSuchOperation"}, "PERSISTED_QUERY_NOT_FOUND"),
        ({"documentId": "sha256:" + "0" * 64}, "PERSISTED_QUERY_NOT_FOUND"),
        (
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}},
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (
            {
                "query": "{ __typename }",
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}},
            },
            "PERSISTED_QUERY_HASH_MISMATCH",
        ),
        ({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "x"}}}, "BAD_REQUEST"),
        ({}, "BAD_REQUEST"),
    ],
)
async def test_unknown_persisted_operations(
    client: httpx.AsyncClient, body: dict[str, Any], code: str
) -> None:
    response = await client.post("/graphql", json=body, headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_apq_with_the_matching_query_runs_it(client: httpx.AsyncClient) -> None:
    from schema.persisted import sha256_of

    query = "{ __typename }"
    body = {
        "query": query,
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256_of(query)}},
    }
    response = await client.post("/graphql", json=body)
    assert response.json()["data"] == {"__typename": "Query"}


# --- allow-list mode ----------------------------------------------------------------------


@pytest.fixture
async def locked_client(
    conn: AsyncConnection, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    from app.main import create_app

    locked = settings.model_copy(update={"persisted_operations_only": True})
    app = create_app(locked, db=ConnectionDatabase(conn))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


async def test_allow_list_mode_runs_only_shipped_operations(
    locked_client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = await make_record(conn)
    headers = {"authorization": f"Bearer {system_token(settings)}", "accept": GRAPHQL_RESPONSE}
    free = await locked_client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert free.status_code == 400
    assert free.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    mutation = await locked_client.post(
        "/graphql",
        json={
            "query": 'mutation { nullify(input: {id: "x", version: 1, reason: "r"}) { replayed } }'
        },
        headers=headers,
    )
    assert mutation.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
    variables = {"personnummer": record.patient.identifier}
    by_name = await locked_client.post(
        "/graphql",
        json={"operationName": "PharmacyDispensing", "variables": variables},
        headers=headers,
    )
    assert by_name.status_code == 200
    assert by_name.json()["data"]["patient"]["prescriptions"]["totalCount"] == 2
    exact_text = await locked_client.post(
        "/graphql",
        json={"query": REGISTRY.by_name["PharmacyDispensing"].document, "variables": variables},
        headers=headers,
    )
    assert exact_text.json() == by_name.json()


# --- the registry itself ------------------------------------------------------------------


def test_registry_rejects_badly_formed_files(tmp_path: Path) -> None:
    (tmp_path / "Two.graphql").write_text("query Two { a } query Three { b }")
    with pytest.raises(ValueError, match="exactly one named operation"):
        read_operation(tmp_path / "Two.graphql")
    (tmp_path / "Anonymous.graphql").write_text("{ a }")
    with pytest.raises(ValueError, match="exactly one named operation"):
        read_operation(tmp_path / "Anonymous.graphql")
    (tmp_path / "Wrong.graphql").write_text("query Right { a }")
    with pytest.raises(ValueError, match=r"name the file Right\.graphql"):
        read_operation(tmp_path / "Wrong.graphql")


def test_hash_is_of_the_exact_text(tmp_path: Path) -> None:
    (tmp_path / "A.graphql").write_text("query A { a }\n")
    registry = load_registry(tmp_path)
    op = registry.by_name["A"]
    import hashlib

    assert op.sha256 == hashlib.sha256(b"query A { a }\n").hexdigest()
    found = resolve_persisted(
        None, None, None, document_id=op.document_id, only_persisted=True, registry=registry
    )
    assert (found.query, found.persisted) == ("query A { a }\n", op)
    # Same operation with other whitespace is another document: refused in allow-list mode.
    with pytest.raises(Exception, match="only shipped operations"):
        resolve_persisted("query A {a}", None, None, only_persisted=True, registry=registry)
