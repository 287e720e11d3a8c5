"""The FHIR REST API beside GraphQL: CapabilityStatement, read by id (ours or the id GraphQL
shows), Patient search by identifier, JSON only (406 otherwise), OperationOutcome errors; under
the same access policy and audit trail."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.fhir.r4 import validate
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests.fixtures.fhir.rows import PATIENT, coherent_record
from tests.integration.test_fhir_export import audit_of, insert_record

PNR = "191212121212"


def system_headers(settings: Settings) -> dict[str, str]:
    return {"authorization": f"Bearer {mint(settings, kind='system', subject='test-fhir')}"}


def stranger_headers(settings: Settings) -> dict[str, str]:
    """A clinician with no assignment or care relationship anywhere near the patient."""
    token = mint(
        settings,
        kind="clinician",
        subject="SE2321000016-STR1",
        care_unit="SE2321000016-STRU",
        care_provider="SE2321000016-STRP",
    )
    return {"authorization": f"Bearer {token}"}


async def test_metadata_is_a_capability_statement(client: httpx.AsyncClient) -> None:
    response = await client.get("/fhir/metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    statement = response.json()
    validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {"Patient", "Observation", "MedicationRequest", "Organization"} <= set(resources)
    assert [p["name"] for p in resources["Patient"]["searchParam"]] == ["identifier"]
    assert resources["Patient"]["operation"][0]["name"] == "everything"


async def test_xml_is_refused_with_406(client: httpx.AsyncClient, settings: Settings) -> None:
    for request in (
        client.get("/fhir/metadata", headers={"accept": "application/fhir+xml"}),
        client.get("/fhir/metadata?_format=xml"),
        client.get(f"/fhir/Patient/{PATIENT}", headers={"accept": "application/xml"}),
    ):
        response = await request
        assert response.status_code == 406
        assert response.json()["resourceType"] == "OperationOutcome"
    ok = await client.get("/fhir/metadata", headers={"accept": "application/fhir+json"})
    assert ok.status_code == 200


async def test_read_a_patient_by_uuid_or_graphql_id(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    headers = system_headers(settings)
    by_uuid = await client.get(f"/fhir/Patient/{PATIENT}", headers=headers)
    assert by_uuid.status_code == 200, by_uuid.text
    patient = by_uuid.json()
    assert patient["resourceType"] == "Patient" and patient["id"] == str(PATIENT)
    assert "address" not in patient  # A16: this patient has protected identity
    by_graphql_id = await client.get(
        f"/fhir/Patient/{encode_id('Patient', PATIENT)}", headers=headers
    )
    assert by_graphql_id.status_code == 200
    assert by_graphql_id.json() == patient
    logged = await audit_of(conn, PATIENT)
    assert [(kind, action) for kind, action, _ in logged] == [("system", "read")] * 2


async def test_read_a_record_entry(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    lab = record["lab_result"][0]
    headers = system_headers(settings)
    response = await client.get(f"/fhir/Observation/{lab['id']}", headers=headers)
    assert response.status_code == 200, response.text
    observation = response.json()
    assert observation["id"] == str(lab["id"])
    assert observation["subject"]["reference"] == f"Patient/{PATIENT}"
    graphql_id = encode_id("LabResult", lab["id"], PATIENT)
    again = await client.get(f"/fhir/Observation/{graphql_id}", headers=headers)
    assert again.json() == observation
    # The same row is no other type's.
    wrong = await client.get(f"/fhir/Encounter/{lab['id']}", headers=headers)
    assert wrong.status_code == 404
    logged = await audit_of(conn, PATIENT)
    assert any(f"LabResult:{lab['id']}" in resources for _, _, resources in logged)


async def test_reads_are_under_the_policy(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    for path in (f"/fhir/Patient/{PATIENT}", f"/fhir/Observation/{record['lab_result'][0]['id']}"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 401  # nothing looked up without a principal
        response = await client.get(path, headers=stranger_headers(settings))
        assert response.status_code == 404
        assert response.json()["resourceType"] == "OperationOutcome"
        assert "Tolvan" not in response.text
    actions = [action for _, action, _ in await audit_of(conn, PATIENT)]
    assert actions and set(actions) == {"deny"}


async def search(client: httpx.AsyncClient, settings: Settings, identifier: str) -> Any:
    response = await client.get(
        "/fhir/Patient", params={"identifier": identifier}, headers=system_headers(settings)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_patient_by_identifier(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    for identifier in (
        f"urn:oid:1.2.752.129.2.1.3.1|{PNR}",
        f"http://electronichealth.se/identifier/personnummer|{PNR}",
        "19121212-1212",  # a bare value is a personnummer
    ):
        bundle = await search(client, settings, identifier)
        assert bundle["type"] == "searchset" and bundle["total"] == 1, identifier
        assert bundle["entry"][0]["resource"]["id"] == str(PATIENT)
    nobody = await search(client, settings, "urn:oid:1.2.752.129.2.1.3.3|197010632391")
    assert nobody["total"] == 0
    other_system = await search(client, settings, f"urn:oid:1.2.3|{PNR}")
    assert other_system["total"] == 0  # another system's identifier is not a personnummer
    searches = await conn.execute(text("SELECT count(*) FROM audit_entry WHERE action = 'search'"))
    assert searches.scalar_one() >= 5


async def test_search_by_an_external_identifier(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    from app.fhir.importer import bundle_entries, import_entries
    from tests.integration.test_fhir_identity import bundle, example

    assert (await import_entries(conn, [bundle_entries(bundle(example("patient-xcda.json")))])).ok
    found = await search(client, settings, "urn:oid:2.16.840.1.113883.19.5|12345")
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["name"][0]["family"] == "Levin"
    assert (await search(client, settings, "urn:oid:1.2.36.146.595.217.0.1|12345"))["total"] == 0


async def test_bad_requests_are_operation_outcomes(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = system_headers(settings)
    for path, status in (
        ("/fhir/Goal/1", 404),
        ("/fhir/Patient?name=Tolvan", 400),
        ("/fhir/Patient?identifier=urn:oid:1.2.752.129.2.1.3.1|121212-1213", 400),
        ("/fhir/Observation?patient=x", 400),
        ("/fhir/Observation?code=x", 400),
        (f"/fhir/Observation?patient={PATIENT}&date=yesterday", 400),
        (f"/fhir/Organization?patient={PATIENT}", 400),
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == status, path
        assert response.json()["resourceType"] == "OperationOutcome"


async def records(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any
) -> Any:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_a_patients_entries(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    headers = system_headers(settings)
    observations = await records(client, headers, "/fhir/Observation", patient=str(PATIENT))
    expected = len(record["lab_result"]) + len(record.get("functional_status", []))
    expected += len(record.get("tooth_finding", []))
    expected += len(record.get("vital_signs", []))
    assert observations["total"] == expected > 0
    assert all(e["resource"]["resourceType"] == "Observation" for e in observations["entry"])
    by_graphql_id = await records(
        client, headers, "/fhir/Observation", patient=f"Patient/{encode_id('Patient', PATIENT)}"
    )
    assert by_graphql_id["total"] == expected
    none_later = await records(
        client, headers, "/fhir/Observation", patient=str(PATIENT), date="ge2100-01-01"
    )
    assert none_later["total"] == 0
    earlier = await records(
        client, headers, "/fhir/Observation", patient=str(PATIENT), date="le2100-01-01"
    )
    assert earlier["total"] == expected
    counted = await records(client, headers, "/fhir/Observation", patient=str(PATIENT), _count="0")
    assert (counted["total"], counted.get("entry")) == (expected, [])
    requests = await records(client, headers, "/fhir/MedicationRequest", patient=str(PATIENT))
    statuses = {e["resource"]["status"] for e in requests["entry"]}
    assert requests["total"] == len(record["prescription"])
    for status in statuses:
        only = await records(
            client, headers, "/fhir/MedicationRequest", patient=str(PATIENT), status=status
        )
        assert {e["resource"]["status"] for e in only["entry"]} == {status}
    since = await records(
        client, headers, "/fhir/MedicationRequest", patient=str(PATIENT), _since="2100-01-01"
    )
    assert since["total"] == 0


async def test_searching_entries_of_a_hidden_patient_finds_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    response = await client.get(
        "/fhir/Observation", params={"patient": str(PATIENT)}, headers=stranger_headers(settings)
    )
    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert {action for _, action, _ in await audit_of(conn, PATIENT)} == {"deny"}


async def test_search_pages_follow_next_links_and_audit_only_their_page(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """A page never ends silently: `next` while entries remain; each page's audit entry names
    only the entries it returned."""
    await insert_record(conn, coherent_record())
    headers = system_headers(settings)
    whole = await records(client, headers, "/fhir/Observation", patient=str(PATIENT))
    expected = [e["resource"]["id"] for e in whole["entry"]]
    assert len(expected) >= 2 and whole["total"] == len(expected)
    assert [link["relation"] for link in whole["link"]] == ["self"]
    before = len(await audit_of(conn, PATIENT))
    first = await records(client, headers, "/fhir/Observation", patient=str(PATIENT), _count=1)
    [(_, _, resources)] = (await audit_of(conn, PATIENT))[before:]
    assert len(resources) == 1 and expected[0] in resources[0]
    seen, page = [], first
    while True:
        assert page["total"] == len(expected)
        seen += [e["resource"]["id"] for e in page["entry"]]
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            break
        response = await client.get(following[0], headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
    assert seen == expected
    refused = await client.get(
        "/fhir/Observation", params={"patient": str(PATIENT), "_offset": "-1"}, headers=headers
    )
    assert refused.status_code == 400
