"""Legal bases as data (app/access/bases.py): for each basis, who is let in and who is not,
and the basis in the audit entry. Every request uses the token of the role it is about."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.settings import Settings
from app.tokens import mint
from tests.factories import (
    create_alert,
    create_assignment,
    create_care_contact,
    create_care_relationship,
    create_municipal_decision,
    create_patient,
    create_practitioner,
    create_prescription,
    create_provider,
    create_unit,
)
from tests.integration.mutation_support import call, errors_of, patient_gid, patient_token

PATIENT_QUERY = """
query ($pnr: String!) {
  patient(personnummer: $pnr) {
    personnummer
    address { city }
    prescriptions { totalCount nodes { drugName } }
    alerts { nodes { alertType description } }
    careContacts { totalCount }
    municipalDecisions { totalCount }
  }
}
"""


def clinician_token(
    settings: Settings,
    practitioner: models.Practitioner,
    unit: models.CareUnit,
    provider: models.CareProvider,
    role: str = "läkare",
) -> str:
    return mint(
        settings,
        kind="clinician",
        subject=practitioner.hsa_id,
        name=f"{practitioner.given_name} {practitioner.family_name}",
        role=role,
        care_unit=unit.hsa_id,
        care_provider=provider.hsa_id,
    )


async def staff(
    conn: AsyncConnection, unit: models.CareUnit, profession: str = "läkare"
) -> models.Practitioner:
    who = await create_practitioner(conn, profession=profession)
    await create_assignment(conn, who, unit)
    return who


async def reasons(conn: AsyncConnection, patient: models.Patient, action: str) -> list[str]:
    rows = await conn.execute(
        text("SELECT reason FROM audit_entry WHERE patient_id = :p AND action = :a ORDER BY id"),
        {"p": patient.id, "a": action},
    )
    return [r for (r,) in rows]


async def ask(client: httpx.AsyncClient, token: str, patient: models.Patient) -> Any:
    body = await call(client, PATIENT_QUERY, {"pnr": patient.identifier}, token=token)
    assert "errors" not in body, body
    return body["data"]["patient"]


class Region:
    """A region with a health centre treating the patient (a prescription, two alerts)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def make(self) -> Region:
        conn = self.conn
        self.provider = await create_provider(conn)
        self.vc = await create_unit(conn, self.provider)
        self.patient = await create_patient(conn, city="Stockholm", street_address="Gatan 1")
        await create_care_relationship(conn, self.patient, self.vc)
        self.doctor = await staff(conn, self.vc)
        self.rx = await create_prescription(
            conn, self.patient, self.vc, atc_code="B01AA03", drug_name="Waran"
        )
        await create_alert(conn, self.patient, self.vc, description="Penicillinallergi")
        await create_alert(
            conn, self.patient, self.vc, alert_type="serious_disease", description="Hjärtsvikt"
        )
        await create_care_contact(conn, self.patient, self.vc)
        return self


# --- NLL expedition: a pharmacist at a pharmacy -------------------------------------------


async def pharmacy(conn: AsyncConnection) -> tuple[models.CareProvider, models.CareUnit]:
    provider = await create_provider(conn, kind="stat", name="Apoteket Test")
    return provider, await create_unit(conn, provider, kind="pharmacy", name="Apoteket Test")


