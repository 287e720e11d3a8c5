"""The clinical safety check (app/safety.py, resolvers/mutations/safety.py): prescribing or
dispensing a drug of a class the patient is recorded hypersensitive to needs the warning
acknowledged; unacknowledged, nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.safety import HYPERSENSITIVITY_CLASSES, conflicting_class, drug_class
from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests.factories import create_alert, create_assignment, create_practitioner, create_unit
from tests.factories import create_prescription as make_prescription
from tests.integration.mutation_support import World, call, count, make_world, patient_gid

PRESCRIBE = """
mutation ($input: PrescribeInput!) {
  prescribe(input: $input) {
    prescription { atcCode }
    warnings { code atcPrefix message }
    userErrors { field code }
  }
}
"""
DISPENSE = """
mutation ($input: DispenseInput!) {
  dispense(input: $input) {
    dispensation { articleName }
    warnings { code }
    userErrors { field code }
  }
}
"""


def test_the_table_covers_the_classes_of_the_issue() -> None:
    prefixes = {c.atc_prefix for c in HYPERSENSITIVITY_CLASSES}
    assert prefixes >= {"J01C", "J01D", "J01E", "M01A"}
    assert drug_class("J01CA04") == drug_class("j01ce02")  # amoxicillin, penicillin V
    assert drug_class("B01AA03") is None
    assert conflicting_class("M01AE01", ["J01CE02", "M01AE02"]) == drug_class("M01A")
    assert conflicting_class("J01DB01", ["J01CE02"]) is None  # cross-reactivity not modelled
    assert conflicting_class(None, ["J01CE02"]) is None


def amoxicillin(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "patientId": patient_gid(world.patient),
        "drugNplId": "19750101100011",
        "atcCode": "J01CA04",
        "drugName": "Amoxicillin",
        "dosageText": "1 tablett 3 gånger dagligen",
        "amount": "1",
    } | overrides


async def test_prescribing_against_an_allergy_needs_the_warning_acknowledged(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    await create_alert(conn, world.patient, world.unit, agent_atc_code="J01CE02")
    token = world.clinician_token(settings)
    before = await count(conn, "prescription")
    body = await call(client, PRESCRIBE, {"input": amoxicillin(world)}, token=token)
    payload = body["data"]["prescribe"]
    assert payload["prescription"] is None
    assert [w["code"] for w in payload["warnings"]] == ["HYPERSENSITIVITY_J01C"]
    assert "penicillins" in payload["warnings"][0]["message"]
    assert payload["userErrors"] == [
        {"field": "input.acknowledgeWarnings", "code": "WARNING_NOT_ACKNOWLEDGED"}
    ]
    assert await count(conn, "prescription") == before
    # A wrong code does not acknowledge it.
    wrong = amoxicillin(world, acknowledgeWarnings=["HYPERSENSITIVITY_M01A"])
    body = await call(client, PRESCRIBE, {"input": wrong}, token=token)
    assert body["data"]["prescribe"]["prescription"] is None
    # Acknowledged: written, and the answer still names the warning.
    sure = amoxicillin(world, acknowledgeWarnings=["HYPERSENSITIVITY_J01C"])
    body = await call(client, PRESCRIBE, {"input": sure}, token=token)
    payload = body["data"]["prescribe"]
    assert payload["userErrors"] == []
    assert payload["prescription"]["atcCode"] == "J01CA04"
    assert [w["code"] for w in payload["warnings"]] == ["HYPERSENSITIVITY_J01C"]
    assert await count(conn, "prescription") == before + 1


async def test_no_warning_for_another_class_an_ended_or_nullified_allergy(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    await create_alert(conn, world.patient, world.unit, agent_atc_code="J01CE02", nullified=True)
    from datetime import date

    await create_alert(
        conn, world.patient, world.unit, agent_atc_code="J01CA04", valid_to=date(2020, 1, 1)
    )
    await create_alert(conn, world.patient, world.unit, agent_atc_code="M01AE02")
    token = world.clinician_token(settings)
    body = await call(client, PRESCRIBE, {"input": amoxicillin(world)}, token=token)
    payload = body["data"]["prescribe"]
    assert payload["userErrors"] == [] and payload["warnings"] == []
    # An NSAID for the naproxen allergy: warned.
    ibuprofen = amoxicillin(world, atcCode="M01AE01", drugName="Ibuprofen")
    body = await call(client, PRESCRIBE, {"input": ibuprofen}, token=token)
    assert [w["code"] for w in body["data"]["prescribe"]["warnings"]] == ["HYPERSENSITIVITY_M01A"]


async def test_dispensing_against_an_allergy_needs_the_warning_acknowledged(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    await create_alert(conn, world.patient, world.unit, agent_atc_code="J01CE02")
    rx = await make_prescription(conn, world.patient, world.unit, atc_code="J01CE02")
    pharmacy = await create_unit(conn, world.provider, kind="pharmacy", name="Apoteket")
    pharmacist = await create_practitioner(conn, profession="farmaceut")
    await create_assignment(conn, pharmacist, pharmacy)
    token = mint(
        settings,
        kind="clinician",
        subject=pharmacist.hsa_id,
        role="apotekare",
        care_unit=pharmacy.hsa_id,
        care_provider=world.provider.hsa_id,
    )
    dispensation: dict[str, Any] = {
        "patientId": patient_gid(world.patient),
        "prescriptionId": encode_id("Prescription", rx.id, world.patient.id),
        "amount": "1",
        "articleName": "Kåvepenin 1 g",
    }
    before = await count(conn, "dispensation")
    body = await call(client, DISPENSE, {"input": dispensation}, token=token)
    payload = body["data"]["dispense"]
    assert payload["dispensation"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["WARNING_NOT_ACKNOWLEDGED"]
    assert await count(conn, "dispensation") == before
    dispensation["acknowledgeWarnings"] = ["HYPERSENSITIVITY_J01C"]
    body = await call(client, DISPENSE, {"input": dispensation}, token=token)
    payload = body["data"]["dispense"]
    assert payload["userErrors"] == []
    assert payload["dispensation"]["articleName"] == "Kåvepenin 1 g"
    assert await count(conn, "dispensation") == before + 1
