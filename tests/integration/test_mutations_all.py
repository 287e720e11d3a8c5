"""What holds for every mutation: success writes one row, returns it and audits it; invalid
input names the field and writes nothing; a retry with the idempotency key writes nothing more;
anonymous callers are refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.factories import create_municipality, create_prescription, create_unit, personnummer
from tests.integration.mutation_support import (
    World,
    call,
    count,
    errors_of,
    make_world,
    patient_gid,
    row_gid,
    system_token,
    written,
)

Input = dict[str, Any]
NOW = "2024-05-02T10:15:00+02:00"


async def _nothing(conn: AsyncConnection, world: World) -> Input:
    return {}


async def _pharmacy_and_prescription(conn: AsyncConnection, world: World) -> Input:
    pharmacy = await create_unit(conn, world.provider, kind="pharmacy", name="Apoteket Test")
    prescription = await create_prescription(conn, world.patient, world.unit)
    return {
        "careUnitHsaId": pharmacy.hsa_id,
        "prescriptionId": row_gid("Prescription", prescription),
    }


async def _home_care_and_prescription(conn: AsyncConnection, world: World) -> Input:
    home_care = await create_unit(conn, world.provider, kind="home_care", name="Hemtjänst Test")
    prescription = await create_prescription(conn, world.patient, world.unit)
    return {
        "careUnitHsaId": home_care.hsa_id,
        "prescriptionId": row_gid("Prescription", prescription),
    }


async def _municipality(conn: AsyncConnection, world: World) -> Input:
    await create_municipality(conn, "0180")
    return {}


@dataclass
class Case:
    mutation: str
    table: str
    result: str
    type_name: str
    content: Input
    invalid: Input
    problems: list[tuple[str, str]]
    setup: Callable[[AsyncConnection, World], Awaitable[Input]] = _nothing
    clinical: bool = True
    extra: Input = field(default_factory=dict)

    @property
    def input_type(self) -> str:
        return self.mutation[0].upper() + self.mutation[1:] + "Input"

    def query(self) -> str:
        return (
            f"mutation M($input: {self.input_type}!) {{ {self.mutation}(input: $input) {{"
            f" {self.result} {{ id }} userErrors {{ field code message }} replayed }} }}"
        )


CASES = [
    Case(
        "registerPatient",
        "patient",
        "patient",
        "Patient",
        {"givenName": "Ny", "familyName": "Patient", "sex": "MALE"},
        {"personnummer": "19121212-1213"},
        [("input.personnummer", "INVALID_IDENTIFIER")],
        clinical=False,
    ),
    Case(
        "recordCareContact",
        "care_contact",
        "careContact",
        "CareContact",
        {"contactType": "BESOK", "status": "AVSLUTAD", "periodStart": NOW},
        {"periodEnd": "2024-05-01T10:00:00+02:00"},
        [("input.periodEnd", "INVALID_DATE_ORDER")],
    ),
    Case(
        "addDiagnosis",
        "diagnosis",
        "diagnosis",
        "Diagnosis",
        {"code": "i219", "display": "Akut hjärtinfarkt", "diagnosisType": "HUVUDDIAGNOS"},
        {"code": "21.9"},
        [("input.code", "INVALID_CODE")],
    ),
    Case(
        "writeCareDocument",
        "care_document",
        "careDocument",
        "CareDocument",
        {"documentType": "besöksanteckning", "title": "Besök", "text": "Status ua."},
        {"title": "x" * 201},
        [("input.title", "INVALID_VALUE")],
    ),
    Case(
        "addAlert",
        "alert",
        "alert",
        "Alert",
        {
            "alertType": "HYPERSENSITIVITY",
            "description": "Penicillinallergi",
            "agentAtcCode": "J01CE02",
            "severity": "SEVERE",
        },
        {"agentAtcCode": "J01C"},
        [("input.agentAtcCode", "INVALID_CODE")],
    ),
    Case(
        "recordLabResult",
        "lab_result",
        "labResult",
        "LabResult",
        {
            "orderId": "LAB-1",
            "codeSystem": "NPU",
            "code": "NPU02319",
            "name": "B-Hemoglobin",
            "valueNumeric": "142",
            "unit": "g/L",
            "referenceLow": "117",
            "referenceHigh": "153",
            "sampledAt": NOW,
        },
        {"code": "NPU2319"},
        [("input.code", "INVALID_CODE")],
    ),
    Case(
        "recordVaccination",
        "vaccination",
        "vaccination",
        "Vaccination",
        {"vaccineName": "Gardasil 9", "atcCode": "J07BM03", "targetDisease": "HPV"},
        {"vaccineNplId": "123"},
        [("input.vaccineNplId", "INVALID_IDENTIFIER")],
    ),
    Case(
        "recordVitalSigns",
        "vital_signs",
        "vitalSigns",
        "VitalSigns",
        {
            "respirationRate": 18,
            "spo2": 96,
            "supplementalOxygen": False,
            "systolicBp": 130,
            "pulse": 80,
            "consciousness": "ALERT",
            "temperature": "37.2",
        },
        {"pulse": 720},
        [("input.pulse", "INVALID_VALUE")],
    ),
    Case(
        "prescribe",
        "prescription",
        "prescription",
        "Prescription",
        {
            "drugNplId": "20090915100017",
            "atcCode": "B01AF02",
            "drugName": "Eliquis",
            "dosageText": "1 tablett 2 gånger dagligen",
            "amount": "1",
            "accountableHsaId": "SE2321000016-DOC1",
        },
        {"validUntil": "2000-01-01"},
        [("input.validUntil", "INVALID_DATE_ORDER")],
    ),
    Case(
        "dispense",
        "dispensation",
        "dispensation",
        "Dispensation",
        {"amount": "1", "articleName": "Kåvepenin 800 mg 20 st"},
        {"amount": "0"},
        [("input.amount", "INVALID_VALUE")],
        setup=_pharmacy_and_prescription,
    ),
    Case(
        "recordMedicationAdministration",
        "medication_administration",
        "medicationAdministration",
        "MedicationAdministration",
        {"outcome": "GIVEN", "doseText": "1 tablett"},
        {"outcome": "NOT_GIVEN"},
        [("input.notGivenReason", "INVALID_VALUE")],
        setup=_home_care_and_prescription,
    ),
    Case(
        "recordDentalTreatment",
        "dental_treatment",
        "dentalTreatment",
        "DentalTreatment",
        {
            "conditionCode": "3043",
            "procedureCode": "101",
            "procedureText": "Basundersökning",
            "priceSek": "975",
        },
        {"tooth": "19"},
        [("input.tooth", "INVALID_CODE")],
    ),
    Case(
        "recordToothFinding",
        "tooth_finding",
        "toothFinding",
        "ToothFinding",
        {"tooth": "36", "surface": "O", "findingCode": "karies", "findingText": "Primärkaries"},
        {"surface": "OO"},
        [("input.surface", "INVALID_CODE")],
    ),
    Case(
        "recordMunicipalDecision",
        "municipal_decision",
        "municipalDecision",
        "MunicipalDecision",
        {
            "legalBasisCode": "SOL2025-BISTAND",
            "insatsCode": "SOL-HEMTJANST",
            "municipalityCode": "0180",
            "appliedOn": "2025-08-01",
            "decidedOn": "2025-08-20",
            "outcome": "BEVILJAD",
            "caseOfficerName": "Handläggare Test",
        },
        {"decidedOn": "2025-07-20"},
        [("input.decidedOn", "INVALID_DATE_ORDER")],
        setup=_municipality,
    ),
]


async def prepare(conn: AsyncConnection, case: Case) -> tuple[World, Input]:
    world = await make_world(conn)
    extra = await case.setup(conn, world)
    if case.clinical:
        base = {"patientId": patient_gid(world.patient), "careUnitHsaId": world.unit.hsa_id}
    else:
        base = {"personnummer": personnummer(date(1975, 3, 3))}
    return world, base | case.content | extra


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mutation)
async def test_success_writes_returns_and_audits(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, case: Case
) -> None:
    world, data = await prepare(conn, case)
    before = await count(conn, case.table)
    body = await call(client, case.query(), {"input": data}, token=system_token(settings))
    assert "errors" not in body, body
    payload = body["data"][case.mutation]
    assert payload["userErrors"] == []
    assert payload[case.result]["id"]
    assert await count(conn, case.table) == before + 1
    if case.clinical:
        entries = await written(conn, world.patient.id)
        assert len(entries) == 1 and entries[0].startswith(f"{case.type_name}:")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mutation)
async def test_invalid_input_is_a_user_error_and_writes_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, case: Case
) -> None:
    world, data = await prepare(conn, case)
    before = await count(conn, case.table)
    body = await call(
        client, case.query(), {"input": data | case.invalid}, token=system_token(settings)
    )
    payload = body["data"][case.mutation]
    assert payload[case.result] is None
    assert errors_of(payload) == case.problems
    assert all(e["message"] for e in payload["userErrors"])
    assert await count(conn, case.table) == before
    assert await written(conn, world.patient.id) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mutation)
async def test_idempotent_retry_writes_once(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, case: Case
) -> None:
    _, data = await prepare(conn, case)
    data = data | {"idempotencyKey": f"retry-{case.mutation}"}
    token = system_token(settings)
    before = await count(conn, case.table)
    first = (await call(client, case.query(), {"input": data}, token=token))["data"][case.mutation]
    second = (await call(client, case.query(), {"input": data}, token=token))["data"][case.mutation]
    assert first["userErrors"] == [] and second["userErrors"] == []
    assert second[case.result] == first[case.result]
    assert second["replayed"] is True
    assert await count(conn, case.table) == before + 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.mutation)
async def test_anonymous_is_unauthenticated(
    client: httpx.AsyncClient, conn: AsyncConnection, case: Case
) -> None:
    _, data = await prepare(conn, case)
    before = await count(conn, case.table)
    body = await call(client, case.query(), {"input": data})
    assert body["data"][case.mutation] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await count(conn, case.table) == before


async def test_a_key_used_for_another_operation_is_a_conflict(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    token = system_token(settings)
    contact, diagnosis = CASES[1], CASES[2]
    _, contact_input = await prepare(conn, contact)
    _, diagnosis_input = await prepare(conn, diagnosis)
    key = {"idempotencyKey": "shared-key"}
    await call(client, contact.query(), {"input": contact_input | key}, token=token)
    before = await count(conn, "diagnosis")
    body = await call(client, diagnosis.query(), {"input": diagnosis_input | key}, token=token)
    payload = body["data"]["addDiagnosis"]
    assert errors_of(payload) == [("input.idempotencyKey", "CONFLICT")]
    assert "recordCareContact" in payload["userErrors"][0]["message"]
    assert await count(conn, "diagnosis") == before


def test_every_mutation_has_a_case() -> None:
    """Every field declared on our Mutation class (not the ones mixed in) has a case."""
    from strawberry.utils.str_converters import to_camel_case

    from schema import schema
    from schema.mutation import Mutation

    inherited = {name for base in Mutation.__mro__[1:] for name in vars(base)}
    own = {
        to_camel_case(name)
        for name in vars(Mutation)
        if not name.startswith("__") and name not in inherited
    }
    covered = {c.mutation for c in CASES} | {"discontinuePrescription", "nullify"}
    assert own == covered
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None and covered <= set(mutation_type.fields)
