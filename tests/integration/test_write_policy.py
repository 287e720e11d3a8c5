"""Who may write the record (the hook every clinical mutation calls: ensure_may_write)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.principal import Principal, PrincipalKind, Purpose
from tests import factories as f
from tests.integration.privacy_world import build_world, data_access


async def test_clinician_writes_at_own_unit_with_assignment(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    data = data_access(conn, w.clinician())
    assert await data.write_denial(w.patient.id, w.u.id) is None
    assert await data.write_denial(None, None) is None  # registering a new patient


async def test_clinician_may_not_write_elsewhere_or_without_assignment(
    conn: AsyncConnection,
) -> None:
    w = await build_world(conn)
    data = data_access(conn, w.clinician())
    assert await data.write_denial(w.patient.id, w.u2.id) == (
        "a clinician writes at their own unit only"
    )
    stranger = await f.create_practitioner(conn)
    other = data_access(conn, w.clinician(subject=stranger.hsa_id))
    assert await other.write_denial(w.patient.id, w.u.id) == (
        "no active assignment at the unit (A1)"
    )
    admin = data_access(conn, w.clinician(purpose=Purpose.ADMIN))
    assert await admin.write_denial(w.patient.id, w.u.id) is not None


async def test_only_clinicians_and_systems_write(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    system = Principal(kind=PrincipalKind.SYSTEM, subject="integration")
    patient = Principal(
        kind=PrincipalKind.PATIENT,
        subject=w.patient.identifier,
        person_identifier=w.patient.identifier,
    )
    assert await data_access(conn, system).write_denial(w.patient.id, w.v.id) is None
    assert await data_access(conn, patient).write_denial(w.patient.id, w.u.id) == (
        "a patient may not write to the record"
    )