async def test_pharmacist_reads_the_nll_without_a_care_relationship(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    provider, unit = await pharmacy(conn)
    pharmacist = await staff(conn, unit, "farmaceut")
    token = clinician_token(settings, pharmacist, unit, provider, role="apotekare")
    seen = await ask(client, token, region.patient)
    assert seen["personnummer"] == region.patient.identifier
    assert seen["address"] is None  # expedition needs no address
    assert [n["drugName"] for n in seen["prescriptions"]["nodes"]] == ["Waran"]
    # Drug hypersensitivities only; nothing else of the record.
    assert [a["alertType"] for a in seen["alerts"]["nodes"]] == ["HYPERSENSITIVITY"]
    assert seen["careContacts"]["totalCount"] == 0
    assert "basis: nll_expedition" in await reasons(conn, region.patient, "read")


async def test_pharmacist_dispenses_with_the_expedition_basis(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    provider, unit = await pharmacy(conn)
    pharmacist = await staff(conn, unit, "farmaceut")
    token = clinician_token(settings, pharmacist, unit, provider, role="apotekare")
    from schema.ids import encode_id

    body = await call(
        client,
        """mutation ($input: DispenseInput!) { dispense(input: $input) {
             dispensation { articleName } userErrors { field code } } }""",
        {
            "input": {
                "patientId": patient_gid(region.patient),
                "prescriptionId": encode_id("Prescription", region.rx.id, region.patient.id),
                "amount": "1",
                "articleName": "Waran 2,5 mg",
            }
        },
        token=token,
    )
    payload = body["data"]["dispense"]
    assert errors_of(payload) == []
    assert payload["dispensation"]["articleName"] == "Waran 2,5 mg"
    assert "basis: nll_expedition" in await reasons(conn, region.patient, "write")


async def test_a_pharmacy_writes_dispensations_and_nothing_else(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    """NLL expedition is a basis for dispensing: a pharmacist documents no care contact, no
    note and no prescription at the pharmacy, and the refusal is on the audit trail."""
    region = await Region(conn).make()
    provider, unit = await pharmacy(conn)
    pharmacist = await staff(conn, unit, "farmaceut")
    token = clinician_token(settings, pharmacist, unit, provider, role="apotekare")
    body = await call(
        client,
        """mutation ($input: RecordCareContactInput!) { recordCareContact(input: $input) {
             careContact { id } userErrors { field code } } }""",
        {
            "input": {
                "patientId": patient_gid(region.patient),
                "careUnitHsaId": unit.hsa_id,
                "careProviderHsaId": provider.hsa_id,
                "contactType": "BESOK",
                "status": "PAGAENDE",
                "periodStart": "2026-11-02T10:00:00Z",
            }
        },
        token=token,
    )
    assert body["data"]["recordCareContact"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "dispensations" in body["errors"][0]["message"]
    written = await conn.scalar(
        text("SELECT count(*) FROM care_contact WHERE patient_id = :p AND care_unit_id = :u"),
        {"p": region.patient.id, "u": unit.id},
    )
    assert written == 0
    denied = await reasons(conn, region.patient, "deny")
    assert any("only dispensations" in r for r in denied)


async def test_no_expedition_basis_outside_a_pharmacy_or_for_other_roles(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    provider, unit = await pharmacy(conn)
    doctor_at_pharmacy = await staff(conn, unit)
    token = clinician_token(settings, doctor_at_pharmacy, unit, provider, role="läkare")
    assert await ask(client, token, region.patient) is None
    # A pharmacist's role at a unit that is not a pharmacy is no basis either.
    other = await create_unit(conn, region.provider, kind="primary_care")
    pharmacist = await staff(conn, other, "farmaceut")
    token = clinician_token(settings, pharmacist, other, region.provider, role="apotekare")
    assert await ask(client, token, region.patient) is None
    denied = await reasons(conn, region.patient, "deny")
    assert denied and all("care relationship" in r for r in denied)


# --- care relationship: started by care itself ---------------------------------------------

START = """
mutation ($input: StartCareRelationshipInput!) {
  startCareRelationship(input: $input) {
    careRelationship { validTo active careUnit { hsaId } }
    userErrors { field code }
  }
}
"""


async def test_start_care_relationship_opens_the_record_until_its_end(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    ward = await create_unit(conn, region.provider, kind="specialist")
    nurse = await staff(conn, ward, "sjuksköterska")
    token = clinician_token(settings, nurse, ward, region.provider, role="sjuksköterska")
    assert await ask(client, token, region.patient) is None
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    body = await call(
        client,
        START,
        {"input": {"patientId": patient_gid(region.patient), "validTo": until}},
        token=token,
    )
    payload = body["data"]["startCareRelationship"]
    assert errors_of(payload) == []
    assert payload["careRelationship"]["active"] is True
    assert payload["careRelationship"]["careUnit"]["hsaId"] == ward.hsa_id
    seen = await ask(client, token, region.patient)
    assert seen is not None and seen["careContacts"]["totalCount"] == 1
    writes = await conn.execute(
        text(
            "SELECT resources, reason FROM audit_entry WHERE patient_id = :p AND action = 'write'"
        ),
        {"p": region.patient.id},
    )
    (resources, reason), *_ = writes.all()
    assert resources[0].startswith("CareRelationship:")
    assert reason == "basis: care_relationship"
    assert "basis: care_relationship" in await reasons(conn, region.patient, "read")


async def test_start_care_relationship_refusals(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    gid = patient_gid(region.patient)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    token = clinician_token(settings, region.doctor, region.vc, region.provider)
    body = await call(client, START, {"input": {"patientId": gid, "validTo": past}}, token=token)
    assert errors_of(body["data"]["startCareRelationship"]) == [
        ("input.validTo", "INVALID_DATE_ORDER")
    ]
    far = (datetime.now(UTC) + timedelta(days=4 * 365)).isoformat()
    body = await call(client, START, {"input": {"patientId": gid, "validTo": far}}, token=token)
    assert errors_of(body["data"]["startCareRelationship"]) == [("input.validTo", "INVALID_VALUE")]
    # Patients do not start care relationships; nothing is written.
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = await call(
        client,
        START,
        {"input": {"patientId": gid, "validTo": soon}},
        token=patient_token(settings, region.patient.identifier),
    )
    assert "errors" in body, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    count = await conn.execute(
        text("SELECT count(*) FROM care_relationship WHERE patient_id = :p"),
        {"p": region.patient.id},
    )
    assert count.scalar_one() == 1


async def test_a_recorded_care_contact_implies_a_care_relationship(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    er = await create_unit(conn, region.provider, kind="emergency")
    doctor = await staff(conn, er)
    token = clinician_token(settings, doctor, er, region.provider)
    assert await ask(client, token, region.patient) is None
    body = await call(
        client,
        """mutation ($input: RecordCareContactInput!) { recordCareContact(input: $input) {
             careContact { contactType } userErrors { field code } } }""",
        {
            "input": {
                "patientId": patient_gid(region.patient),
                "contactType": "BESOK",
                "status": "PAGAENDE",
                "periodStart": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            }
        },
        token=token,
    )
    payload = body["data"]["recordCareContact"]
    assert errors_of(payload) == [] and payload["careContact"] is not None
    seen = await ask(client, token, region.patient)
    assert seen is not None and seen["careContacts"]["totalCount"] == 2
    ends = await conn.execute(
        text("SELECT valid_to FROM care_relationship WHERE patient_id = :p AND care_unit_id = :u"),
        {"p": region.patient.id, "u": er.id},
    )
    (valid_to,) = ends.one()
    assert valid_to > datetime.now(UTC) + timedelta(days=150)


# --- municipal home care: its SoL/LSS decisions (A14) --------------------------------------


async def test_home_care_reads_by_its_decision_and_the_patients_consent(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    kommun = await create_provider(conn, kind="kommun", name="Kommunen")
    home_care = await create_unit(conn, kommun, kind="home_care", name="Hemtjänst")
    await create_municipal_decision(
        conn, region.patient, home_care, valid_from=date(2024, 1, 1), valid_to=None
    )
    nurse = await staff(conn, home_care, "sjuksköterska")
    token = clinician_token(settings, nurse, home_care, kommun, role="sjuksköterska")
    seen = await ask(client, token, region.patient)
    # The decision it carries out: the municipality's own records, nothing of the region's.
    assert seen["municipalDecisions"]["totalCount"] == 1
    assert seen["alerts"]["nodes"] == [] and seen["prescriptions"]["totalCount"] == 0
    assert "basis: municipal_decision" in await reasons(conn, region.patient, "read")
    # With the patient's consents the region's alerts and the whole medication list too.
    from tests.factories import create_consent

    await create_consent(conn, region.patient, "svod_access", care_unit_id=home_care.id)
    await create_consent(conn, region.patient, "nll_access", care_unit_id=home_care.id)
    seen = await ask(client, token, region.patient)
    assert len(seen["alerts"]["nodes"]) == 2
    assert seen["prescriptions"]["totalCount"] == 1


async def test_no_municipal_basis_for_a_refused_or_ended_decision(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region = await Region(conn).make()
    kommun = await create_provider(conn, kind="kommun", name="Kommunen")
    home_care = await create_unit(conn, kommun, kind="home_care", name="Hemtjänst")
    await create_municipal_decision(conn, region.patient, home_care, outcome="avslag")
    await create_municipal_decision(
        conn, region.patient, home_care, valid_from=date(2023, 1, 1), valid_to=date(2024, 1, 1)
    )
    nurse = await staff(conn, home_care, "sjuksköterska")
    token = clinician_token(settings, nurse, home_care, kommun, role="sjuksköterska")
    assert await ask(client, token, region.patient) is None
    # A decision carried out by another unit of the municipality is not this unit's basis.
    other = await create_unit(conn, kommun, kind="home_care", name="Hemtjänst Syd")
    await create_municipal_decision(conn, region.patient, other)
    assert await ask(client, token, region.patient) is None


# --- dentists: medication through NLL with the patient's consent ---------------------------

GRANT = """
mutation ($input: GrantNllConsentInput!) {
  grantNllConsent(input: $input) {
    consent { kind givenBy careUnit { hsaId } }
    userErrors { field code }
  }
}
"""


async def dental_world(
    conn: AsyncConnection, settings: Settings
) -> tuple[Region, models.CareUnit, str]:
    region = await Region(conn).make()
    clinic = await create_unit(conn, region.provider, kind="dental", name="Folktandvården")
    await create_care_relationship(conn, region.patient, clinic)
    dentist = await staff(conn, clinic, "tandläkare")
    token = clinician_token(settings, dentist, clinic, region.provider, role="tandläkare")
    return region, clinic, token


async def test_dentist_reads_medication_after_recording_the_spoken_nll_consent(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region, clinic, token = await dental_world(conn, settings)
    seen = await ask(client, token, region.patient)
    assert seen["prescriptions"]["totalCount"] == 0  # not the dentist's own prescriptions
    body = await call(
        client, GRANT, {"input": {"patientId": patient_gid(region.patient)}}, token=token
    )
    payload = body["data"]["grantNllConsent"]
    assert errors_of(payload) == []
    assert payload["consent"]["kind"] == "NLL_ACCESS"
    assert payload["consent"]["careUnit"]["hsaId"] == clinic.hsa_id
    seen = await ask(client, token, region.patient)
    assert [n["drugName"] for n in seen["prescriptions"]["nodes"]] == ["Waran"]


async def test_patient_grants_nll_consent_to_a_clinic(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region, clinic, token = await dental_world(conn, settings)
    body = await call(
        client,
        GRANT,
        {"input": {"patientId": patient_gid(region.patient), "careUnitHsaId": clinic.hsa_id}},
        token=patient_token(settings, region.patient.identifier),
    )
    assert errors_of(body["data"]["grantNllConsent"]) == []
    seen = await ask(client, token, region.patient)
    assert seen["prescriptions"]["totalCount"] == 1


async def test_a_clinician_records_nll_consent_for_their_own_unit_only(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    region, _clinic, token = await dental_world(conn, settings)
    body = await call(
        client,
        GRANT,
        {"input": {"patientId": patient_gid(region.patient), "careUnitHsaId": region.vc.hsa_id}},
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    seen = await ask(client, token, region.patient)
    assert seen["prescriptions"]["totalCount"] == 0
