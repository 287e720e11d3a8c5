"""prescribe (and replace), dispense, discontinuePrescription: NLL rules, versions, rollback."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.factories import create_dispensation, create_patient, create_prescription, create_unit
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

PRESCRIBE = """
mutation P($input: PrescribeInput!) {
  prescribe(input: $input) {
    prescription { id status validUntil version accountable { hsaId } }
    replaced { id status version }
    userErrors { field code message }
    replayed
  }
}
"""
DISPENSE = """
mutation D($input: DispenseInput!) {
  dispense(input: $input) {
    dispensation { id }
    userErrors { field code message }
  }
}
"""
DISCONTINUE = """
mutation X($input: DiscontinuePrescriptionInput!) {
  discontinuePrescription(input: $input) {
    prescription { id status version }
    userErrors { field code message }
  }
}
"""


def prescription_input(world: World, **overrides: Any) -> dict[str, Any]:
    return {
        "patientId": patient_gid(world.patient),
        "drugNplId": "20090915100017",
        "atcCode": "B01AF02",
        "drugName": "Eliquis",
        "dosageText": "1 tablett 2 gånger dagligen",
        "amount": "2",
        "issuedAt": "2025-01-10T09:00:00+01:00",
    } | overrides


async def test_a_clinician_prescribes_with_a_default_last_valid_day(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    body = await call(
        client,
        PRESCRIBE,
        {"input": prescription_input(world)},
        token=world.clinician_token(settings),
    )
    payload = body["data"]["prescribe"]
    assert payload["userErrors"] == []
    assert payload["prescription"]["status"] == "AKTIV"
    assert (
        payload["prescription"]["validUntil"]
        == (date(2025, 1, 10) + timedelta(days=366)).isoformat()
    )
    assert payload["prescription"]["accountable"] == {"hsaId": world.practitioner.hsa_id}
    assert payload["replaced"] is None


async def test_a_system_must_name_the_prescriber(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    body = await call(
        client,
        PRESCRIBE,
        {"input": prescription_input(world, careUnitHsaId=world.unit.hsa_id, amount="0")},
        token=system_token(settings),
    )
    assert errors_of(body["data"]["prescribe"]) == [
        ("input.amount", "INVALID_VALUE"),
        ("input.accountableHsaId", "INVALID_VALUE"),
    ]
    assert await count(conn, "prescription") == 0


async def test_replacing_joins_the_chain_and_marks_the_old_one_replaced(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    old = await own_prescription(conn, world)
    body = await call(
        client,
        PRESCRIBE,
        {
            "input": prescription_input(
                world, replacesId=row_gid("Prescription", old), replacesVersion=1
            )
        },
        token=world.clinician_token(settings),
    )
    payload = body["data"]["prescribe"]
    assert payload["userErrors"] == []
    assert payload["replaced"] == {
        "id": row_gid("Prescription", old),
        "status": "ERSATT",
        "version": 2,
    }
    chains = await conn.execute(
        text("SELECT DISTINCT chain_id FROM prescription WHERE patient_id = :p"),
        {"p": world.patient.id},
    )
    assert [r[0] for r in chains] == [old.chain_id]
    entries = await written(conn, world.patient.id)
    assert len(entries) == 2 and f"Prescription:{old.id}" in entries


async def test_a_stale_version_after_the_first_insert_leaves_nothing_behind(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """The new prescription is inserted before the old one's versioned update fails: the
    savepoint must take the insert back too (no partial write)."""
    world = await make_world(conn)
    old = await own_prescription(conn, world)
    before = await count(conn, "prescription")
    body = await call(
        client,
        PRESCRIBE,
        {
            "input": prescription_input(
                world,
                replacesId=row_gid("Prescription", old),
                replacesVersion=7,
                idempotencyKey="replace-1",
            )
        },
        token=world.clinician_token(settings),
    )
    payload = body["data"]["prescribe"]
    assert errors_of(payload) == [("input.version", "CONFLICT")]
    assert payload["prescription"] is None
    assert await count(conn, "prescription") == before
    status = await conn.execute(
        text("SELECT status, version FROM prescription WHERE id = :i"), {"i": old.id}
    )
    assert tuple(status.one()) == ("aktiv", 1)
    assert await count(conn, "idempotency_key") == 0
    assert await written(conn, world.patient.id) == []


async def test_only_an_active_prescription_of_the_same_patient_can_be_replaced(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    stranger = await create_patient(conn)
    theirs = await create_prescription(conn, stranger, world.unit)
    stopped = await own_prescription(conn, world, status="utsatt")
    token = world.clinician_token(settings)
    for old, expected in [
        (theirs, ("input.replacesId", "INVALID_REFERENCE")),
        (stopped, ("input.replacesId", "INVALID_STATE")),
    ]:
        body = await call(
            client,
            PRESCRIBE,
            {
                "input": prescription_input(
                    world, replacesId=row_gid("Prescription", old), replacesVersion=1
                )
            },
            token=token,
        )
        assert errors_of(body["data"]["prescribe"]) == [expected]


async def own_prescription(conn: AsyncConnection, world: World, **kw: Any) -> Any:
    """A prescription the world's clinician wrote (A11: clinicians see their own)."""
    return await create_prescription(
        conn,
        world.patient,
        world.unit,
        accountable_practitioner_id=world.practitioner.id,
        accountable_hsa_id=world.practitioner.hsa_id,
        **kw,
    )


