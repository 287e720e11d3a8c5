"""recordVitalSigns and Patient.vitalSigns, with the tokens of the roles that use them: the
ward nurse who measures, a doctor of the same unit who reads, and an outsider who is refused."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from tests.factories import create_care_relationship, create_patient, create_provider, create_unit
from tests.integration.mutation_support import call, count, errors_of, patient_gid, written
from tests.integration.test_legal_bases import clinician_token, staff

RECORD = """mutation($input: RecordVitalSignsInput!) {
  recordVitalSigns(input: $input) {
    vitalSigns { id respirationRate spo2 supplementalOxygen systolicBp diastolicBp pulse
                 consciousness temperature news2Score news2Risk careUnit { name } }
    userErrors { field code message }
    replayed
  }
}"""
READ = """query($pnr: String!) {
  patient(personnummer: $pnr) {
    vitalSigns { totalCount nodes { news2Score news2Risk pulse eventTime } }
  }
}"""
MEASURED_AT = "2026-11-30T08:15:00+01:00"


class Ward:
    """A hospital ward treating the patient, with a nurse and a doctor assigned to it."""

    async def make(self, conn: AsyncConnection, settings: Settings) -> Ward:
        self.provider = await create_provider(conn)
        self.unit = await create_unit(conn, self.provider, kind="hospital", name="Avd 12")
        self.patient = await create_patient(conn)
        await create_care_relationship(conn, self.patient, self.unit)
        nurse = await staff(conn, self.unit, profession="sjuksköterska")
        doctor = await staff(conn, self.unit)
        self.nurse = clinician_token(settings, nurse, self.unit, self.provider, "sjuksköterska")
        self.doctor = clinician_token(settings, doctor, self.unit, self.provider)
        return self

    def input(self, **overrides: Any) -> dict[str, Any]:
        return {
            "patientId": patient_gid(self.patient),
            "careUnitHsaId": self.unit.hsa_id,
            "respirationRate": 22,
            "spo2": 93,
            "supplementalOxygen": True,
            "systolicBp": 105,
            "diastolicBp": 70,
            "pulse": 112,
            "consciousness": "ALERT",
            "temperature": "38.4",
            "measuredAt": MEASURED_AT,
        } | overrides


async def ward(conn: AsyncConnection, settings: Settings) -> Ward:
    return await Ward().make(conn, settings)


async def test_the_nurse_records_and_the_doctor_reads_the_score(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await ward(conn, settings)
    body = await call(client, RECORD, {"input": w.input()}, token=w.nurse)
    assert "errors" not in body, body
    payload = body["data"]["recordVitalSigns"]
    assert payload["userErrors"] == []
    signs = payload["vitalSigns"]
    # RR 22 (2) + SpO2 93 (2) + oxygen (2) + BP 105 (1) + pulse 112 (2) + alert (0) + 38.4 (1)
    assert (signs["news2Score"], signs["news2Risk"]) == (10, "HIGH")
    assert signs["temperature"] == "38.4" and signs["consciousness"] == "ALERT"
    assert signs["careUnit"]["name"] == "Avd 12"
    assert (await written(conn, w.patient.id))[0].startswith("VitalSigns:")

    seen = await call(client, READ, {"pnr": w.patient.identifier}, token=w.doctor)
    assert "errors" not in seen, seen
    listing = seen["data"]["patient"]["vitalSigns"]
    assert listing["totalCount"] == 1
    assert listing["nodes"][0]["news2Score"] == 10 and listing["nodes"][0]["pulse"] == 112
    disclosed = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'read'"
            " AND outcome = 'disclosed' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text("
            "to_jsonb(resources)) r WHERE r LIKE 'VitalSigns:%')"
        ),
        {"p": w.patient.id},
    )
    assert disclosed.scalar_one() >= 1


async def test_a_low_score_with_one_red_parameter_is_low_medium(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await ward(conn, settings)
    normal = {"respirationRate": 16, "spo2": 97, "supplementalOxygen": False, "systolicBp": 125}
    data = w.input(**normal, pulse=70, temperature="37.0", consciousness="NEW_CONFUSION")
    signs = (await call(client, RECORD, {"input": data}, token=w.nurse))["data"][
        "recordVitalSigns"
    ]["vitalSigns"]
    assert (signs["news2Score"], signs["news2Risk"]) == (3, "LOW_MEDIUM")


async def test_an_outsider_neither_writes_nor_reads(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await ward(conn, settings)
    await call(client, RECORD, {"input": w.input()}, token=w.nurse)
    other_provider = await create_provider(conn)
    clinic = await create_unit(conn, other_provider, name="Annan vårdcentral")
    outsider = await staff(conn, clinic, profession="sjuksköterska")
    token = clinician_token(settings, outsider, clinic, other_provider, "sjuksköterska")

    seen = await call(client, READ, {"pnr": w.patient.identifier}, token=token)
    assert "errors" not in seen, seen
    assert seen["data"]["patient"] is None
    # Writing at the ward, where the outsider has no assignment, is refused and logged.
    before = await count(conn, "vital_signs")
    body = await call(client, RECORD, {"input": w.input()}, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count(conn, "vital_signs") == before
    denied = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE patient_id = :p AND outcome = 'denied'"),
        {"p": w.patient.id},
    )
    assert denied.scalar_one() >= 2


async def test_implausible_values_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await ward(conn, settings)
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"pulse": 720}, [("input.pulse", "INVALID_VALUE")]),
        ({"spo2": 101}, [("input.spo2", "INVALID_VALUE")]),
        ({"temperature": "37.25"}, [("input.temperature", "INVALID_VALUE")]),
        ({"temperature": "52.0"}, [("input.temperature", "INVALID_VALUE")]),
        ({"diastolicBp": 120}, [("input.diastolicBp", "INVALID_VALUE")]),
        (
            {"respirationRate": -1, "systolicBp": 400},
            [("input.respirationRate", "INVALID_VALUE"), ("input.systolicBp", "INVALID_VALUE")],
        ),
    ]
    for change, problems in cases:
        body = await call(client, RECORD, {"input": w.input(**change)}, token=w.nurse)
        assert "errors" not in body, body
        payload = body["data"]["recordVitalSigns"]
        assert payload["vitalSigns"] is None
        assert sorted(errors_of(payload)) == sorted(problems), change
    assert await count(conn, "vital_signs") == 0


async def test_a_retry_with_the_idempotency_key_writes_once(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await ward(conn, settings)
    data = w.input(idempotencyKey="vitals-0815")
    first = (await call(client, RECORD, {"input": data}, token=w.nurse))["data"]
    again = (await call(client, RECORD, {"input": data}, token=w.nurse))["data"]
    assert first["recordVitalSigns"]["replayed"] is False
    assert again["recordVitalSigns"]["replayed"] is True
    assert (
        again["recordVitalSigns"]["vitalSigns"]["id"]
        == first["recordVitalSigns"]["vitalSigns"]["id"]
    )
    rows = await conn.execute(
        text("SELECT count(*) FROM vital_signs WHERE patient_id = :p"), {"p": w.patient.id}
    )
    assert rows.scalar_one() == 1
    assert models.VitalSigns.__tablename__ == "vital_signs"
