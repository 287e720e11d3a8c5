"""A1-A5: inner secrecy, inner and outer blocks, SVOD consent, block exceptions and lifts.

Every rule has an allowed and a denied case, read through DataAccess with real rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit, models
from app.access.principal import Purpose
from tests import factories as f
from tests.integration.privacy_world import (
    LAST_YEAR,
    NEXT_YEAR,
    NOW,
    build_world,
    data_access,
    doc_names,
    visible_ids,
)
from tests.sqlcount import count_statements

# --- A1 inner secrecy -------------------------------------------------------------------


async def test_a1_assignment_and_relationship_allow_own_provider(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    data = data_access(conn, w.clinician())
    assert await data.visible_patients([w.patient.id]) == {w.patient.id}
    # Own provider: both units; other providers need consent (A4).
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2"}


async def test_a1_no_care_relationship_denies_and_logs(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    stranger = await f.create_patient(conn)
    await f.create_clinical(conn, models.CareDocument, stranger, w.u)
    principal = w.clinician()
    data = data_access(conn, principal)
    assert await visible_ids(conn, principal, models.CareDocument, [stranger.id], data) == set()
    assert await data.visible_patients([stranger.id]) == set()
    await audit.flush(conn, data.audit, principal, "A1")
    logged = await conn.execute(
        text("SELECT outcome, reason FROM audit_entry WHERE patient_id = :p"), {"p": stranger.id}
    )
    assert [tuple(r) for r in logged] == [
        ("denied", "no current care relationship at the unit (A1)")
    ]


async def test_a1_expired_relationship_or_assignment_denies(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    other = await f.create_patient(conn)
    await f.create_care_relationship(conn, other, w.u, valid_to=NOW - timedelta(days=1))
    await f.create_clinical(conn, models.CareDocument, other, w.u)
    assert await visible_ids(conn, w.clinician(), models.CareDocument, [other.id]) == set()
    # X's only assignment at U2 ended yesterday.
    await f.create_assignment(conn, w.x, w.u2, valid_to=date.today() - timedelta(days=1))
    at_u2 = w.clinician(care_unit_hsa_id=w.u2.hsa_id)
    await f.create_care_relationship(conn, w.patient, w.u2)
    assert await doc_names(conn, w, at_u2) == set()


async def test_a1_token_must_match_unit_provider_and_purpose(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    # The unit does not belong to the provider named in the token.
    assert await doc_names(conn, w, w.clinician(care_provider_hsa_id=w.b.hsa_id)) == set()
    # Clinicians read records for care only.
    assert await doc_names(conn, w, w.clinician(purpose=Purpose.RESEARCH)) == set()
    # A named assignment must be the active one.
    wrong = w.clinician(assignment_id="00000000-0000-0000-0000-000000000000")
    assert await doc_names(conn, w, wrong) == set()


# --- A2 inner block -----------------------------------------------------------------------


async def test_a2_inner_block_hides_unit_from_rest_of_provider(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    assert await doc_names(conn, w, w.clinician()) == {"u"}


async def test_a2_inner_block_does_not_hide_from_the_unit_itself(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    await f.create_assignment(conn, w.x, w.u2)
    await f.create_care_relationship(conn, w.patient, w.u2)
    assert await doc_names(conn, w, w.clinician(care_unit_hsa_id=w.u2.hsa_id)) == {"u", "u2"}


async def test_a2_block_period_covers_only_its_records(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    # The documents are from 2024-03-01; a block on records from 2025 leaves them visible.
    await f.create_block(
        conn,
        w.patient,
        "inner",
        w.a,
        care_unit_id=w.u2.id,
        records_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2"}


async def test_a2_lifted_block_no_longer_hides(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id, lifted_at=NOW)
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2"}


# --- A3 outer block, A4 consent -----------------------------------------------------------


async def test_a4_consent_for_unit_opens_other_providers(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2", "v", "h"}


async def test_a4_consent_for_the_user_counts(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", practitioner_id=w.x.id)
    assert "v" in await doc_names(conn, w, w.clinician())


async def test_a4_revoked_expired_or_other_units_consent_does_not(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id, revoked_at=NOW)
    await f.create_consent(
        conn, w.patient, "svod_access", care_unit_id=w.u.id, valid_to=NOW - timedelta(days=1)
    )
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u2.id)
    await f.create_consent(
        conn, w.patient, "svod_access", care_unit_id=w.u.id, valid_from=NEXT_YEAR
    )
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2"}


async def test_a4_needs_purpose_treat(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    # ETREAT without a reason is not emergency access (auth rejects it; the policy too).
    assert await doc_names(conn, w, w.clinician(purpose=Purpose.ETREAT)) == {"u", "u2"}


async def test_a3_outer_block_hides_provider_from_others(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await f.create_block(conn, w.patient, "outer", w.b)
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2", "h"}


async def test_a3_outer_block_does_not_hide_from_the_provider_itself(
    conn: AsyncConnection,
) -> None:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "outer", w.a)
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2"}


async def test_a3_inner_blocked_records_are_not_shared_either(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await f.create_block(conn, w.patient, "inner", w.b, care_unit_id=w.v.id)
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2", "h"}


# --- A5 exceptions and temporary lifts ---------------------------------------------------


async def test_a5_alerts_excepted_from_block_stay_visible(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await f.create_block(conn, w.patient, "outer", w.b, except_alerts=True)
    alert = await f.create_clinical(conn, models.Alert, w.patient, w.v)
    principal = w.clinician()
    assert await visible_ids(conn, principal, models.Alert, [w.patient.id]) == {alert.id}
    assert "v" not in await doc_names(conn, w, principal)


async def test_a5_alerts_not_excepted_are_blocked(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    await f.create_block(conn, w.patient, "outer", w.b, except_medication=True)
    await f.create_clinical(conn, models.Alert, w.patient, w.v)
    assert await visible_ids(conn, w.clinician(), models.Alert, [w.patient.id]) == set()


async def test_a5_medication_excepted_from_block(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "nll_access", care_provider_id=w.a.id)
    rx = await f.create_clinical(conn, models.Prescription, w.patient, w.v)
    await f.create_block(conn, w.patient, "outer", w.b, except_medication=True)
    assert await visible_ids(conn, w.clinician(), models.Prescription, [w.patient.id]) == {rx.id}


async def test_a5_medication_blocked_without_exception(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "nll_access", care_provider_id=w.a.id)
    await f.create_clinical(conn, models.Prescription, w.patient, w.v)
    await f.create_block(conn, w.patient, "outer", w.b)
    assert await visible_ids(conn, w.clinician(), models.Prescription, [w.patient.id]) == set()


async def test_a5_temporary_lift_for_unit_until_date(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    block = await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    await f.create_consent(
        conn, w.patient, "block_lift", block_id=block.id, care_unit_id=w.u.id, valid_to=NEXT_YEAR
    )
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2"}


async def test_a5_expired_or_other_units_lift_does_not(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    block = await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    await f.create_consent(
        conn, w.patient, "block_lift", block_id=block.id, care_unit_id=w.u.id, valid_to=LAST_YEAR
    )
    await f.create_consent(conn, w.patient, "block_lift", block_id=block.id, care_unit_id=w.v.id)
    assert await doc_names(conn, w, w.clinician()) == {"u"}


# --- batching ------------------------------------------------------------------------------


async def test_decisions_cost_a_fixed_number_of_statements(conn: AsyncConnection) -> None:
    """One decision per batch: deciding 1 or 25 patients issues the same statements."""
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    many = [w.patient]
    for _ in range(24):
        p = await f.create_patient(conn)
        await f.create_care_relationship(conn, p, w.u)
        await f.create_consent(conn, p, "svod_access", care_unit_id=w.u.id)
        await f.create_block(conn, p, "outer", w.b)
        many.append(p)
    counts = []
    for batch in ([w.patient], many):
        async with count_statements(conn) as statements:
            data = data_access(conn, w.clinician())
            await data.access([p.id for p in batch])
        counts.append(len(statements))
    # The clinician's assignment with the patients' facts, the municipal reference data (A14).
    assert counts[0] == counts[1] == 2
