"""A6-A9: emergency access in two steps, the blocked-elsewhere hint, patients lacking
capacity, and who may manage blocks."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app import audit
from app.access import rules
from app.access.principal import Principal, PrincipalKind, Purpose
from tests import factories as f
from tests.integration.privacy_world import NOW, World, build_world, data_access, doc_names

REASON = "Medvetslös vid ankomst, okänd medicinering"


def emergency(w: World) -> Principal:
    return w.clinician(purpose=Purpose.ETREAT, emergency_reason=REASON)


async def blocked_world(conn: AsyncConnection) -> World:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "outer", w.b)
    return w


# --- A6 emergency access ------------------------------------------------------------------


async def test_a6_emergency_waives_consent_but_not_blocks(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    # No consent at all: unblocked records of other providers open, blocked ones do not.
    assert await doc_names(conn, w, emergency(w)) == {"u", "u2", "h"}


async def test_a6_step1_names_providers_and_step2_opens_content(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    principal = emergency(w)
    data = data_access(conn, principal)
    assert await data.emergency_blocked_providers(w.patient.id) == [w.b.id]
    await audit.flush(conn, data.audit, principal, "EmergencyStep1")
    step1 = await conn.execute(
        text("SELECT action, review_required, resources FROM audit_entry WHERE patient_id = :p"),
        {"p": w.patient.id},
    )
    assert [tuple(r) for r in step1] == [("emergency_step1", True, [f"CareProvider:{w.b.id}"])]
    # Step 2, a later request by the same user: the blocked content is there, flagged.
    principal2 = emergency(w)
    data2 = data_access(conn, principal2)
    assert await doc_names(conn, w, principal2) == {"u", "u2", "v", "h"}
    await data2.visible_patients([w.patient.id])
    data2.audit.disclose(w.patient.id, "Patient", w.patient.id)
    await audit.flush(conn, data2.audit, principal2, "EmergencyOverview")
    last = await conn.execute(
        text(
            "SELECT action, reason, review_required FROM audit_entry"
            " WHERE patient_id = :p ORDER BY id DESC LIMIT 1"
        ),
        {"p": w.patient.id},
    )
    assert tuple(last.one()) == ("emergency", REASON, True)


async def test_a6_step2_needs_step1_by_the_same_user(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    colleague = await f.create_practitioner(conn)
    await f.create_assignment(conn, colleague, w.u)
    other = emergency(w)
    other = Principal(**{**other.__dict__, "subject": colleague.hsa_id})
    data = data_access(conn, other)
    await data.emergency_blocked_providers(w.patient.id)
    await audit.flush(conn, data.audit, other, "EmergencyStep1")
    assert "v" in await doc_names(conn, w, other)
    assert "v" not in await doc_names(conn, w, emergency(w))


async def test_a6_step1_denied_without_emergency_purpose(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    principal = w.clinician()
    data = data_access(conn, principal)
    assert await data.emergency_blocked_providers(w.patient.id) is None
    await audit.flush(conn, data.audit, principal, None)
    logged = await conn.execute(
        text("SELECT outcome FROM audit_entry WHERE patient_id = :p"), {"p": w.patient.id}
    )
    assert [r[0] for r in logged] == ["denied"]


async def test_a6_does_not_open_inner_blocks_of_own_provider(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    principal = emergency(w)
    data = data_access(conn, principal)
    assert await data.emergency_blocked_providers(w.patient.id) == []
    await audit.flush(conn, data.audit, principal, None)
    assert "u2" not in await doc_names(conn, w, emergency(w))


async def test_a6_still_needs_inner_secrecy(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    stranger = await f.create_patient(conn)
    data = data_access(conn, emergency(w))
    assert await data.emergency_blocked_providers(stranger.id) is None


# --- A7 blocked information elsewhere -----------------------------------------------------


async def test_a7_user_learns_that_but_not_where(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    data = data_access(conn, w.clinician())
    assert await data.blocked_information_elsewhere(w.patient.id) is True
    assert await data.emergency_blocked_providers(w.patient.id) is None


async def test_a7_no_hint_without_blocks_elsewhere(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    # An inner block at the user's own provider is not "at another provider".
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u2.id)
    data = data_access(conn, w.clinician())
    assert await data.blocked_information_elsewhere(w.patient.id) is False


async def test_a7_no_hint_without_access(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    data = data_access(conn, w.clinician(care_unit_hsa_id=w.u2.hsa_id))
    assert await data.blocked_information_elsewhere(w.patient.id) is None


# --- A8 patient lacking capacity ----------------------------------------------------------


async def test_a8_documented_lack_of_capacity_counts_as_consent(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(
        conn, w.patient, "svod_access", care_unit_id=w.u.id, given_by=rules.LACKS_CAPACITY
    )
    assert "v" in await doc_names(conn, w, w.clinician())


async def test_a8_not_when_patient_objected_before(conn: AsyncConnection) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id, revoked_at=NOW)
    await f.create_consent(
        conn, w.patient, "svod_access", care_unit_id=w.u.id, given_by=rules.LACKS_CAPACITY
    )
    assert "v" not in await doc_names(conn, w, w.clinician())


async def test_a8_does_not_override_blocks(conn: AsyncConnection) -> None:
    w = await blocked_world(conn)
    await f.create_consent(
        conn, w.patient, "svod_access", care_unit_id=w.u.id, given_by=rules.LACKS_CAPACITY
    )
    assert await doc_names(conn, w, w.clinician()) == {"u", "u2", "h"}


# --- A9 guardians cannot block ------------------------------------------------------------


def test_a9_only_the_patient_manages_blocks() -> None:
    patient = Principal(kind=PrincipalKind.PATIENT, subject="p", person_identifier="1")
    guardian = Principal(
        kind=PrincipalKind.PROXY, subject="g", person_identifier="2", represented_identifier="1"
    )
    assert rules.a9_may_manage_blocks(patient)
    assert not rules.a9_may_manage_blocks(guardian)
