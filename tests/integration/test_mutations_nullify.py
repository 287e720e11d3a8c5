"""nullify: any clinical row, by global id and version; kept, hidden, audited."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app import models
from app.settings import Settings
from schema.ids import encode_id
from tests.factories import create_clinical, create_municipality, create_practitioner
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

NULLIFY = """
mutation N($input: NullifyInput!) {
  nullify(input: $input) {
    record { __typename id nullified nullifiedReason version }
    userErrors { field code message }
    replayed
  }
}
"""

KINDS: list[type[SQLModel]] = [
    models.CareContact,
    models.CareDocument,
    models.Diagnosis,
    models.Alert,
    models.LabResult,
    models.Vaccination,
    models.Prescription,
    models.DentalTreatment,
    models.ToothFinding,
    models.MunicipalDecision,
]

_EXTRA: dict[str, dict[str, object]] = {
    "care_contact": {"contact_type": "besok", "status": "avslutad"},
    "lab_result": {
        "order_id": "L1",
        "code_system": "NPU",
        "code": "NPU02319",
        "name": "B-Hb",
    },
    "vaccination": {"vaccine_name": "Vaxigrip", "target_disease": "Influensa"},
    "dental_treatment": {
        "condition_code": "3043",
        "procedure_code": "101",
        "procedure_text": "Basundersökning",
        "price_sek": Decimal(975),
    },
    "tooth_finding": {"tooth": "36", "finding_code": "karies", "finding_text": "Karies"},
}


@pytest.mark.parametrize("model", KINDS, ids=lambda m: m.__name__)
async def test_nullify_each_kind(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings, model: type[SQLModel]
) -> None:
    world = await make_world(conn)
    await create_municipality(conn, "0180")
    row = await create_clinical(
        conn, model, world.patient, world.unit, **_EXTRA.get(str(model.__tablename__), {})
    )
    gid = row_gid(model.__name__, row)
    data = {"id": gid, "version": 1, "reason": "Fel patient"}
    body = await call(client, NULLIFY, {"input": data}, token=system_token(settings))
    payload = body["data"]["nullify"]
    assert payload["userErrors"] == []
    assert payload["record"] == {
        "__typename": model.__name__,
        "id": gid,
        "nullified": True,
        "nullifiedReason": "Fel patient",
        "version": 2,
    }
    assert await written(conn, world.patient.id) == [f"{model.__name__}:{row.id}"]
    stored = await conn.execute(
        text(
            f"SELECT nullified, nullified_at IS NOT NULL FROM {model.__tablename__} WHERE id = :i"
        ),
        {"i": row.id},
    )
    assert tuple(stored.one()) == (True, True)


async def test_nullifying_a_prescription_makes_it_makulerad(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    rx = await create_clinical(conn, models.Prescription, world.patient, world.unit)
    data = {"id": row_gid("Prescription", rx), "version": 1, "reason": "Fel läkemedel"}
    await call(client, NULLIFY, {"input": data}, token=system_token(settings))
    status = await conn.execute(text("SELECT status FROM prescription WHERE id = :i"), {"i": rx.id})
    assert status.scalar_one() == "makulerad"


async def test_conflict_state_and_references(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    row = await create_clinical(conn, models.Diagnosis, world.patient, world.unit)
    practitioner = await create_practitioner(conn)
    token = system_token(settings)
    gid = row_gid("Diagnosis", row)

    async def nullify(id_: str, version: int = 1) -> list[tuple[str | None, str]]:
        data = {"id": id_, "version": version, "reason": "Fel"}
        return errors_of(
            (await call(client, NULLIFY, {"input": data}, token=token))["data"]["nullify"]
        )

    assert await nullify(gid, version=3) == [("input.version", "CONFLICT")]
    assert await nullify("garbage") == [("input.id", "INVALID_IDENTIFIER")]
    assert await nullify(patient_gid(world.patient)) == [("input.id", "INVALID_REFERENCE")]
    assert await nullify(encode_id("Practitioner", practitioner.id)) == [
        ("input.id", "INVALID_REFERENCE")
    ]
    assert await nullify(encode_id("Diagnosis", uuid.uuid4(), world.patient.id)) == [
        ("input.id", "NOT_FOUND")
    ]
    assert await count(conn, "audit_entry WHERE action = 'write'") == 0
    assert await nullify(gid) == []
    assert await nullify(gid, version=2) == [("input.id", "INVALID_STATE")]


async def test_nullify_is_idempotent_with_a_key(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    world = await make_world(conn)
    row = await create_clinical(conn, models.Alert, world.patient, world.unit)
    data = {"id": row_gid("Alert", row), "version": 1, "reason": "Fel", "idempotencyKey": "n-1"}
    token = system_token(settings)
    first = (await call(client, NULLIFY, {"input": data}, token=token))["data"]["nullify"]
    second = (await call(client, NULLIFY, {"input": data}, token=token))["data"]["nullify"]
    assert second["record"] == first["record"] and second["replayed"] is True
    version = await conn.execute(text("SELECT version FROM alert WHERE id = :i"), {"i": row.id})
    assert version.scalar_one() == 2
