"""Privacy mutations over HTTP: consents, blocks (only the patient, A9), temporary lifts (A5),
the A8 capacity consent, representatives; each write changes what clinicians see."""

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
from tests.integration.test_privacy_queries import clinician_token, gql, patient_token

GIVE = """mutation($input: GiveConsentInput!) {
  giveConsent(input: $input) { consent { id kind givenBy } userErrors { field code } } }"""
REVOKE = """mutation($id: ID!) {
  revokeConsent(input: {consentId: $id}) { consent { revokedAt } userErrors { code } } }"""
PLACE = """mutation($input: PlaceBlockInput!) {
  placeBlock(input: $input) { block { id kind active } userErrors { field code } } }"""
LIFT = """mutation($id: ID!) {
  liftBlock(input: {blockId: $id}) { block { active } userErrors { code } } }"""
TEMP = """mutation($input: TemporarilyLiftBlockInput!) {
  temporarilyLiftBlock(input: $input) { consent { kind validTo } userErrors { field code } } }"""
ADD_REP = """mutation($input: AddRepresentativeInput!) {
  addRepresentative(input: $input) { representative { id kind } userErrors { field code } } }"""
REMOVE_REP = """mutation($id: ID!) {
  removeRepresentative(input: {representativeId: $id}) {
    representative { validTo } userErrors { code } } }"""


# Every privacy mutation has cases here, the A10 exceptions in test_portal_exceptions.py
# (test_mutations_all.py counts on this set).
PRIVACY_MUTATIONS = frozenset(
    {
        "giveConsent",
        "revokeConsent",
        "placeBlock",
        "liftBlock",
        "temporarilyLiftBlock",
        "addRepresentative",
        "removeRepresentative",
        "grantPortalException",
        "revokePortalException",
    }
)


def test_privacy_mutations_are_all_covered() -> None:
    from strawberry.types.base import get_object_definition

    from schema.privacy_mutations import PrivacyMutation

    definition = get_object_definition(PrivacyMutation, strict=True)
    names = {f.name for f in definition.fields}
    camel = {n.split("_")[0] + "".join(p.title() for p in n.split("_")[1:]) for n in names}
    assert camel == PRIVACY_MUTATIONS


def pid(w: World) -> str:
    return encode_id("Patient", w.patient.id)


def data(response: dict[str, Any], name: str) -> dict[str, Any]:
    assert "errors" not in response, response
    payload: dict[str, Any] = response["data"][name]
    assert payload["userErrors"] == [], payload
    return payload


def code_of(response: dict[str, Any]) -> str:
    return str(response["errors"][0]["extensions"]["code"])


