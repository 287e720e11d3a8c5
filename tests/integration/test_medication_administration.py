"""recordMedicationAdministration: the home-care nurse signs doses of the GP's prescription on
the signing list, and the GP reads them as part of their own prescription (A11), without the
nurse re-entering anything at the region. Tokens of the real roles throughout."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from tests.factories import create_provider, create_unit
from tests.integration.boundary_world import Boundary, boundary
from tests.integration.mutation_support import (
    call,
    count,
    disclosed_to,
    errors_of,
    patient_gid,
    patient_token,
    written,
)
from tests.integration.test_legal_bases import clinician_token, staff

SIGN = """mutation($input: RecordMedicationAdministrationInput!) {
  recordMedicationAdministration(input: $input) {
    medicationAdministration {
      id version outcome plannedAt doseText notGivenReason eventTime
      careUnit { name } accountable { name }
      prescription { drugName }
    }
    userErrors { field code message }
    replayed
  }
}"""
READ = """query($pnr: String!) {
  patient(personnummer: $pnr) {
    medicationAdministrations {
      totalCount nodes { outcome doseText notGivenReason careUnit { name } }
    }
    prescriptions { nodes { drugName administrations { totalCount nodes { outcome } } } }
  }
}"""
NULLIFY = """mutation($input: NullifyInput!) {
  nullify(input: $input) { record { id version nullified } userErrors { field code } }
}"""
PLANNED = "2026-11-30T08:00:00+01:00"
GIVEN_AT = "2026-11-30T08:10:00+01:00"


def sign_input(b: Boundary, **overrides: Any) -> dict[str, Any]:
    return {
        "patientId": patient_gid(b.patient),
        "careUnitHsaId": b.home_care.hsa_id,
        "prescriptionId": b.warfarin_gid,
        "outcome": "GIVEN",
        "plannedAt": PLANNED,
        "administeredAt": GIVEN_AT,
        "doseText": "2 tabletter à 2,5 mg",
    } | overrides


async def sign(client: httpx.AsyncClient, b: Boundary, **overrides: Any) -> dict[str, Any]:
    body = await call(client, SIGN, {"input": sign_input(b, **overrides)}, token=b.nurse_token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["recordMedicationAdministration"]
    return payload


async def read(client: httpx.AsyncClient, b: Boundary, token: str) -> dict[str, Any] | None:
    body = await call(client, READ, {"pnr": b.patient.identifier}, token=token)
    assert "errors" not in body, body
    patient: dict[str, Any] | None = body["data"]["patient"]
    return patient


async def test_the_nurse_signs_and_the_prescriber_sees_it_without_re_entry(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    payload = await sign(client, b)
    assert payload["userErrors"] == []
    given = payload["medicationAdministration"]
    assert given["outcome"] == "GIVEN" and given["careUnit"]["name"] == "Hemtjänst Test"
    assert given["prescription"]["drugName"] == "Waran"
    assert given["accountable"]["name"] == f"{b.nurse.given_name} {b.nurse.family_name}"
    assert (await written(conn, b.patient.id))[0].startswith("MedicationAdministration:")

    # The prescriber at the region reads the signature where it was written, as part of his
    # own prescription: nobody typed it in again at the vårdcentral.
    seen = await read(client, b, b.gp_token)
    assert seen is not None
    listing = seen["medicationAdministrations"]
    assert listing["totalCount"] == 1
    assert listing["nodes"][0] == {
        "outcome": "GIVEN",
        "doseText": "2 tabletter à 2,5 mg",
        "notGivenReason": None,
        "careUnit": {"name": "Hemtjänst Test"},
    }
    waran = seen["prescriptions"]["nodes"][0]
    assert waran["administrations"]["totalCount"] == 1
    assert await disclosed_to(conn, b.patient.id, b.gp.hsa_id, "MedicationAdministration") >= 1


async def test_a_colleague_without_nll_consent_and_a_pharmacist_see_no_signatures(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    await sign(client, b)
    colleague = await read(client, b, b.colleague_token)
    assert colleague is not None  # A1 holds: same unit, care relationship
    assert colleague["medicationAdministrations"]["totalCount"] == 0  # A11: not his
    chain = await create_provider(conn, name="Apotek AB", kind="privat")
    pharmacy = await create_unit(conn, chain, kind="pharmacy", name="Apoteket Test")
    pharmacist = await staff(conn, pharmacy, profession="farmaceut")
    token = clinician_token(settings, pharmacist, pharmacy, chain, "apotekare")
    at_pharmacy = await read(client, b, token)
    assert at_pharmacy is not None
    assert at_pharmacy["prescriptions"]["nodes"]  # the NLL, for expedition
    assert at_pharmacy["medicationAdministrations"]["totalCount"] == 0  # not the NLL


async def test_the_patient_sees_approved_signatures_only(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    await sign(client, b)
    await sign(client, b, approvedForPatient=False, administeredAt="2026-11-30T20:05:00+01:00")
    own = await read(client, b, patient_token(settings, b.patient.identifier))
    assert own is not None and own["medicationAdministrations"]["totalCount"] == 1


async def test_not_given_needs_a_reason_and_self_administration_is_signed(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    refused = await sign(client, b, outcome="NOT_GIVEN", administeredAt=None)
    assert refused["medicationAdministration"] is None
    assert errors_of(refused) == [("input.notGivenReason", "INVALID_VALUE")]
    stray = await sign(client, b, notGivenReason="Sov")
    assert errors_of(stray) == [("input.notGivenReason", "INVALID_VALUE")]
    assert await count(conn, "medication_administration") == 0

    skipped = await sign(
        client, b, outcome="NOT_GIVEN", administeredAt=None, notGivenReason="Patienten sov"
    )
    assert skipped["userErrors"] == []
    row = skipped["medicationAdministration"]
    assert row["notGivenReason"] == "Patienten sov"
    assert row["eventTime"] == row["plannedAt"]  # not given: recorded at the time it was due
    own = await sign(client, b, outcome="SELF_ADMINISTERED", doseText=None)
    assert own["medicationAdministration"]["outcome"] == "SELF_ADMINISTERED"


async def test_who_may_sign(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    # The GP signs no home-care list: not at the municipality's unit (his own unit only) ...
    body = await call(client, SIGN, {"input": sign_input(b)}, token=b.gp_token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # ... and his vårdcentral keeps no signing lists.
    at_vc = sign_input(b, careUnitHsaId=b.vc.hsa_id)
    body = await call(client, SIGN, {"input": at_vc}, token=b.gp_token)
    assert errors_of(body["data"]["recordMedicationAdministration"]) == [
        ("input.careUnitHsaId", "INVALID_REFERENCE")
    ]
    assert await count(conn, "medication_administration") == 0
    denied = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE patient_id = :p AND outcome = 'denied'"),
        {"p": b.patient.id},
    )
    assert denied.scalar_one() >= 1
    # A patient never writes the record.
    body = await call(
        client, SIGN, {"input": sign_input(b)}, token=patient_token(settings, b.patient.identifier)
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_without_nll_consent_the_nurse_cannot_sign_what_she_cannot_see(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings, nll_consent=False)
    payload = await sign(client, b)
    assert errors_of(payload) == [("input.prescriptionId", "NOT_FOUND")]
    assert await count(conn, "medication_administration") == 0


async def test_a_discontinued_prescription_is_not_signed(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    await conn.execute(
        text("UPDATE prescription SET status = 'utsatt' WHERE id = :id"), {"id": b.warfarin.id}
    )
    payload = await sign(client, b)
    assert errors_of(payload) == [("input.prescriptionId", "INVALID_STATE")]


async def test_a_retry_with_the_idempotency_key_signs_once(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    first = await sign(client, b, idempotencyKey="signering-0800")
    again = await sign(client, b, idempotencyKey="signering-0800")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["medicationAdministration"]["id"] == first["medicationAdministration"]["id"]
    assert await count(conn, "medication_administration") == 1
    other = await sign(client, b, idempotencyKey="signering-0800", doseText="1 tablett")
    assert errors_of(other) == [("input.idempotencyKey", "CONFLICT")]
    assert await count(conn, "medication_administration") == 1


async def test_a_wrong_signature_is_nullified_once_with_its_version(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    row = (await sign(client, b))["medicationAdministration"]
    nullify = {"id": row["id"], "version": row["version"], "reason": "Fel patient"}
    done = await call(client, NULLIFY, {"input": nullify}, token=b.nurse_token)
    assert done["data"]["nullify"]["record"]["nullified"] is True
    stale = await call(client, NULLIFY, {"input": nullify}, token=b.nurse_token)
    assert errors_of(stale["data"]["nullify"]) == [("input.version", "CONFLICT")]
    seen = await read(client, b, b.gp_token)
    assert seen is not None and seen["medicationAdministrations"]["totalCount"] == 0
