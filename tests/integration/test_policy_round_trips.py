"""The policy's decision in one round trip: the statement that reads the clinician's assignment
with the patients' facts (and finds a patient by personnummer on the way), and the one that
reads a patient's own row with the record asked for, decide exactly as the separate
statements do, for every kind of principal and patient here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from app.access.care import CarePolicy
from app.access.principal import Principal, PrincipalKind, Purpose
from app.models.base import utcnow
from resolvers.patients import PERSON_NUMBER_KINDS
from tests import factories as f
from tests.integration.privacy_world import aged, build_world
from tests.sqlcount import count_statements


async def separately(
    conn: AsyncConnection, principal: Principal, patient_id: uuid.UUID, now: Any
) -> Any:
    """The decision with the principal resolved first (its own statement), then the facts."""
    policy = CarePolicy(now=now)
    if principal.kind is PrincipalKind.CLINICIAN:
        await policy.clinician(conn, principal)
    else:
        await policy.person(conn, principal)
    decided = await policy.decide(conn, principal, [patient_id])
    return decided[patient_id]


async def world_of_patients(conn: AsyncConnection) -> tuple[Any, list[models.Patient]]:
    w = await build_world(conn)
    # Shared with consent, blocked at another provider, at the municipality's home care.
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await f.create_block(conn, w.patient, "outer", w.b)
    await f.create_municipal_decision(conn, w.patient, w.h)
    protected = await f.create_patient(conn, protected_identity=True)
    await f.create_care_relationship(conn, protected, w.u)
    stranger = await f.create_patient(conn)
    child = await f.create_patient(conn, birth_date=aged(15))
    await f.create_care_relationship(conn, child, w.u)
    return w, [w.patient, protected, stranger, child]


async def test_a_clinician_is_decided_in_one_statement_as_in_two(conn: AsyncConnection) -> None:
    w, patients = await world_of_patients(conn)
    nurse = await f.create_practitioner(conn)
    await f.create_assignment(conn, nurse, w.h, role="sjukskoterska")
    clinicians = [
        w.clinician(),
        w.clinician(purpose=Purpose.ETREAT, emergency_reason="medvetslös"),
        # No assignment at V: denied, however the patient is found.
        w.clinician(care_unit_hsa_id=w.v.hsa_id, care_provider_hsa_id=w.b.hsa_id),
        w.clinician(
            subject=nurse.hsa_id, care_unit_hsa_id=w.h.hsa_id, care_provider_hsa_id=w.k.hsa_id
        ),
    ]
    now = utcnow()
    for principal in clinicians:
        for patient in patients:
            expected = await separately(conn, principal, patient.id, now)
            merged = CarePolicy(now=now)
            async with count_statements(conn) as statements:
                decided = await merged.decide(conn, principal, [patient.id])
            assert decided[patient.id] == expected, (principal, patient.id)
            # The assignment with the facts, and the reference data where records are shared.
            assert len(statements) in (1, 2)
            found = await CarePolicy(now=now).decide_identified(
                conn, principal, patient.identifier, PERSON_NUMBER_KINDS
            )
            assert found == (patient.id, {patient.id: expected}), (principal, patient.id)
    unknown = await CarePolicy(now=now).decide_identified(
        conn, w.clinician(), f.personnummer(), PERSON_NUMBER_KINDS
    )
    assert unknown == (None, {})


async def test_a_patient_is_decided_in_one_statement_as_in_two(conn: AsyncConnection) -> None:
    _, patients = await world_of_patients(conn)
    now = utcnow()
    for me in patients:
        principal = Principal(
            kind=PrincipalKind.PATIENT,
            subject=me.identifier,
            purpose=Purpose.PATRQT,
            person_identifier=me.identifier,
        )
        for patient in patients:
            expected = await separately(conn, principal, patient.id, now)
            policy = CarePolicy(now=now)
            async with count_statements(conn) as statements:
                found = await policy.decide_identified(
                    conn, principal, patient.identifier, PERSON_NUMBER_KINDS
                )
            assert found == (patient.id, {patient.id: expected}), (me.id, patient.id)
            assert len(statements) == 1
            # The person's own row is known for the rest of the request.
            async with count_statements(conn) as again:
                assert await policy.person(conn, principal) == me.id
            assert again == []
