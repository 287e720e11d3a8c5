"""recordCareContact, addDiagnosis, writeCareDocument: the header, references and dates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from schema.ids import encode_id
from tests.factories import create_care_contact, create_patient, create_provider, create_unit
from tests.integration.mutation_support import (
    call,
    count,
    errors_of,
    make_world,
    patient_gid,
    row_gid,
    system_token,
    written,
)

CONTACT = """
mutation C($input: RecordCareContactInput!) {
  recordCareContact(input: $input) {
    careContact {
      id status contactType periodEnd eventTime documentId sourceSystemHsaId version
      accountable { hsaId name roleCode }
      careUnit { hsaId }
      careProvider { hsaId }
      careContact { id }
    }
    userErrors { field code message }
  }
}
"""
DIAGNOSIS = """
mutation D($input: AddDiagnosisInput!) {
  addDiagnosis(input: $input) {
    diagnosis { id code display diagnosisType careContact { id } }
    userErrors { field code message }
  }
}
"""
DOCUMENT = """
mutation W($input: WriteCareDocumentInput!) {
  writeCareDocument(input: $input) {
    careDocument { id title signed legalAuthenticator { hsaId name time } }
    userErrors { field code message }
  }
}
"""
START = "2024-05-02T10:15:00+02:00"


def contact_input(patient_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "patientId": patient_id,
        "contactType": "BESOK",
        "status": "AVSLUTAD",
        "periodStart": START,
    } | overrides


async def test_a_clinician_writes_at_their_own_unit_as_the_accountable(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    body = await call(
        client,
        CONTACT,
        {"input": contact_input(patient_gid(world.patient), periodEnd="2024-05-02T10:45:00+02:00")},
        token=world.clinician_token(settings),
    )
    payload = body["data"]["recordCareContact"]
    assert payload["userErrors"] == []
    contact = payload["careContact"]
    assert contact["careUnit"] == {"hsaId": world.unit.hsa_id}
    assert contact["careProvider"] == {"hsaId": world.provider.hsa_id}
    assert contact["accountable"] == {
        "hsaId": world.practitioner.hsa_id,
        "name": "Doktor Testsson",
        "roleCode": "lakare",
    }
    assert contact["eventTime"] == "2024-05-02T08:15:00+00:00"
    assert contact["documentId"].startswith("vk-")
    assert contact["sourceSystemHsaId"] == "SE0000000000-vardkedja"
    assert contact["version"] == 1
    linked = await conn.execute(
        text("SELECT accountable_practitioner_id FROM care_contact WHERE patient_id = :p"),
        {"p": world.patient.id},
    )
    assert linked.scalar_one() == world.practitioner.id


async def test_unit_and_provider_must_exist_and_belong_together(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    other_provider = await create_provider(conn)
    token = system_token(settings)
    pid = patient_gid(world.patient)
    cases = [
        ({}, [("input.careUnitHsaId", "INVALID_VALUE")]),
        ({"careUnitHsaId": "SE2321000016-NOPE"}, [("input.careUnitHsaId", "NOT_FOUND")]),
        ({"careUnitHsaId": "not-an-hsa-id"}, [("input.careUnitHsaId", "INVALID_IDENTIFIER")]),
        (
            {"careUnitHsaId": world.unit.hsa_id, "careProviderHsaId": other_provider.hsa_id},
            [("input.careProviderHsaId", "INVALID_REFERENCE")],
        ),
    ]
    for overrides, expected in cases:
        body = await call(client, CONTACT, {"input": contact_input(pid, **overrides)}, token=token)
        assert errors_of(body["data"]["recordCareContact"]) == expected, overrides
    assert await count(conn, "care_contact") == 0


async def test_care_contact_references(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    stranger = await create_patient(conn)
    theirs = await create_care_contact(conn, stranger, world.unit)
    nullified = await create_care_contact(conn, world.patient, world.unit, nullified=True)
    mine = await create_care_contact(conn, world.patient, world.unit)
    token = system_token(settings)

    async def add(contact_id: str) -> dict[str, Any]:
        data = {
            "patientId": patient_gid(world.patient),
            "careUnitHsaId": world.unit.hsa_id,
            "careContactId": contact_id,
            "code": "J06.9",
            "display": "Övre luftvägsinfektion",
            "diagnosisType": "HUVUDDIAGNOS",
        }
        result: dict[str, Any] = (await call(client, DIAGNOSIS, {"input": data}, token=token))[
            "data"
        ]["addDiagnosis"]
        return result

    assert errors_of(await add(row_gid("CareContact", theirs))) == [
        ("input.careContactId", "INVALID_REFERENCE")
    ]
    assert errors_of(await add(row_gid("Diagnosis", mine))) == [
        ("input.careContactId", "INVALID_REFERENCE")
    ]
    missing = encode_id("CareContact", uuid.uuid4(), world.patient.id)
    assert errors_of(await add(missing)) == [("input.careContactId", "NOT_FOUND")]
    assert errors_of(await add(row_gid("CareContact", nullified))) == [
        ("input.careContactId", "INVALID_STATE")
    ]
    assert await count(conn, "diagnosis") == 0
    ok = await add(row_gid("CareContact", mine))
    assert ok["userErrors"] == []
    assert ok["diagnosis"]["careContact"] == {"id": row_gid("CareContact", mine)}
    assert ok["diagnosis"]["code"] == "J06.9"


async def test_dates_and_status(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    token = system_token(settings)
    pid = patient_gid(world.patient)
    future = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    base = {"careUnitHsaId": world.unit.hsa_id}
    cases = [
        ({"periodStart": future}, [("input.periodStart", "INVALID_DATE_ORDER")]),
        ({"periodStart": "2024-05-02T10:15:00"}, [("input.periodStart", "INVALID_VALUE")]),
        (
            {"periodStart": "1970-01-01T00:00:00+00:00"},
            [("input.periodStart", "INVALID_DATE_ORDER")],
        ),
        (
            {"status": "PAGAENDE", "periodEnd": "2024-05-03T10:15:00+02:00"},
            [("input.periodEnd", "INVALID_VALUE")],
        ),
        (
            {"periodEnd": "2024-05-01T10:15:00+02:00", "reason": "x" * 501},
            [("input.periodEnd", "INVALID_DATE_ORDER"), ("input.reason", "INVALID_VALUE")],
        ),
    ]
    for overrides, expected in cases:
        body = await call(
            client, CONTACT, {"input": contact_input(pid, **base, **overrides)}, token=token
        )
        assert errors_of(body["data"]["recordCareContact"]) == expected, overrides
    assert await count(conn, "care_contact") == 0
    planned = await call(
        client,
        CONTACT,
        {"input": contact_input(pid, **base, status="EJ_PABORJAD", periodStart=future)},
        token=token,
    )
    assert planned["data"]["recordCareContact"]["careContact"]["status"] == "EJ_PABORJAD"


async def test_duplicate_document_id_of_a_source_system(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    token = system_token(settings)
    data = contact_input(
        patient_gid(world.patient),
        careUnitHsaId=world.unit.hsa_id,
        documentId="RIV-4711",
        sourceSystemHsaId="SE2321000016-JOUR",
    )
    first = await call(client, CONTACT, {"input": data}, token=token)
    assert first["data"]["recordCareContact"]["careContact"]["documentId"] == "RIV-4711"
    again = await call(client, CONTACT, {"input": data}, token=token)
    assert errors_of(again["data"]["recordCareContact"]) == [("input.documentId", "DUPLICATE")]
    assert await count(conn, "care_contact") == 1
    other_source = await call(
        client, CONTACT, {"input": data | {"sourceSystemHsaId": "SE2321000016-JOU2"}}, token=token
    )
    assert other_source["data"]["recordCareContact"]["userErrors"] == []


async def test_writing_a_signed_note(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    data = {
        "patientId": patient_gid(world.patient),
        "documentType": "besöksanteckning",
        "title": "Besök",
        "text": "Patienten mår bra.",
        "sign": True,
    }
    signed = await call(client, DOCUMENT, {"input": data}, token=world.clinician_token(settings))
    document = signed["data"]["writeCareDocument"]["careDocument"]
    assert document["signed"] is True
    assert document["legalAuthenticator"]["hsaId"] == world.practitioner.hsa_id
    by_system = await call(
        client,
        DOCUMENT,
        {"input": data | {"careUnitHsaId": world.unit.hsa_id}},
        token=system_token(settings),
    )
    assert errors_of(by_system["data"]["writeCareDocument"]) == [("input.sign", "INVALID_VALUE")]
    assert await count(conn, "care_document") == 1
    assert len(await written(conn, world.patient.id)) == 1


async def test_unknown_patient_and_malformed_ids(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    token = system_token(settings)
    unit = {"careUnitHsaId": world.unit.hsa_id}
    contact = await create_care_contact(conn, world.patient, world.unit)
    for patient_id, code in [
        ("not a global id", "INVALID_IDENTIFIER"),
        (row_gid("CareContact", contact), "INVALID_REFERENCE"),
        (encode_id("Patient", uuid.uuid4()), "NOT_FOUND"),
    ]:
        body = await call(
            client, CONTACT, {"input": contact_input(patient_id, **unit)}, token=token
        )
        assert errors_of(body["data"]["recordCareContact"]) == [("input.patientId", code)]
    assert await count(conn, "care_contact") == 1


async def test_a_pharmacy_unit_from_another_region_is_fine_for_notes(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    other = await create_unit(conn, await create_provider(conn), kind="hospital")
    body = await call(
        client,
        CONTACT,
        {"input": contact_input(patient_gid(world.patient), careUnitHsaId=other.hsa_id)},
        token=system_token(settings),
    )
    assert body["data"]["recordCareContact"]["careContact"]["careUnit"] == {"hsaId": other.hsa_id}
