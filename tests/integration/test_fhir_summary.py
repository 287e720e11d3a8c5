"""Patient/$summary: an International Patient Summary document built from the same
policy-filtered record as $everything, audited the same way."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.fhir.r4 import loads, validate
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests.fixtures.fhir.rows import PATIENT, coherent_record
from tests.integration.test_fhir_export import audit_of, insert_record
from tests.integration.test_fhir_rest import stranger_headers

SECTIONS = ["48765-2", "10160-0", "11450-4", "11369-6", "30954-2"]


async def test_summary_is_an_ips_document(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.get(
        f"/fhir/Patient/{encode_id('Patient', PATIENT)}/$summary",
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    bundle = loads(response.content)
    validate(bundle)  # the whole document, entries included
    assert bundle["type"] == "document" and bundle["identifier"]["value"].startswith("urn:uuid:")
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    assert [s["code"]["coding"][0]["code"] for s in composition["section"]] == SECTIONS
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert urls[composition["subject"]["reference"]]["id"] == str(PATIENT)
    by_code = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    for code, resource_type in (
        ("48765-2", "AllergyIntolerance"),
        ("10160-0", "MedicationRequest"),
        ("11450-4", "Condition"),
        ("11369-6", "Immunization"),
        ("30954-2", "Observation"),
    ):
        section = by_code[code]
        members = [urls[e["reference"]] for e in section.get("entry", [])]
        assert all(m["resourceType"] == resource_type for m in members)
        assert members or section["emptyReason"]
    assert by_code["10160-0"]["entry"]
    labs = [urls[e["reference"]] for e in by_code["30954-2"].get("entry", [])]
    assert len(labs) == len(record["lab_result"])
    logged = await audit_of(conn, PATIENT)
    assert [(kind, action) for kind, action, _ in logged] == [("system", "read")]


async def test_summary_of_a_hidden_patient_is_not_found(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    await insert_record(conn, coherent_record())
    response = await client.get(
        f"/fhir/Patient/{PATIENT}/$summary", headers=stranger_headers(settings)
    )
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "Tolvan" not in response.text
    assert [action for _, action, _ in await audit_of(conn, PATIENT)] == ["deny"]
