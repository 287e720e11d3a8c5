"""A5/A9: who may write blocks, and what each write records. Only the patient places and lifts
blocks; a temporary lifting needs the patient's consent, given by the patient or recorded by a
clinician (given_by clinician_recorded, with their HSA-id). A system integration, a
representative and a research client may do none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from app.tokens import mint
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import World, aged, build_world, doc_names
from tests.integration.test_privacy_mutations import GIVE, LIFT, PLACE, code_of, data, pid
from tests.integration.test_privacy_queries import clinician_token, gql, patient_token

TEMP = """mutation($input: TemporarilyLiftBlockInput!) {
  temporarilyLiftBlock(input: $input) {
    consent { kind givenBy recordedByHsaId }
    consents { id kind givenBy recordedByHsaId block { id } }
    userErrors { field code } } }"""


def until() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def outer_block_on_b(conn: AsyncConnection, w: World) -> str:
    """An outer block on provider B (hides V's document from X at U), with SVOD consent for U."""
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    block = await f.create_block(conn, w.patient, "outer", w.b)
    assert "v" not in await doc_names(conn, w, w.clinician())
    return encode_id("Block", block.id, w.patient.id)


async def count(conn: AsyncConnection, sql: str, **params: Any) -> int:
    return int((await conn.execute(text(sql), params)).scalar() or 0)


async def test_system_integration_may_not_place_lift_or_temporarily_lift(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    block_id = await outer_block_on_b(conn, w)
    system = mint(settings, kind="system", subject="journal-integration")
    place = {"patientId": pid(w), "kind": "OUTER", "careProviderHsaId": w.k.hsa_id}
    assert code_of(await gql(client, PLACE, system, {"input": place})) == "FORBIDDEN"
    assert code_of(await gql(client, LIFT, system, {"id": block_id})) == "FORBIDDEN"
    for target in ({"blockId": block_id}, {"patientId": pid(w)}):
        lift = target | {"careUnitHsaId": w.u.hsa_id, "until": until()}
        assert code_of(await gql(client, TEMP, system, {"input": lift})) == "FORBIDDEN"
    p = w.patient.id
    assert await count(conn, "SELECT count(*) FROM block WHERE patient_id = :p", p=p) == 1
    assert await count(conn, "SELECT count(*) FROM block WHERE lifted_at IS NOT NULL") == 0
    lifts = "SELECT count(*) FROM consent WHERE patient_id = :p AND kind = 'block_lift'"
    assert await count(conn, lifts, p=p) == 0
    denials = "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND outcome = 'denied'"
    assert await count(conn, denials, p=p) == 4
    assert "v" not in await doc_names(conn, w, w.clinician())


async def test_patient_temporary_lift_is_recorded_as_the_patients(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    block_id = await outer_block_on_b(conn, w)
    me = patient_token(settings, w.patient)
    lift = {"blockId": block_id, "careUnitHsaId": w.u.hsa_id, "until": until()}
    payload = data(await gql(client, TEMP, me, {"input": lift}), "temporarilyLiftBlock")
    assert payload["consent"] == {
        "kind": "BLOCK_LIFT",
        "givenBy": "patient",
        "recordedByHsaId": None,
    }
    assert [c["block"]["id"] for c in payload["consents"]] == [block_id]
    assert "v" in await doc_names(conn, w, w.clinician())


async def test_clinician_records_the_patients_consent_to_lift_for_own_unit(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    await outer_block_on_b(conn, w)
    # An inner block on U's own unit does not hide anything from X: not lifted.
    await f.create_block(conn, w.patient, "inner", w.a, care_unit_id=w.u.id)
    token = clinician_token(settings, w)
    lift = {"patientId": pid(w), "careUnitHsaId": w.u.hsa_id, "until": until()}
    payload = data(await gql(client, TEMP, token, {"input": lift}), "temporarilyLiftBlock")
    assert [(c["givenBy"], c["recordedByHsaId"]) for c in payload["consents"]] == [
        ("clinician_recorded", w.x.hsa_id)
    ]
    # The clinician still cannot read the block itself (A7).
    assert payload["consents"][0]["block"] is None
    assert "v" in await doc_names(conn, w, w.clinician())
    stored = await conn.execute(
        text(
            "SELECT given_by, recorded_by_hsa_id FROM consent"
            " WHERE patient_id = :p AND kind = 'block_lift'"
        ),
        {"p": w.patient.id},
    )
    assert [tuple(r) for r in stored] == [("clinician_recorded", w.x.hsa_id)]


async def test_clinician_may_not_lift_for_others_or_by_block_id(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    block_id = await outer_block_on_b(conn, w)
    token = clinician_token(settings, w)
    other_unit = {"patientId": pid(w), "careUnitHsaId": w.u2.hsa_id, "until": until()}
    assert code_of(await gql(client, TEMP, token, {"input": other_unit})) == "FORBIDDEN"
    # Blocks are not visible to clinicians: naming one is NOT_FOUND, as if it did not exist.
    by_id = {"blockId": block_id, "practitionerHsaId": w.x.hsa_id, "until": until()}
    response = await gql(client, TEMP, token, {"input": by_id})
    assert response["data"]["temporarilyLiftBlock"]["userErrors"] == [
        {"field": "input.blockId", "code": "NOT_FOUND"}
    ]
    # Without access to the patient (A1): NOT_FOUND, nothing written.
    stranger = await f.create_patient(conn)
    await f.create_block(conn, stranger, "outer", w.b)
    lift = {"patientId": encode_id("Patient", stranger.id), "careUnitHsaId": w.u.hsa_id}
    response = await gql(client, TEMP, token, {"input": lift | {"until": until()}})
    assert response["data"]["temporarilyLiftBlock"]["userErrors"] == [
        {"field": "input.patientId", "code": "NOT_FOUND"}
    ]
    lifts = "SELECT count(*) FROM consent WHERE kind = 'block_lift'"
    assert await count(conn, lifts) == 0
    assert "v" not in await doc_names(conn, w, w.clinician())


async def test_clinician_may_not_place_or_lift_blocks(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    block_id = await outer_block_on_b(conn, w)
    token = clinician_token(settings, w)
    assert code_of(await gql(client, LIFT, token, {"id": block_id})) == "FORBIDDEN"
    place = {"patientId": pid(w), "kind": "OUTER", "careProviderHsaId": w.k.hsa_id}
    assert code_of(await gql(client, PLACE, token, {"input": place})) == "FORBIDDEN"


async def test_representatives_and_research_may_not_lift(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    child = await f.create_patient(conn, birth_date=aged(8))
    parent = await f.create_patient(conn, birth_date=aged(38))
    await f.create_representative(conn, child, parent, "guardian")
    block = await f.create_block(conn, child, "outer", w.b)
    guardian = mint(
        settings, kind="proxy", subject=parent.identifier, pnr=parent.identifier,
        represents=child.identifier,
    )  # fmt: skip
    lift = {"careUnitHsaId": w.u.hsa_id, "until": until()}
    by_block = lift | {"blockId": encode_id("Block", block.id, child.id)}
    assert code_of(await gql(client, TEMP, guardian, {"input": by_block})) == "FORBIDDEN"
    study = await f.create_research_study(conn)  # approved, with record access
    research = mint(
        settings, kind="research", subject="research-test", client_id="research-test",
        study=str(study.id),
    )  # fmt: skip
    by_patient = lift | {"patientId": encode_id("Patient", child.id)}
    response = await gql(client, TEMP, research, {"input": by_patient})
    assert response["data"]["temporarilyLiftBlock"]["userErrors"] == [
        {"field": "input.patientId", "code": "NOT_FOUND"}
    ]
    assert await count(conn, "SELECT count(*) FROM consent WHERE kind = 'block_lift'") == 0


async def test_lift_input_names_one_target(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    block_id = await outer_block_on_b(conn, w)
    me = patient_token(settings, w.patient)
    both = {"blockId": block_id, "patientId": pid(w), "careUnitHsaId": w.u.hsa_id}
    response = await gql(client, TEMP, me, {"input": both | {"until": until()}})
    assert response["data"]["temporarilyLiftBlock"]["userErrors"] == [
        {"field": "input", "code": "INVALID_VALUE"}
    ]


async def test_consents_record_who_wrote_them(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    consent = {"patientId": pid(w), "kind": "SVOD_ACCESS", "careUnitHsaId": w.u.hsa_id}
    by_clinician = await gql(client, GIVE, clinician_token(settings, w), {"input": consent})
    assert data(by_clinician, "giveConsent")["consent"]["givenBy"] == "clinician_recorded"
    system = mint(settings, kind="system", subject="1177-integration")
    by_system = await gql(client, GIVE, system, {"input": consent})
    assert data(by_system, "giveConsent")["consent"]["givenBy"] == "integration"
    by_patient = await gql(client, GIVE, patient_token(settings, w.patient), {"input": consent})
    assert data(by_patient, "giveConsent")["consent"]["givenBy"] == "patient"
    stored = await conn.execute(
        text("SELECT given_by, recorded_by_hsa_id FROM consent WHERE patient_id = :p"),
        {"p": w.patient.id},
    )
    assert sorted(tuple(r) for r in stored) == sorted(
        [("clinician_recorded", w.x.hsa_id), ("integration", None), ("patient", None)]
    )