async def test_patient_gives_and_revokes_svod_consent(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    me = patient_token(settings, w.patient)
    given = await gql(
        client,
        GIVE,
        me,
        {"input": {"patientId": pid(w), "kind": "SVOD_ACCESS", "careUnitHsaId": w.u.hsa_id}},
    )
    consent = data(given, "giveConsent")["consent"]
    assert consent["kind"] == "SVOD_ACCESS" and consent["givenBy"] == "patient"
    assert "v" in await doc_names(conn, w, w.clinician())
    revoked = await gql(client, REVOKE, me, {"id": consent["id"]})
    assert data(revoked, "revokeConsent")["consent"]["revokedAt"] is not None
    assert "v" not in await doc_names(conn, w, w.clinician())
    writes = await conn.execute(
        text("SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'write'"),
        {"p": w.patient.id},
    )
    assert writes.scalar() == 2


async def test_clinician_registers_consent_for_own_unit_only(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    token = clinician_token(settings, w)
    own = {"patientId": pid(w), "kind": "SVOD_ACCESS", "careUnitHsaId": w.u.hsa_id}
    assert data(await gql(client, GIVE, token, {"input": own}), "giveConsent")["consent"]
    other = own | {"careUnitHsaId": w.v.hsa_id}
    assert code_of(await gql(client, GIVE, token, {"input": other})) == "FORBIDDEN"


async def test_a8_lack_of_capacity_is_recorded_by_clinicians_only(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    consent = {
        "patientId": pid(w),
        "kind": "SVOD_ACCESS",
        "careUnitHsaId": w.u.hsa_id,
        "lacksCapacity": True,
    }
    given = await gql(client, GIVE, clinician_token(settings, w), {"input": consent})
    assert data(given, "giveConsent")["consent"]["givenBy"] == "lacks_capacity"
    refused = await gql(client, GIVE, patient_token(settings, w.patient), {"input": consent})
    assert code_of(refused) == "FORBIDDEN"


async def test_patient_blocks_lifts_and_temporarily_lifts(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    await f.create_consent(conn, w.patient, "svod_access", care_unit_id=w.u.id)
    me = patient_token(settings, w.patient)
    placed = await gql(
        client,
        PLACE,
        me,
        {"input": {"patientId": pid(w), "kind": "OUTER", "careProviderHsaId": w.b.hsa_id}},
    )
    block = data(placed, "placeBlock")["block"]
    assert block["active"] is True
    assert "v" not in await doc_names(conn, w, w.clinician())
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    lift_for_u = {"blockId": block["id"], "careUnitHsaId": w.u.hsa_id, "until": until}
    temp = await gql(client, TEMP, me, {"input": lift_for_u})
    assert data(temp, "temporarilyLiftBlock")["consent"]["kind"] == "BLOCK_LIFT"
    assert "v" in await doc_names(conn, w, w.clinician())
    lifted = await gql(client, LIFT, me, {"id": block["id"]})
    assert data(lifted, "liftBlock")["block"]["active"] is False


async def test_a9_guardian_and_clinician_cannot_block(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    child = await f.create_patient(conn, birth_date=aged(8))
    parent = await f.create_patient(conn, birth_date=aged(38))
    await f.create_representative(conn, child, parent, "guardian")
    guardian = mint(
        settings, kind="proxy", subject=parent.identifier, pnr=parent.identifier,
        represents=child.identifier,
    )  # fmt: skip
    block = {"kind": "OUTER", "careProviderHsaId": w.b.hsa_id}
    refused = await gql(
        client, PLACE, guardian, {"input": block | {"patientId": encode_id("Patient", child.id)}}
    )
    assert code_of(refused) == "FORBIDDEN"
    by_clinician = await gql(
        client, PLACE, clinician_token(settings, w), {"input": block | {"patientId": pid(w)}}
    )
    assert code_of(by_clinician) == "FORBIDDEN"
    denied = await conn.execute(
        text("SELECT reason FROM audit_entry WHERE patient_id = :p AND outcome = 'denied'"),
        {"p": child.id},
    )
    assert denied.scalar() == "only the patient may place or lift blocks (A9)"


async def test_block_input_is_checked(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    me = patient_token(settings, w.patient)
    bad = {"patientId": pid(w), "kind": "INNER", "careProviderHsaId": w.a.hsa_id}
    errors = data_errors(await gql(client, PLACE, me, {"input": bad}), "placeBlock")
    assert ("input.careUnitHsaId", "INVALID_VALUE") in errors
    wrong_unit = bad | {"careUnitHsaId": w.v.hsa_id}
    errors = data_errors(await gql(client, PLACE, me, {"input": wrong_unit}), "placeBlock")
    assert errors == [("input.careUnitHsaId", "INVALID_REFERENCE")]


def data_errors(response: dict[str, Any], name: str) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response["data"][name]["userErrors"]]


async def test_representatives_from_system_and_power_of_attorney_from_patient(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    holder = await f.create_patient(conn, birth_date=aged(45))
    system = mint(settings, kind="system", subject="folkbokforing")
    me = patient_token(settings, w.patient)
    poa = {
        "patientId": pid(w),
        "representativePersonnummer": holder.identifier,
        "kind": "POWER_OF_ATTORNEY",
    }
    rep = data(await gql(client, ADD_REP, me, {"input": poa}), "addRepresentative")
    assert rep["representative"]["kind"] == "POWER_OF_ATTORNEY"
    guardian = poa | {"kind": "GUARDIAN"}
    assert code_of(await gql(client, ADD_REP, me, {"input": guardian})) == "FORBIDDEN"
    # Guardians come from the register, and only for children.
    adult = await gql(client, ADD_REP, system, {"input": guardian})
    assert data_errors(adult, "addRepresentative") == [("input.kind", "INVALID_VALUE")]
    child = await f.create_patient(conn, birth_date=aged(5))
    of_child = guardian | {"patientId": encode_id("Patient", child.id)}
    assert data(await gql(client, ADD_REP, system, {"input": of_child}), "addRepresentative")
    # The holder reads the record until the power of attorney ends.
    holder_principal = mint(
        settings, kind="proxy", subject=holder.identifier, pnr=holder.identifier,
        represents=w.patient.identifier,
    )  # fmt: skip
    read = "query($id: ID!) { patient(id: $id) { familyName } }"
    assert (await gql(client, read, holder_principal, {"id": pid(w)}))["data"]["patient"]
    removed = await gql(client, REMOVE_REP, me, {"id": rep["representative"]["id"]})
    assert data(removed, "removeRepresentative")["representative"]["validTo"]
    assert (await gql(client, read, holder_principal, {"id": pid(w)}))["data"]["patient"] is None


async def test_strangers_learn_nothing(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    stranger = await f.create_patient(conn)
    consent = {
        "patientId": encode_id("Patient", stranger.id),
        "kind": "SVOD_ACCESS",
        "careUnitHsaId": w.u.hsa_id,
    }
    response = await gql(client, GIVE, clinician_token(settings, w), {"input": consent})
    assert data_errors(response, "giveConsent") == [("input.patientId", "NOT_FOUND")]
    rows = await conn.execute(
        text("SELECT count(*) FROM consent WHERE patient_id = :p"), {"p": stranger.id}
    )
    assert rows.scalar() == 0
