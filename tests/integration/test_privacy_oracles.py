"""A12: no mutation tells a caller whether a person is registered. registerPatient answers a
clinician who may not see the registered patient exactly as it answers a new registration they
may not read back; addRepresentative answers a patient the same whether or not the person named
is registered (a pending power of attorney, completed when the person is registered)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from app.tokens import mint
from resolvers.mutations.patients import DUPLICATE_HIDDEN
from schema.ids import encode_id
from tests import factories as f
from tests.integration.privacy_world import aged, build_world
from tests.integration.test_privacy_mutations import ADD_REP, data, pid
from tests.integration.test_privacy_queries import clinician_token, gql, patient_token

REGISTER = """mutation($input: RegisterPatientInput!) {
  registerPatient(input: $input) {
    patient { id personnummer } userErrors { field code message } replayed } }"""
ADD = """mutation($input: AddRepresentativeInput!) {
  addRepresentative(input: $input) {
    representative { kind validFrom validTo representative { id } patient { id } }
    userErrors { field code message } replayed } }"""


def registration(pnr: str, **kw: Any) -> dict[str, Any]:
    return {"personnummer": pnr, "givenName": "Ny", "familyName": "Person", "sex": "MALE"} | kw


async def count(conn: AsyncConnection, sql: str, **params: Any) -> int:
    return int((await conn.execute(text(sql), params)).scalar() or 0)


async def test_register_hidden_duplicate_answers_like_a_new_registration(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    stranger = await f.create_patient(conn)  # registered, no care relationship with U
    token = clinician_token(settings, w)
    fresh = await gql(client, REGISTER, token, {"input": registration(f.personnummer())})
    before = await count(conn, "SELECT count(*) FROM patient")
    again = await gql(client, REGISTER, token, {"input": registration(stranger.identifier)})
    assert fresh == again
    assert fresh["data"] == {
        "registerPatient": {"patient": None, "userErrors": [], "replayed": False}
    }
    assert await count(conn, "SELECT count(*) FROM patient") == before
    reasons = await conn.execute(
        text("SELECT outcome, reason FROM audit_entry WHERE patient_id = :p"), {"p": stranger.id}
    )
    assert [tuple(r) for r in reasons] == [("denied", DUPLICATE_HIDDEN)]


async def test_register_duplicate_is_told_to_whom_the_policy_shows_the_patient(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)  # w.patient has a care relationship with U
    token = clinician_token(settings, w)
    response = await gql(client, REGISTER, token, {"input": registration(w.patient.identifier)})
    payload = response["data"]["registerPatient"]
    assert payload["patient"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        ("input.personnummer", "DUPLICATE")
    ]
    system = mint(settings, kind="system", subject="folkbokforing")
    stranger = await f.create_patient(conn)
    by_system = await gql(client, REGISTER, system, {"input": registration(stranger.identifier)})
    errors = by_system["data"]["registerPatient"]["userErrors"]
    assert [e["code"] for e in errors] == ["DUPLICATE"]


async def test_register_hidden_duplicate_still_reports_bad_input(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    stranger = await f.create_patient(conn)
    bad = registration(stranger.identifier, municipalityCode="9999")
    response = await gql(client, REGISTER, clinician_token(settings, w), {"input": bad})
    errors = response["data"]["registerPatient"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [("input.municipalityCode", "INVALID_CODE")]


async def test_power_of_attorney_answer_does_not_tell_if_the_person_is_registered(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    registered = await f.create_patient(conn, birth_date=aged(45))
    unregistered = f.personnummer(date(1970, 3, 3))
    me = patient_token(settings, w.patient)
    base = {"patientId": pid(w), "kind": "POWER_OF_ATTORNEY"}
    known = await gql(
        client, ADD, me, {"input": base | {"representativePersonnummer": registered.identifier}}
    )
    unknown = await gql(
        client, ADD, me, {"input": base | {"representativePersonnummer": unregistered}}
    )
    assert "errors" not in known and "errors" not in unknown
    assert known == unknown
    assert known["data"]["addRepresentative"]["representative"]["patient"] == {"id": pid(w)}
    pending = await conn.execute(
        text(
            "SELECT representative_patient_id, representative_identifier FROM representative"
            " WHERE patient_id = :p ORDER BY representative_identifier NULLS FIRST"
        ),
        {"p": w.patient.id},
    )
    assert [tuple(r) for r in pending] == [(registered.id, None), (None, unregistered)]


async def test_pending_power_of_attorney_takes_effect_on_registration(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    w = await build_world(conn)
    holder_pnr = f.personnummer(date(1970, 3, 4))
    me = patient_token(settings, w.patient)
    poa = {
        "patientId": pid(w),
        "kind": "POWER_OF_ATTORNEY",
        "representativePersonnummer": holder_pnr,
    }
    assert data(await gql(client, ADD_REP, me, {"input": poa}), "addRepresentative")
    holder = mint(
        settings, kind="proxy", subject=holder_pnr, pnr=holder_pnr, represents=w.patient.identifier
    )
    read = "query($id: ID!) { patient(id: $id) { familyName } }"
    # Not registered: the pending power of attorney grants nothing.
    assert (await gql(client, read, holder, {"id": pid(w)}))["data"]["patient"] is None
    system = mint(settings, kind="system", subject="folkbokforing")
    registered = await gql(client, REGISTER, system, {"input": registration(holder_pnr)})
    assert registered["data"]["registerPatient"]["userErrors"] == []
    assert (await gql(client, read, holder, {"id": pid(w)}))["data"]["patient"] == {
        "familyName": "Tolvansson"
    }
    completed = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'write'"
            " AND resources::text LIKE '%Representative:%'"
        ),
        {"p": w.patient.id},
    )
    assert completed.scalar() == 2  # the grant and its completion


async def test_system_is_told_that_a_person_is_not_registered(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    child = await f.create_patient(conn, birth_date=aged(5))
    system = mint(settings, kind="system", subject="folkbokforing")
    guardian = {
        "patientId": encode_id("Patient", child.id),
        "kind": "GUARDIAN",
        "representativePersonnummer": f.personnummer(date(1971, 1, 1)),
    }
    response = await gql(client, ADD_REP, system, {"input": guardian})
    errors = response["data"]["addRepresentative"]["userErrors"]
    assert errors == [{"field": "input.representativePersonnummer", "code": "NOT_FOUND"}]
