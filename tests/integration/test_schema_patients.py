"""Root fields: patient, patients, node, careProvider, careUnit, practitioner."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.principal import ANONYMOUS
from tests import factories as f
from tests.sqlcount import data_of, execute

BY_ID = "query($id: ID) { patient(id: $id) { id familyName } }"


async def test_patient_by_personnummer_or_by_id(conn: AsyncConnection) -> None:
    patient = await f.create_patient(conn, family_name="Idsson")
    display = f"{patient.identifier[2:8]}-{patient.identifier[8:]}"
    query = "query($p: String) { patient(personnummer: $p) { id familyName identifierKind } }"
    found = (await data_of(conn, query, {"p": display}))["patient"]
    assert found["familyName"] == "Idsson"
    assert found["identifierKind"] == "PERSONNUMMER"
    again = (await data_of(conn, BY_ID, {"id": found["id"]}))["patient"]
    assert again == {"id": found["id"], "familyName": "Idsson"}


@pytest.mark.parametrize(
    "query",
    [
        "{ patient { id } }",
        '{ patient(personnummer: "191212121212", id: "x") { id } }',
        "{ careUnit { id } }",
        '{ careProvider(hsaId: "SE1", id: "x") { id } }',
    ],
)
async def test_exactly_one_key_must_be_given(conn: AsyncConnection, query: str) -> None:
    result = await execute(conn, query)
    assert result.errors is not None
    assert getattr(result.errors[0].original_error, "rule", None) is None
    assert result.errors[0].original_error.extensions["rule"] == "exactly_one"  # type: ignore[union-attr]


async def test_unknown_or_wrong_type_ids(conn: AsyncConnection) -> None:
    provider = await f.create_provider(conn)
    provider_id = (
        await data_of(
            conn, "query($h: String) { careProvider(hsaId: $h) { id } }", {"h": provider.hsa_id}
        )
    )["careProvider"]["id"]
    result = await execute(conn, BY_ID, {"id": provider_id})
    assert result.errors is not None
    assert result.errors[0].original_error.code == "BAD_USER_INPUT"  # type: ignore[union-attr]
    result = await execute(conn, '{ node(id: "bm9wZQ") { id } }')
    assert result.errors is not None
    assert result.errors[0].original_error.code == "BAD_USER_INPUT"  # type: ignore[union-attr]


async def test_anonymous_callers_find_no_one(conn: AsyncConnection) -> None:
    patient = await f.create_patient(conn)
    query = "{ patients { totalCount nodes { id } } }"
    assert (await data_of(conn, query, principal=ANONYMOUS))["patients"] == {
        "totalCount": 0,
        "nodes": [],
    }
    found = await data_of(
        conn,
        "query($p: String) { patient(personnummer: $p) { id } }",
        {"p": patient.identifier},
        principal=ANONYMOUS,
    )
    assert found["patient"] is None


async def test_patient_search_filters_orders_and_pages(conn: AsyncConnection) -> None:
    for family, given, born in [
        ("Svensson", "Anna", date(1950, 1, 1)),
        ("Svensson", "Bo", date(1990, 1, 1)),
        ("Svenning", "Cia", date(1970, 1, 1)),
        ("Andersson", "Dan", date(1980, 1, 1)),
    ]:
        await f.create_patient(conn, family_name=family, given_name=given, birth_date=born)
    query = """query($filter: PatientFilter, $after: String) {
      patients(filter: $filter, first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { givenName }
      } }"""
    page = (await data_of(conn, query, {"filter": {"familyName": "sven"}}))["patients"]
    assert [n["givenName"] for n in page["nodes"]] == ["Cia", "Anna"]
    assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (3, True)
    variables = {"filter": {"familyName": "sven"}, "after": page["pageInfo"]["endCursor"]}
    page = (await data_of(conn, query, variables))["patients"]
    assert [n["givenName"] for n in page["nodes"]] == ["Bo"]
    assert page["pageInfo"]["hasNextPage"] is False
    range_ = {"bornFrom": "1960-01-01", "bornTo": "1985-12-31", "familyName": "s"}
    page = (await data_of(conn, query, {"filter": range_}))["patients"]
    assert [n["givenName"] for n in page["nodes"]] == ["Cia"]


async def test_protected_identity_never_shows_an_address(conn: AsyncConnection) -> None:
    open_ = await f.create_patient(conn, street_address="Storgatan 1", city="Umeå")
    hidden = await f.create_patient(
        conn, street_address="Hemlig väg 2", city="Luleå", protected_identity=True
    )
    query = "query($p: String) { patient(personnummer: $p) { address { streetAddress city } } }"
    shown = await data_of(conn, query, {"p": open_.identifier})
    assert shown["patient"]["address"] == {"streetAddress": "Storgatan 1", "city": "Umeå"}
    assert (await data_of(conn, query, {"p": hidden.identifier}))["patient"]["address"] is None


async def test_representatives_both_ways(conn: AsyncConnection) -> None:
    child = await f.create_patient(conn, given_name="Barn", birth_date=date(2018, 1, 1))
    parent = await f.create_patient(conn, given_name="Förälder")
    await f.create_representative(conn, child, parent, "guardian")
    query = """query($p: String) { patient(personnummer: $p) {
      representatives { totalCount nodes {
        kind representative { givenName } patient { givenName } } }
      represents { totalCount nodes { kind patient { givenName } } } } }"""
    of_child = (await data_of(conn, query, {"p": child.identifier}))["patient"]
    assert of_child["representatives"]["nodes"] == [
        {
            "kind": "GUARDIAN",
            "representative": {"givenName": "Förälder"},
            "patient": {"givenName": "Barn"},
        }
    ]
    assert of_child["represents"]["totalCount"] == 0
    of_parent = (await data_of(conn, query, {"p": parent.identifier}))["patient"]
    assert of_parent["represents"]["nodes"] == [
        {"kind": "GUARDIAN", "patient": {"givenName": "Barn"}}
    ]
    assert of_parent["represents"]["totalCount"] == 1
    attorney = await f.create_patient(conn, given_name="Ombud")
    await f.create_representative(conn, child, attorney, "power_of_attorney")
    guardians = """query($p: String) { patient(personnummer: $p) {
      all: representatives { totalCount }
      guardians: representatives(kinds: [GUARDIAN]) {
        nodes { representative { givenName } } } } }"""
    found = (await data_of(conn, guardians, {"p": child.identifier}))["patient"]
    assert found["all"]["totalCount"] == 2
    assert found["guardians"]["nodes"] == [{"representative": {"givenName": "Förälder"}}]


async def test_organisations_by_hsa_id_and_their_links(conn: AsyncConnection) -> None:
    provider = await f.create_provider(conn, name="Region Norr", kind="region")
    for name in ("Vårdcentral B", "Akuten A", "Vårdcentral C"):
        await f.create_unit(conn, provider, name=name)
    practitioner = await f.create_practitioner(conn, family_name="Läkarsson")
    query = """query($h: String, $ph: String) {
      careProvider(hsaId: $h) { name kind careUnits(first: 2) {
        totalCount nodes { name careProvider { name } } } }
      practitioner(hsaId: $ph) { familyName profession }
    }"""
    data = await data_of(conn, query, {"h": provider.hsa_id, "ph": practitioner.hsa_id})
    units = data["careProvider"]["careUnits"]
    assert data["careProvider"]["kind"] == "REGION"
    assert [u["name"] for u in units["nodes"]] == ["Akuten A", "Vårdcentral B"]
    assert units["totalCount"] == 3
    assert units["nodes"][0]["careProvider"]["name"] == "Region Norr"
    assert data["practitioner"] == {"familyName": "Läkarsson", "profession": "läkare"}
    missing = await data_of(conn, '{ careUnit(hsaId: "SE0000000000-X") { id } }')
    assert missing["careUnit"] is None


def _ids(value: Any) -> list[tuple[str, str]]:
    """Every (__typename, id) pair in a response."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        if "__typename" in value and "id" in value:
            found.append((value["__typename"], value["id"]))
        for child in value.values():
            found += _ids(child)
    elif isinstance(value, list):
        for child in value:
            found += _ids(child)
    return found