async def _pharmacy_world(conn: AsyncConnection, **prescription: Any) -> tuple[World, Any, Any]:
    world = await make_world(conn)
    pharmacy = await create_unit(conn, world.provider, kind="pharmacy")
    rx = await create_prescription(conn, world.patient, world.unit, **prescription)
    return world, pharmacy, rx


def dispense_input(world: World, pharmacy: Any, rx: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "patientId": patient_gid(world.patient),
        "careUnitHsaId": pharmacy.hsa_id,
        "prescriptionId": row_gid("Prescription", rx),
        "amount": "1",
        "articleName": "Kåvepenin 800 mg 20 st",
    } | overrides


async def test_dispensations_follow_the_prescription(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world, pharmacy, rx = await _pharmacy_world(
        conn, dispensations_allowed=2, dispensation_interval_days=20
    )
    token = system_token(settings)

    async def dispense(**overrides: Any) -> list[tuple[str | None, str]]:
        data = dispense_input(world, pharmacy, rx, **overrides)
        return errors_of(
            (await call(client, DISPENSE, {"input": data}, token=token))["data"]["dispense"]
        )

    assert await dispense(dispensedAt="2025-01-10T10:00:00+01:00") == []
    assert await dispense(dispensedAt="2025-01-20T10:00:00+01:00") == [
        ("input.prescriptionId", "INVALID_STATE")
    ]
    assert await dispense(amount="5", dispensedAt="2025-02-10T10:00:00+01:00") == [
        ("input.amount", "INVALID_VALUE")
    ]
    assert await dispense(dispensedAt="2025-02-10T10:00:00+01:00") == []
    assert await dispense(dispensedAt="2025-03-10T10:00:00+01:00") == [
        ("input.prescriptionId", "INVALID_STATE")
    ]
    assert await count(conn, "dispensation") == 2


async def test_dispensing_needs_a_pharmacy_and_a_valid_prescription(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world, pharmacy, rx = await _pharmacy_world(conn, valid_until=date(2025, 1, 31))
    stopped = await create_prescription(conn, world.patient, world.unit, status="utsatt")
    token = system_token(settings)
    cases = [
        ({"careUnitHsaId": world.unit.hsa_id}, [("input.careUnitHsaId", "INVALID_REFERENCE")]),
        ({"dispensedAt": "2025-02-02T10:00:00+01:00"}, [("input.prescriptionId", "INVALID_STATE")]),
        (
            {"prescriptionId": row_gid("Prescription", stopped)},
            [("input.prescriptionId", "INVALID_STATE")],
        ),
        (
            {"prescriptionId": patient_gid(world.patient)},
            [("input.prescriptionId", "INVALID_REFERENCE")],
        ),
    ]
    for overrides, expected in cases:
        data = (
            dispense_input(world, pharmacy, rx, dispensedAt="2025-01-15T10:00:00+01:00") | overrides
        )
        body = await call(client, DISPENSE, {"input": data}, token=token)
        assert errors_of(body["data"]["dispense"]) == expected, overrides
    assert await count(conn, "dispensation") == 0


async def test_a_reversal_gives_a_dispensation_back(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world, pharmacy, rx = await _pharmacy_world(conn, dispensations_allowed=1)
    first = await create_dispensation(conn, rx, pharmacy)
    await create_dispensation(conn, rx, pharmacy, reverses_id=first.id, amount=Decimal(-1))
    data = dispense_input(world, pharmacy, rx, dispensedAt="2025-01-15T10:00:00+01:00")
    body = await call(client, DISPENSE, {"input": data}, token=system_token(settings))
    assert body["data"]["dispense"]["userErrors"] == []


async def test_discontinue_with_the_current_version(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    rx = await own_prescription(conn, world)
    token = world.clinician_token(settings)
    data = {"id": row_gid("Prescription", rx), "version": 1, "reason": "Biverkningar"}
    done = await call(client, DISCONTINUE, {"input": data}, token=token)
    assert done["data"]["discontinuePrescription"]["prescription"] == {
        "id": row_gid("Prescription", rx),
        "status": "UTSATT",
        "version": 2,
    }
    # The same request again: its version is stale now.
    stale = await call(client, DISCONTINUE, {"input": data}, token=token)
    assert errors_of(stale["data"]["discontinuePrescription"]) == [("input.version", "CONFLICT")]
    again = await call(client, DISCONTINUE, {"input": data | {"version": 2}}, token=token)
    assert errors_of(again["data"]["discontinuePrescription"]) == [("input.id", "INVALID_STATE")]
    row = await conn.execute(
        text("SELECT status, version, discontinued_reason FROM prescription WHERE id = :i"),
        {"i": rx.id},
    )
    assert tuple(row.one()) == ("utsatt", 2, "Biverkningar")
    assert await written(conn, world.patient.id) == [f"Prescription:{rx.id}"]


async def test_discontinue_retry_with_a_key_is_not_a_conflict(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    rx = await create_prescription(conn, world.patient, world.unit)
    token = system_token(settings)
    data = {
        "id": row_gid("Prescription", rx),
        "version": 1,
        "reason": "Klar",
        "idempotencyKey": "d-1",
    }
    first = await call(client, DISCONTINUE, {"input": data}, token=token)
    retry = await call(client, DISCONTINUE, {"input": data}, token=token)
    assert retry["data"]["discontinuePrescription"] == first["data"]["discontinuePrescription"]
    version = await conn.execute(
        text("SELECT version FROM prescription WHERE id = :i"), {"i": rx.id}
    )
    assert version.scalar_one() == 2
