"""A5: medication is covered by a block unless the block excepts it. A dispensation recorded at
a pharmacy of prescriptions written at a blocked provider is hidden like the prescription; a
medication exception, the block's period, or the pharmacy's own provider decide as for the
prescription. Checked as the ER-style clinician X at U (provider A), with NLL consent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from app import models
from tests import factories as f
from tests.integration.privacy_world import World, build_world, visible_ids

WRITTEN = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


async def prescribed_at_v(
    conn: AsyncConnection,
) -> tuple[World, models.Prescription, models.Dispensation]:
    """A prescription written at V (provider B), dispensed at a pharmacy of provider C; X at U
    has the patient's NLL consent (all medication, A11) and SVOD consent (A4)."""
    w = await build_world(conn)
    c = await f.create_provider(conn, name="Apotek C", kind="privat", public=False)
    pharmacy = await f.create_unit(conn, c, name="Apoteket C", kind="pharmacy")
    rx = await f.create_prescription(conn, w.patient, w.v, event_time=WRITTEN)
    dispensed = await f.create_dispensation(conn, rx, pharmacy)
    await f.create_consent(conn, w.patient, "nll_access", care_unit_id=w.u.id)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    return w, rx, dispensed


async def medication_seen(conn: AsyncConnection, w: World) -> tuple[bool, bool]:
    """(prescription seen, dispensation seen) by X at U."""
    principal = w.clinician()
    prescriptions = await visible_ids(conn, principal, models.Prescription, [w.patient.id])
    dispensations = await visible_ids(conn, principal, models.Dispensation, [w.patient.id])
    return bool(prescriptions), bool(dispensations)


async def test_without_a_block_both_are_shown(conn: AsyncConnection) -> None:
    w, _, _ = await prescribed_at_v(conn)
    assert await medication_seen(conn, w) == (True, True)


async def test_block_on_the_prescriber_hides_the_pharmacys_dispensations(
    conn: AsyncConnection,
) -> None:
    w, _, _ = await prescribed_at_v(conn)
    await f.create_block(conn, w.patient, "outer", w.b)
    assert await medication_seen(conn, w) == (False, False)


async def test_inner_block_on_the_prescribing_unit_hides_them_too(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    c = await f.create_provider(conn, name="Apotek C", kind="privat", public=False)
    pharmacy = await f.create_unit(conn, c, name="Apoteket C", kind="pharmacy")
    rx = await f.create_prescription(conn, w.patient, w.u2, event_time=WRITTEN)
    await f.create_dispensation(conn, rx, pharmacy)
    await f.create_consent(conn, w.patient, "nll_access", care_unit_id=w.u.id)
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    assert await medication_seen(conn, w) == (False, False)


async def test_medication_exception_keeps_both_visible(conn: AsyncConnection) -> None:
    w, _, _ = await prescribed_at_v(conn)
    await f.create_block(conn, w.patient, "outer", w.b, except_medication=True)
    assert await medication_seen(conn, w) == (True, True)


async def test_block_period_is_the_prescriptions(conn: AsyncConnection) -> None:
    w, _, _ = await prescribed_at_v(conn)
    await f.create_block(
        conn, w.patient, "outer", w.b, records_to=datetime(2023, 12, 31, tzinfo=UTC)
    )
    assert await medication_seen(conn, w) == (True, True)
    await f.create_block(
        conn, w.patient, "outer", w.b, records_from=datetime(2024, 1, 1, tzinfo=UTC)
    )
    assert await medication_seen(conn, w) == (False, False)


async def test_temporary_lift_shows_them_again(conn: AsyncConnection) -> None:
    w, _, _ = await prescribed_at_v(conn)
    block = await f.create_block(conn, w.patient, "outer", w.b)
    await f.create_consent(conn, w.patient, "block_lift", block_id=block.id, care_unit_id=w.u.id)
    assert await medication_seen(conn, w) == (True, True)


async def test_block_on_another_provider_leaves_them_visible(conn: AsyncConnection) -> None:
    w, _, _ = await prescribed_at_v(conn)
    await f.create_block(conn, w.patient, "outer", w.k)
    assert await medication_seen(conn, w) == (True, True)
