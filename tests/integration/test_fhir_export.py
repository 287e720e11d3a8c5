"""Exporting FHIR: Patient/$everything over HTTP under the access policy and audit, and the
bulk NDJSON export, pseudonymised for research clients (A15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.fhir.jobs import export_bulk
from app.settings import Settings
from app.tokens import mint
from tests.fixtures.fhir.rows import OTHER_PATIENT, PATIENT, STUDY, T0, coherent_record

TABLES = SQLModel.metadata.tables
EVERYTHING = f"/fhir/Patient/{PATIENT}/$everything"


async def insert_record(conn: AsyncConnection, record: dict[str, list[dict[str, Any]]]) -> None:
    for table, rows in record.items():
        await conn.execute(insert(TABLES[table]).values(rows))


def all_ndjson(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.glob("*.ndjson")))


async def audit_of(conn: AsyncConnection, patient: Any) -> list[tuple[str, str, list[str]]]:
    result = await conn.execute(
        text(
            "SELECT principal_kind, action, resources FROM audit_entry"
            " WHERE patient_id = :p ORDER BY id"
        ),
        {"p": patient},
    )
    return [(r[0], r[1], r[2]) for r in result]


async def test_everything_for_a_system_principal(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.get(EVERYTHING, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Patient"
    assert types.count("MedicationRequest") == 2 and "CarePlan" in types
    assert bundle["entry"][0]["fullUrl"] == f"http://test/fhir/Patient/{PATIENT}"
    # The other patient is only referenced (a representative), never included.
    ids = {e["resource"]["id"] for e in bundle["entry"]}
    assert str(OTHER_PATIENT) not in ids
    # A16: the protected patient's address does not leave, even for a system integration.
    assert "address" not in bundle["entry"][0]["resource"]
    # ... but a care unit's municipality is no patient's address: it is kept.
    units = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Organization"
        and e["resource"]["id"] == str(record["care_unit"][0]["id"])
    ]
    assert {
        "url": "https://vardkedja.se/fhir/StructureDefinition/municipality",
        "valueReference": {"reference": "Organization/kommun-0180"},
    } in units[0]["extension"]
    logged = await audit_of(conn, PATIENT)
    assert [(kind, action) for kind, action, _ in logged] == [("system", "read")]
    assert f"Patient:{PATIENT}" in logged[0][2]
    assert any(r.startswith("Prescription:") for r in logged[0][2])


async def test_everything_for_anonymous_is_refused_unlooked(
    client: httpx.AsyncClient, conn: AsyncConnection
) -> None:
    """No token: 401 before any lookup, the same for any id, and no audit row."""
    await insert_record(conn, coherent_record())
    response = await client.get(EVERYTHING)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/fhir+json"
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["details"]["coding"][0]["code"] == "UNAUTHENTICATED"
    assert "Tolvan" not in response.text
    other = await client.get(f"/fhir/Patient/{OTHER_PATIENT}/$everything")
    assert (other.status_code, other.json()) == (401, body)
    assert await audit_of(conn, PATIENT) == []


async def test_everything_for_an_unknown_patient_looks_the_same(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = mint(settings, kind="system", subject="test-fhir")
    headers = {"authorization": f"Bearer {token}"}
    missing = await client.get(f"/fhir/Patient/{OTHER_PATIENT}/$everything", headers=headers)
    malformed = await client.get("/fhir/Patient/nope/$everything", headers=headers)
    assert missing.status_code == malformed.status_code == 404
    assert missing.json() == malformed.json()


async def test_bad_token_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.get(EVERYTHING, headers={"authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert response.json()["issue"][0]["code"] == "login"


async def test_research_export_only_opted_in_and_pseudonymised(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    consent = record["consent"][0] | {
        "id": STUDY,
        "kind": "research",
        "block_id": None,
        "valid_from": T0,
        "valid_to": None,
        "revoked_at": None,
    }
    await conn.execute(insert(TABLES["consent"]).values(consent))
    keyed = settings.model_copy(update={"pseudonym_key": "test-pseudonym-key"})
    counts = await export_bulk(conn, keyed, tmp_path, research_client="research-ki", study=STUDY)
    assert counts["Patient"] == 1  # the other patient gave no research consent
    text_out = all_ndjson(tmp_path)
    for identifying in (b"191212121212", b"Tolvan", b"Storgatan", str(PATIENT).encode()):
        assert identifying not in text_out
    patient = orjson.loads((tmp_path / "Patient.ndjson").read_bytes())
    assert patient["id"].startswith("psn-") and "name" not in patient
    assert patient["identifier"][0]["value"].startswith("psn_")
    conditions = [
        orjson.loads(line) for line in (tmp_path / "Condition.ndjson").read_bytes().splitlines()
    ]
    assert conditions[0]["subject"]["reference"] == f"Patient/{patient['id']}"
    assert "identifier" not in conditions[0]
    assert not (tmp_path / "RelatedPerson.ndjson").exists()
    logged = await audit_of(conn, PATIENT)
    assert [(kind, action) for kind, action, _ in logged] == [("research", "read")]
    assert await audit_of(conn, OTHER_PATIENT) == []


async def test_graphql_care_unit_municipality_answers(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    record = coherent_record()
    await insert_record(conn, record)
    unit = record["care_unit"][0]
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.post(
        "/graphql",
        json={
            "query": "query($h: String) { careUnit(hsaId: $h) { municipality { code name } } }",
            "variables": {"h": unit["hsa_id"]},
        },
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["careUnit"]["municipality"] == {
        "code": "0180",
        "name": "Stockholm",
    }