async def test_node_fetches_every_kind_of_object_again(conn: AsyncConnection) -> None:
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    pharmacy = await f.create_unit(conn, provider, kind="pharmacy")
    patient = await f.create_patient(conn)
    parent = await f.create_patient(conn)
    made = await f.create_nested_record(conn, patient, unit, pharmacy, contacts=1)
    await f.create_care_document(conn, patient, unit)
    await f.create_functional_status(conn, patient, unit)
    await f.create_lab_result(conn, patient, unit)
    await f.create_referral_outcome(conn, patient, unit)
    await f.create_vaccination(conn, patient, unit)
    await f.create_dental_treatment(conn, patient, unit)
    await f.create_tooth_finding(conn, patient, unit)
    decision = await f.create_municipal_decision(conn, patient, unit)
    plan = await f.create_implementation_plan(conn, decision, unit)
    await f.create_plan_activity(conn, plan)
    study = await f.create_research_study(conn)
    block = await f.create_block(conn, patient, "outer", provider)
    await f.create_consent(conn, patient, "research", research_study_id=study.id)
    await f.create_representative(conn, patient, parent)
    assert made["Alert"]
    query = """query($p: String) { patient(personnummer: $p) { __typename id
      timeline(first: 100) { nodes { __typename id
        careUnit { __typename id careProvider { __typename id } } } }
      implementationPlans { nodes { activities { nodes { __typename id } } } }
      consents { nodes { __typename id researchStudy { __typename id } } }
      blocks { nodes { __typename id } }
      representatives { nodes { __typename id representative { __typename id } } } } }"""
    data = await data_of(conn, query, {"p": patient.identifier})
    pairs = set(_ids(data))
    assert {t for t, _ in pairs} == {
        "Patient", "CareContact", "Diagnosis", "Prescription", "Dispensation", "Alert",
        "CareDocument", "FunctionalStatus", "LabResult", "ReferralOutcome", "Vaccination",
        "DentalTreatment", "ToothFinding", "MunicipalDecision", "ImplementationPlan",
        "PlanActivity", "ResearchStudy", "Block", "Consent", "Representative",
        "CareUnit", "CareProvider",
    }  # fmt: skip
    assert str(block.id) not in {i for _, i in pairs}  # ids are opaque, not raw keys
    node = "query($id: ID!) { node(id: $id) { __typename id } }"
    for type_name, global_id in pairs:
        again = (await data_of(conn, node, {"id": global_id}))["node"]
        assert again == {"__typename": type_name, "id": global_id}
