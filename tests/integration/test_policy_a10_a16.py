"""A10-A16: the patient-app view and its age rules, NLL, logging of denials, municipal
sharing, research and protected identity. (A13's log extract: test_access_log.py.)"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit, models
from app.access.principal import Principal, PrincipalKind, Purpose
from tests import factories as f
from tests.integration.privacy_world import (
    aged,
    build_world,
    data_access,
    ensure_municipality,
    visible_ids,
)


def patient_principal(patient: models.Patient) -> Principal:
    return Principal(
        kind=PrincipalKind.PATIENT,
        subject=patient.identifier,
        purpose=Purpose.PATRQT,
        person_identifier=patient.identifier,
    )


def proxy_principal(proxy: models.Patient, represented: models.Patient | None = None) -> Principal:
    return Principal(
        kind=PrincipalKind.PROXY,
        subject=proxy.identifier,
        purpose=Purpose.PATRQT,
        person_identifier=proxy.identifier,
        represented_identifier=represented.identifier if represented else None,
    )


async def person_with_docs(
    conn: AsyncConnection, born: date
) -> tuple[models.Patient, uuid.UUID, uuid.UUID]:
    """A patient with one document approved for the patient and one that is not."""
    provider = await f.create_provider(conn)
    unit = await f.create_unit(conn, provider)
    patient = await f.create_patient(conn, birth_date=born)
    approved = await f.create_clinical(conn, models.CareDocument, patient, unit)
    hidden = await f.create_clinical(
        conn, models.CareDocument, patient, unit, approved_for_patient=False
    )
    return patient, approved.id, hidden.id


async def docs_for(
    conn: AsyncConnection, principal: Principal, patient: models.Patient
) -> set[uuid.UUID]:
    return await visible_ids(conn, principal, models.CareDocument, [patient.id])


# --- A10 patient app ----------------------------------------------------------------------


async def test_a10_patient_sees_only_approved_items(conn: AsyncConnection) -> None:
    patient, approved, _hidden = await person_with_docs(conn, aged(30))
    assert await docs_for(conn, patient_principal(patient), patient) == {approved}


async def test_a10_patient_sees_no_other_patient(conn: AsyncConnection) -> None:
    patient, _approved, _ = await person_with_docs(conn, aged(30))
    other, _, _ = await person_with_docs(conn, aged(30))
    assert await docs_for(conn, patient_principal(patient), other) == set()


async def test_a10_child_reads_own_record_from_16(conn: AsyncConnection) -> None:
    sixteen, approved, _ = await person_with_docs(conn, aged(16))
    fifteen, _, _ = await person_with_docs(conn, aged(16, days=1))
    assert await docs_for(conn, patient_principal(sixteen), sixteen) == {approved}
    assert await docs_for(conn, patient_principal(fifteen), fifteen) == set()


async def test_a10_guardian_reads_child_to_12(conn: AsyncConnection) -> None:
    parent = await f.create_patient(conn, birth_date=aged(40))
    child, approved, _ = await person_with_docs(conn, aged(12))
    await f.create_representative(conn, child, parent, "guardian")
    assert await docs_for(conn, proxy_principal(parent, child), child) == {approved}


async def test_a10_guardian_not_from_13(conn: AsyncConnection) -> None:
    parent = await f.create_patient(conn, birth_date=aged(40))
    child, _, _ = await person_with_docs(conn, aged(13))
    await f.create_representative(conn, child, parent, "guardian")
    principal = proxy_principal(parent, child)
    data = data_access(conn, principal)
    assert await visible_ids(conn, principal, models.CareDocument, [child.id], data) == set()
    await audit.flush(conn, data.audit, principal, None)
    reason = await conn.execute(
        text("SELECT reason FROM audit_entry WHERE patient_id = :p"), {"p": child.id}
    )
    assert reason.scalar() == "A10: no guardian access at this age"


async def test_a10_power_of_attorney_reads_adult(conn: AsyncConnection) -> None:
    holder = await f.create_patient(conn, birth_date=aged(50))
    adult, approved, _ = await person_with_docs(conn, aged(80))
    await f.create_representative(conn, adult, holder, "power_of_attorney")
    assert await docs_for(conn, proxy_principal(holder, adult), adult) == {approved}


async def test_a10_proxy_without_relation_or_expired_sees_nothing(conn: AsyncConnection) -> None:
    holder = await f.create_patient(conn, birth_date=aged(50))
    adult, _, _ = await person_with_docs(conn, aged(80))
    await f.create_representative(
        conn, adult, holder, "power_of_attorney", valid_to=date(2020, 1, 1)
    )
    assert await docs_for(conn, proxy_principal(holder, adult), adult) == set()
    assert await docs_for(conn, proxy_principal(holder), adult) == set()


# --- A11 NLL ------------------------------------------------------------------------------


async def test_a11_clinician_sees_own_prescriptions_only(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    mine = await f.create_clinical(
        conn, models.Prescription, w.patient, w.u, accountable_practitioner_id=w.x.id
    )
    await f.create_clinical(conn, models.Prescription, w.patient, w.u)
    own_dispensation = await f.create_clinical(
        conn, models.Dispensation, w.patient, w.v, prescription_id=mine.id,
        amount=Decimal(1), article_name="Kåvepenin 800 mg",
    )  # fmt: skip
    principal = w.clinician()
    assert await visible_ids(conn, principal, models.Prescription, [w.patient.id]) == {mine.id}
    assert await visible_ids(conn, principal, models.Dispensation, [w.patient.id]) == {
        own_dispensation.id
    }


async def test_a11_nll_consent_shows_all(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "nll_access", care_unit_id=w.u.id)
    ids = {
        (await f.create_clinical(conn, models.Prescription, w.patient, unit)).id
        for unit in (w.u, w.u2, w.v)
    }
    assert await visible_ids(conn, w.clinician(), models.Prescription, [w.patient.id]) == ids


async def test_a11_patient_sees_all_own_prescriptions(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    ids = {
        (await f.create_clinical(conn, models.Prescription, w.patient, unit)).id
        for unit in (w.u, w.v)
    }
    assert (
        await visible_ids(conn, patient_principal(w.patient), models.Prescription, [w.patient.id])
        == ids
    )


# --- A12 logging --------------------------------------------------------------------------


async def test_a12_disclosures_and_denials_in_one_entry_per_patient(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    stranger = await f.create_patient(conn)
    principal = w.clinician()
    data = data_access(conn, principal)
    t = models.CareDocument.__table__  # type: ignore[attr-defined]
    predicate = await data.visibility(t, [w.patient.id, stranger.id])
    rows = await data.fetch(select(t).where(predicate), disclose="CareDocument")
    assert len(rows) == 2
    assert await audit.flush(conn, data.audit, principal, "Chart") == 2
    logged = await conn.execute(
        text(
            "SELECT patient_id, outcome, principal_id, care_unit_hsa_id, care_provider_hsa_id,"
            " purpose, jsonb_array_length(resources) FROM audit_entry ORDER BY id"
        )
    )
    assert {tuple(r) for r in logged} == {
        (w.patient.id, "disclosed", w.x.hsa_id, w.u.hsa_id, w.a.hsa_id, "TREAT", 2),
        (stranger.id, "denied", w.x.hsa_id, w.u.hsa_id, w.a.hsa_id, "TREAT", 0),
    }


# --- A14 municipal sharing ----------------------------------------------------------------


async def test_a14_municipal_elderly_and_lss_records_are_shared(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await ensure_municipality(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    decision = await f.create_clinical(conn, models.MunicipalDecision, w.patient, w.h)
    seen = await visible_ids(conn, w.clinician(), models.MunicipalDecision, [w.patient.id])
    assert seen == {decision.id}


async def test_a14_other_municipal_records_are_not(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await ensure_municipality(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await conn.execute(
        text(
            "INSERT INTO insats (code, framework, name, elderly_or_disability)"
            " VALUES ('SOL-MISSBRUK', 'sol', 'missbruksvård', false)"
        )
    )
    kept = await f.create_clinical(conn, models.MunicipalDecision, w.patient, w.h)
    hidden = await f.create_clinical(
        conn, models.MunicipalDecision, w.patient, w.h, insats_code="SOL-MISSBRUK"
    )
    ifo = await f.create_unit(conn, w.k, name="Individ- och familjeomsorg", kind="primary_care")
    await f.create_clinical(conn, models.CareDocument, w.patient, ifo)
    principal = w.clinician()
    seen = await visible_ids(conn, principal, models.MunicipalDecision, [w.patient.id])
    assert seen == {kept.id}
    assert hidden.id not in seen
    docs = await visible_ids(conn, principal, models.CareDocument, [w.patient.id])
    assert docs == set(w.docs.values())


# --- A15 research -------------------------------------------------------------------------


def research_principal(client: str = "research-test", study: uuid.UUID | None = None) -> Principal:
    return Principal(
        kind=PrincipalKind.RESEARCH, subject=client, client_id=client, purpose=Purpose.RESEARCH,
        study_id=study,
    )  # fmt: skip


async def test_a15_opted_in_patients_pseudonymised_per_study(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    study = await f.create_research_study(conn)
    other = await f.create_research_study(conn, name="Andra studien")
    for s in (study, other):
        await f.create_consent(conn, w.patient, "research", research_study_id=s.id)
    principal = research_principal(study=study.id)
    data = data_access(conn, principal)
    docs = await visible_ids(conn, principal, models.CareDocument, [w.patient.id], data)
    assert docs == set(w.docs.values())
    # No identity: not findable as a patient; a stable pseudonym per study instead.
    assert await data.visible_patients([w.patient.id]) == set()
    alias = data.pseudonym(w.patient.id)
    assert alias == data_access(conn, principal).pseudonym(w.patient.id)
    # The same client's other study, with the same patient, cannot link the two.
    assert alias != data_access(conn, research_principal(study=other.id)).pseudonym(w.patient.id)
    assert str(w.patient.id) not in alias and w.patient.identifier not in alias


async def test_a15_no_consent_no_approval_or_another_study_sees_nothing(
    conn: AsyncConnection,
) -> None:
    w = await build_world(conn)
    study = await f.create_research_study(conn)
    unapproved = await f.create_research_study(
        conn, client_id="research-later", approved_on=date(2999, 1, 1)
    )
    opted_out = await f.create_research_study(conn, name="Ingen har samtyckt")
    counts_only = await f.create_research_study(conn, allows_record_access=False)
    await f.create_consent(conn, w.patient, "research", research_study_id=unapproved.id)
    await f.create_consent(conn, w.patient, "research", research_study_id=counts_only.id)
    for principal in (
        research_principal(study=study.id),
        research_principal("research-later", unapproved.id),
        research_principal(study=opted_out.id),
        research_principal(study=counts_only.id),  # opted in, but no record access
        research_principal("someone-else", counts_only.id),  # not the client's study
    ):
        assert await visible_ids(conn, principal, models.CareDocument, [w.patient.id]) == set()


# --- A16 protected identity ---------------------------------------------------------------


async def address_seen(
    conn: AsyncConnection, principal: Principal, patient: models.Patient
) -> object:
    data = data_access(conn, principal)
    t = models.Patient.__table__  # type: ignore[attr-defined]
    predicate = await data.visibility(t, [patient.id])
    rows = await data.fetch(select(t).where(predicate), disclose="Patient")
    return rows[0]["street_address"] if rows else "no row"


async def test_a16_address_shown_without_protection(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await conn.execute(
        text("UPDATE patient SET street_address = 'Gatan 1' WHERE id = :p"), {"p": w.patient.id}
    )
    assert await address_seen(conn, w.clinician(), w.patient) == "Gatan 1"


async def test_a16_protected_address_is_never_exposed(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await conn.execute(
        text(
            "UPDATE patient SET street_address = 'Hemlig 1', protected_identity = true"
            " WHERE id = :p"
        ),
        {"p": w.patient.id},
    )
    assert await address_seen(conn, w.clinician(), w.patient) is None
    system = Principal(kind=PrincipalKind.SYSTEM, subject="integration", purpose=Purpose.ADMIN)
    assert await address_seen(conn, system, w.patient) is None
    assert await data_access(conn, w.clinician()).may_see_address(w.patient.id) is False
