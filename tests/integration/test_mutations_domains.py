"""Domain rules of addAlert, recordLabResult, recordVaccination, the dental mutations and
recordMunicipalDecision."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.factories import create_municipality
from tests.integration.mutation_support import (
    World,
    call,
    count,
    errors_of,
    make_world,
    patient_gid,
    system_token,
)

Problems = list[tuple[str | None, str]]


def mutation(name: str, result: str) -> str:
    input_type = name[0].upper() + name[1:] + "Input"
    return (
        f"mutation M($input: {input_type}!) {{ {name}(input: $input) {{"
        f" {result} {{ id }} userErrors {{ field code message }} }} }}"
    )


async def attempt(
    client: httpx.AsyncClient,
    settings: Settings,
    world: World,
    name: str,
    result: str,
    data: dict[str, Any],
) -> Problems:
    base = {"patientId": patient_gid(world.patient), "careUnitHsaId": world.unit.hsa_id}
    body = await call(
        client, mutation(name, result), {"input": base | data}, token=system_token(settings)
    )
    assert "errors" not in body, body
    return errors_of(body["data"][name])


ALERT = {"alertType": "HYPERSENSITIVITY", "description": "Allergi"}


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (ALERT, [("input.agentText", "INVALID_VALUE"), ("input.severity", "INVALID_VALUE")]),
        (ALERT | {"agentText": "jordnötter", "severity": "LIFE_THREATENING"}, []),
        (
            {"alertType": "SERIOUS_DISEASE", "description": "Diabetes", "severity": "MILD"},
            [("input.severity", "INVALID_VALUE")],
        ),
        (
            {"alertType": "TREATMENT", "description": "Pacemaker"},
            [("input.treatmentCode", "INVALID_VALUE")],
        ),
        ({"alertType": "TREATMENT", "description": "Dialys", "treatmentCode": "DR016"}, []),
        (
            {
                "alertType": "UNSTRUCTURED",
                "description": "x",
                "validFrom": "2024-02-01",
                "validTo": "2024-01-01",
            },
            [("input.validTo", "INVALID_DATE_ORDER")],
        ),
        (
            {"alertType": "COMMUNICABLE_DISEASE", "description": "x", "conditionCode": "A1"},
            [("input.conditionCode", "INVALID_CODE")],
        ),
    ],
)
async def test_alert_rules(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    data: dict[str, Any],
    problems: Problems,
) -> None:
    world = await make_world(conn)
    assert await attempt(client, settings, world, "addAlert", "alert", data) == problems
    assert await count(conn, "alert") == (0 if problems else 1)


LAB = {"orderId": "L-1", "codeSystem": "LOINC", "code": "718-7", "name": "Hemoglobin"}


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (LAB, [("input.valueNumeric", "INVALID_VALUE")]),
        (LAB | {"valueText": "Negativ"}, []),
        (LAB | {"codeSystem": "SNOMED", "valueText": "x"}, [("input.code", "INVALID_CODE")]),
        (
            LAB | {"valueNumeric": "1", "referenceLow": "5", "referenceHigh": "4"},
            [("input.referenceHigh", "INVALID_VALUE")],
        ),
        (LAB | {"valueNumeric": "1e15"}, [("input.valueNumeric", "INVALID_VALUE")]),
        (LAB | {"valueNumeric": "NaN"}, [("input.valueNumeric", "INVALID_VALUE")]),
    ],
)
async def test_lab_rules(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    data: dict[str, Any],
    problems: Problems,
) -> None:
    world = await make_world(conn)
    assert await attempt(client, settings, world, "recordLabResult", "labResult", data) == problems


async def test_vaccination_dose_number(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    data = {"vaccineName": "Rotarix", "targetDisease": "Rotavirus", "doseNumber": 0}
    problems = await attempt(client, settings, world, "recordVaccination", "vaccination", data)
    assert problems == [("input.doseNumber", "INVALID_VALUE")]


TREATMENT = {"conditionCode": "3043", "procedureCode": "401", "procedureText": "Extraktion"}


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (TREATMENT | {"priceSek": "1200", "tooth": "48"}, []),
        (TREATMENT | {"priceSek": "-1"}, [("input.priceSek", "INVALID_VALUE")]),
        (TREATMENT | {"priceSek": "1", "surface": "MO"}, [("input.surface", "INVALID_VALUE")]),
        (
            TREATMENT | {"priceSek": "1", "procedureCode": "1011", "conditionCode": "x"},
            [("input.conditionCode", "INVALID_CODE"), ("input.procedureCode", "INVALID_CODE")],
        ),
    ],
)
async def test_dental_treatment_rules(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    data: dict[str, Any],
    problems: Problems,
) -> None:
    world = await make_world(conn, unit_kind="dental")
    assert (
        await attempt(client, settings, world, "recordDentalTreatment", "dentalTreatment", data)
        == problems
    )


async def test_tooth_finding_on_a_primary_tooth(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn, unit_kind="dental")
    data = {"tooth": "85", "surface": "dob", "findingCode": "karies", "findingText": "Karies"}
    assert await attempt(client, settings, world, "recordToothFinding", "toothFinding", data) == []
    assert await attempt(
        client, settings, world, "recordToothFinding", "toothFinding", data | {"tooth": "86"}
    ) == [("input.tooth", "INVALID_CODE")]


DECISION = {
    "legalBasisCode": "LSS-9",
    "insatsCode": "LSS9-2",
    "municipalityCode": "0180",
    "appliedOn": "2024-01-10",
    "decidedOn": "2024-02-01",
    "validFrom": "2024-03-01",
    "extentAmount": "40",
    "extentUnit": "hours_per_week",
    "outcome": "BEVILJAD",
    "caseOfficerName": "Handläggare Test",
}


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (DECISION, []),
        (
            DECISION
            | {
                "legalBasisCode": "SOL2001-4-1",
                "insatsCode": "SOL-HEMTJANST",
                "decidedOn": "2025-08-01",
            },
            [("input.legalBasisCode", "INVALID_CODE")],
        ),
        (
            DECISION | {"legalBasisCode": "SOL2025-BISTAND", "decidedOn": "2025-08-01"},
            [("input.insatsCode", "INVALID_CODE")],
        ),
        (DECISION | {"insatsCode": "NOPE"}, [("input.insatsCode", "INVALID_CODE")]),
        (DECISION | {"municipalityCode": "0999"}, [("input.municipalityCode", "INVALID_CODE")]),
        (
            DECISION | {"validTo": "2024-02-01", "extentAmount": "-3"},
            [("input.validTo", "INVALID_DATE_ORDER"), ("input.extentAmount", "INVALID_VALUE")],
        ),
        (DECISION | {"decidedOn": "2999-01-01"}, [("input.decidedOn", "INVALID_DATE_ORDER")]),
    ],
)
async def test_municipal_decision_rules(
    client: httpx.AsyncClient,
    conn: AsyncConnection,
    settings: Settings,
    data: dict[str, Any],
    problems: Problems,
) -> None:
    world = await make_world(conn, unit_kind="lss")
    await create_municipality(conn, "0180")
    found = await attempt(
        client, settings, world, "recordMunicipalDecision", "municipalDecision", data
    )
    assert found == problems
    assert await count(conn, "municipal_decision") == (0 if problems else 1)
