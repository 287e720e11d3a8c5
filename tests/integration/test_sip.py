"""SIP (createSip, addSipAction, updateSip, updateSipAction, Patient.sipPlans) across the
region-municipality boundary, with the real roles' tokens: the GP at the region's vårdcentral
convenes, the district nurse in the municipality's home care adds an action to the same plan
and marks the municipality's actions done, each reads what the other wrote without
re-entering it; outsiders neither read nor write; versions and keys hold."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.settings import Settings
from schema.ids import decode_id
from tests.factories import create_care_relationship, create_provider, create_unit
from tests.integration.boundary_world import Boundary, boundary
from tests.integration.mutation_support import (
    call,
    count,
    disclosed_to,
    errors_of,
    patient_gid,
    patient_token,
    written,
)
from tests.integration.test_legal_bases import clinician_token, staff

PLAN = "sip { id version title status situation followUpOn approvedForPatient"
PLAN += " careUnit { name } participants { nodes { name role careUnit { name } } }"
PLAN += " goals { nodes { position goal } }"
PLAN += " actions { nodes { id description status followUpOn goalPosition"
PLAN += " responsibleProvider { name } writtenByUnit { name } } } }"
CREATE = f"""mutation($input: CreateSipInput!) {{
  createSip(input: $input) {{ {PLAN} userErrors {{ field code message }} replayed }}
}}"""
ADD = f"""mutation($input: AddSipActionInput!) {{
  addSipAction(input: $input) {{ {PLAN} action {{ id description }}
    userErrors {{ field code message }} replayed }}
}}"""
UPDATE = f"""mutation($input: UpdateSipInput!) {{
  updateSip(input: $input) {{ {PLAN} userErrors {{ field code message }} }}
}}"""
MARK = """mutation($input: UpdateSipActionInput!) {
  updateSipAction(input: $input) {
    sip { version } action { id status statusNote statusSetByHsaId responsibleProvider { name } }
    userErrors { field code message } replayed
  }
}"""
READ_STATUS = """query($pnr: String!) {
  patient(personnummer: $pnr) {
    sipPlans { nodes { actions { nodes { id status statusNote } } } }
  }
}"""
READ = """query($pnr: String!) {
  patient(personnummer: $pnr) {
    sipPlans { totalCount nodes { title version
      actions { nodes { description writtenByUnit { name } responsibleProvider { name } } } } }
  }
}"""


def create_input(b: Boundary, **overrides: Any) -> dict[str, Any]:
    return {
        "patientId": patient_gid(b.patient),
        "careUnitHsaId": b.vc.hsa_id,
        "title": "Hemgång efter sjukhusvistelse",
        "situation": "Bor ensam, behöver hjälp med läkemedel och personlig omvårdnad.",
        "followUpOn": "2026-12-15",
        "participants": [
            {
                "name": "Eva Sköterska",
                "role": "distriktssköterska",
                "careUnitHsaId": b.home_care.hsa_id,
            },
            {"name": "Patienten", "role": "patient"},
        ],
        "goals": ["Bo kvar hemma tryggt", "Stabilt PK(INR)"],
        "actions": [
            {
                "description": "PK(INR) varannan vecka, dosering meddelas hemsjukvården",
                "responsibleUnitHsaId": b.vc.hsa_id,
                "goalPosition": 2,
                "followUpOn": "2026-12-01",
            },
            {
                "description": "Läkemedelsöverlämning morgon och kväll",
                "responsibleUnitHsaId": b.home_care.hsa_id,
                "goalPosition": 1,
            },
        ],
    } | overrides


async def create(client: httpx.AsyncClient, b: Boundary, **overrides: Any) -> dict[str, Any]:
    body = await call(client, CREATE, {"input": create_input(b, **overrides)}, token=b.gp_token)
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createSip"]
    return payload


def action_input(b: Boundary, plan: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "planId": plan["id"],
        "version": plan["version"],
        "careUnitHsaId": b.home_care.hsa_id,
        "goal": "Klara morgonrutinen själv",
        "action": {
            "description": "Arbetsterapeut bedömer hjälpmedel i badrummet",
            "responsibleUnitHsaId": b.home_care.hsa_id,
            "followUpOn": "2026-12-10",
        },
    } | overrides


async def test_the_region_convenes_and_the_municipality_writes_to_the_same_plan(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    made = await create(client, b)
    assert made["userErrors"] == []
    plan = made["sip"]
    assert plan["careUnit"]["name"] == "Vårdcentralen Test" and plan["status"] == "ACTIVE"
    roles = {p["role"] for p in plan["participants"]["nodes"]}
    assert roles == {"läkare", "distriktssköterska", "patient"}  # the convener takes part
    assert sorted(a["goalPosition"] for a in plan["actions"]["nodes"]) == [1, 2]
    kinds = {r.split(":")[0] for r in await written(conn, b.patient.id)}
    assert kinds == {"SipPlan", "SipParticipant", "SipGoal", "SipAction"}

    # The nurse reads the plan the region wrote (no re-entry) and adds to it at her unit.
    seen = await call(client, READ, {"pnr": b.patient.identifier}, token=b.nurse_token)
    plans = seen["data"]["patient"]["sipPlans"]
    assert (
        plans["totalCount"] == 1 and plans["nodes"][0]["title"] == "Hemgång efter sjukhusvistelse"
    )
    added = await call(client, ADD, {"input": action_input(b, plan)}, token=b.nurse_token)
    payload = added["data"]["addSipAction"]
    assert payload["userErrors"] == [], payload
    assert payload["sip"]["version"] == plan["version"] + 1
    assert payload["sip"]["goals"]["nodes"][-1] == {
        "position": 3,
        "goal": "Klara morgonrutinen själv",
    }
    mine = payload["sip"]["actions"]["nodes"][-1]
    assert mine["writtenByUnit"]["name"] == "Hemtjänst Test"
    assert mine["responsibleProvider"]["name"] == "Test kommun"

    # The GP sees the municipality's action in the same plan.
    back = await call(client, READ, {"pnr": b.patient.identifier}, token=b.gp_token)
    actions = back["data"]["patient"]["sipPlans"]["nodes"][0]["actions"]["nodes"]
    assert [a["writtenByUnit"]["name"] for a in actions] == [
        "Vårdcentralen Test",
        "Vårdcentralen Test",
        "Hemtjänst Test",
    ]
    assert await disclosed_to(conn, b.patient.id, b.gp.hsa_id, "SipAction") >= 1


async def test_a_stale_version_is_a_conflict_and_nothing_is_written(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    plan = (await create(client, b))["sip"]
    first = await call(client, ADD, {"input": action_input(b, plan)}, token=b.nurse_token)
    assert first["data"]["addSipAction"]["userErrors"] == []
    before = await count(conn, "sip_action")
    # The GP still holds the version he read before the nurse wrote.
    change = {"id": plan["id"], "version": plan["version"], "careUnitHsaId": b.vc.hsa_id}
    stale = await call(
        client, UPDATE, {"input": change | {"status": "COMPLETED"}}, token=b.gp_token
    )
    assert errors_of(stale["data"]["updateSip"]) == [("input.version", "CONFLICT")]
    again = await call(client, ADD, {"input": action_input(b, plan)}, token=b.nurse_token)
    assert errors_of(again["data"]["addSipAction"]) == [("input.version", "CONFLICT")]
    assert await count(conn, "sip_action") == before
    fresh = change | {"version": plan["version"] + 1, "followUpOn": "2027-01-10"}
    done = await call(client, UPDATE, {"input": fresh}, token=b.gp_token)
    assert done["data"]["updateSip"]["sip"]["followUpOn"] == "2027-01-10"


async def test_a_retry_with_the_idempotency_key_creates_one_plan(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    first = await create(client, b, idempotencyKey="sip-tolvan-1")
    again = await create(client, b, idempotencyKey="sip-tolvan-1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["sip"]["id"] == first["sip"]["id"]
    assert await count(conn, "sip_plan") == 1 and await count(conn, "sip_goal") == 2
    other = await create(client, b, idempotencyKey="sip-tolvan-1", title="Annan plan")
    assert errors_of(other) == [("input.idempotencyKey", "CONFLICT")]


async def test_outsiders_neither_read_nor_write_and_the_patient_reads_when_approved(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    plan = (await create(client, b, approvedForPatient=False))["sip"]
    # A clinic of another provider, with a care relationship but not taking part in the SIP.
    other = await create_provider(conn, name="Privat vård AB", kind="privat")
    clinic = await create_unit(conn, other, name="Privat mottagning")
    await create_care_relationship(conn, b.patient, clinic)
    outsider = await staff(conn, clinic)
    token = clinician_token(settings, outsider, clinic, other)
    seen = await call(client, READ, {"pnr": b.patient.identifier}, token=token)
    assert seen["data"]["patient"]["sipPlans"]["totalCount"] == 0
    refused = await call(
        client, ADD, {"input": action_input(b, plan, careUnitHsaId=clinic.hsa_id)}, token=token
    )
    assert errors_of(refused["data"]["addSipAction"]) == [("input.planId", "NOT_FOUND")]
    # Writing at a unit of the plan that is not hers is refused and logged.
    at_home_care = await call(client, ADD, {"input": action_input(b, plan)}, token=token)
    assert at_home_care["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count(conn, "sip_action") == 2

    patient = patient_token(settings, b.patient.identifier)
    hidden = await call(client, READ, {"pnr": b.patient.identifier}, token=patient)
    assert hidden["data"]["patient"]["sipPlans"]["totalCount"] == 0  # A10: not approved
    approve = {"id": plan["id"], "version": plan["version"], "approvedForPatient": True}
    await call(
        client, UPDATE, {"input": approve | {"careUnitHsaId": b.vc.hsa_id}}, token=b.gp_token
    )
    shown = await call(client, READ, {"pnr": b.patient.identifier}, token=patient)
    nodes = shown["data"]["patient"]["sipPlans"]["nodes"]
    assert nodes and len(nodes[0]["actions"]["nodes"]) == 2
    # The patient never writes.
    body = await call(client, CREATE, {"input": create_input(b)}, token=patient)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_plan_needs_two_providers_and_actions_of_participants(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    alone = await create(
        client, b, participants=[{"name": "Patienten", "role": "patient"}], actions=[]
    )
    assert errors_of(alone) == [("input.participants", "INVALID_VALUE")]
    other = await create_provider(conn, name="Annan region", kind="region")
    elsewhere = await create_unit(conn, other, name="Annan mottagning")
    wrong = create_input(b)["actions"][:1]
    wrong[0] = wrong[0] | {"responsibleUnitHsaId": elsewhere.hsa_id, "goalPosition": 7}
    bad = await create(client, b, actions=wrong)
    assert sorted(errors_of(bad)) == [
        ("input.actions[0].goalPosition", "INVALID_VALUE"),
        ("input.actions[0].responsibleUnitHsaId", "INVALID_REFERENCE"),
    ]
    assert await count(conn, "sip_plan") == 0


def _action_of(plan: dict[str, Any], provider: str) -> str:
    """The global id of the plan's action that `provider` is responsible for."""
    ids = [
        a["id"] for a in plan["actions"]["nodes"] if a["responsibleProvider"]["name"] == provider
    ]
    assert len(ids) == 1, plan
    return str(ids[0])


async def _change_kinds(conn: AsyncConnection, category: str) -> list[str]:
    rows = await conn.execute(
        text("SELECT kind FROM change_log WHERE category = :c ORDER BY txid, position"),
        {"c": category},
    )
    return [kind for (kind,) in rows]


async def _denials(conn: AsyncConnection, patient_id: Any) -> list[str]:
    rows = await conn.execute(
        text("SELECT reason FROM audit_entry WHERE patient_id = :p AND action = 'deny'"),
        {"p": patient_id},
    )
    return [reason for (reason,) in rows]


async def test_the_responsible_side_marks_its_action_done_and_the_other_side_reads_it(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    plan = (await create(client, b))["sip"]
    municipal = _action_of(plan, "Test kommun")
    regional = _action_of(plan, "Region Test")
    mark = {"id": municipal, "version": plan["version"], "careUnitHsaId": b.home_care.hsa_id}
    note = "Dosett införd, patienten tar kvällsdosen själv"
    before = await _change_kinds(conn, "sip_action")

    # The GP may read the municipality's action but not mark it: it is not his commitment.
    refused = await call(
        client,
        MARK,
        {"input": mark | {"careUnitHsaId": b.vc.hsa_id, "status": "DONE"}},
        token=b.gp_token,
    )
    assert errors_of(refused["data"]["updateSipAction"]) == [
        ("input.careUnitHsaId", "INVALID_STATE")
    ]
    assert any("responsible" in r for r in await _denials(conn, b.patient.id))
    assert await _change_kinds(conn, "sip_action") == before

    # The district nurse marks it done with her follow-up note.
    done = await call(
        client, MARK, {"input": mark | {"status": "DONE", "note": note}}, token=b.nurse_token
    )
    payload = done["data"]["updateSipAction"]
    assert payload["userErrors"] == [], payload
    assert payload["action"]["status"] == "DONE" and payload["action"]["statusNote"] == note
    assert payload["action"]["statusSetByHsaId"] == b.nurse.hsa_id
    assert payload["sip"]["version"] == plan["version"] + 1  # the other side learns of it
    assert await _change_kinds(conn, "sip_action") == [*before, "updated"]
    assert f"SipAction:{decode_id(municipal).id}" in await written(conn, b.patient.id)

    # The GP reads the outcome without anyone re-entering it; his own action is still planned.
    seen = await call(client, READ_STATUS, {"pnr": b.patient.identifier}, token=b.gp_token)
    actions = seen["data"]["patient"]["sipPlans"]["nodes"][0]["actions"]["nodes"]
    by_id = {a["id"]: a for a in actions}
    assert (by_id[municipal]["status"], by_id[municipal]["statusNote"]) == ("DONE", note)
    assert by_id[regional]["status"] == "PLANNED" and by_id[regional]["statusNote"] is None

    # The GP marks his own action, then not done after all: back to planned, with why.
    version = plan["version"] + 1
    own = {"id": regional, "careUnitHsaId": b.vc.hsa_id}
    first = await call(
        client, MARK, {"input": own | {"version": version, "status": "DONE"}}, token=b.gp_token
    )
    assert first["data"]["updateSipAction"]["action"]["status"] == "DONE"
    undo = own | {"version": version + 1, "status": "PLANNED", "note": "INR ej taget, ny tid"}
    back = await call(client, MARK, {"input": undo}, token=b.gp_token)
    action = back["data"]["updateSipAction"]["action"]
    assert (action["status"], action["statusNote"]) == ("PLANNED", "INR ej taget, ny tid")
    same = await call(
        client, MARK, {"input": undo | {"version": version + 2, "note": None}}, token=b.gp_token
    )
    assert errors_of(same["data"]["updateSipAction"]) == [("input", "INVALID_VALUE")]


async def test_marking_an_action_keeps_versions_and_keys(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    plan = (await create(client, b))["sip"]
    municipal = _action_of(plan, "Test kommun")
    # The GP changes the plan meanwhile; the nurse still holds the version she read.
    change = {"id": plan["id"], "version": plan["version"], "careUnitHsaId": b.vc.hsa_id}
    changed = await call(
        client, UPDATE, {"input": change | {"followUpOn": "2027-01-10"}}, token=b.gp_token
    )
    assert changed["data"]["updateSip"]["userErrors"] == []
    mark = {
        "id": municipal,
        "version": plan["version"],
        "status": "DONE",
        "careUnitHsaId": b.home_care.hsa_id,
        "idempotencyKey": "sip-action-done-1",
    }
    stale = await call(client, MARK, {"input": mark}, token=b.nurse_token)
    assert errors_of(stale["data"]["updateSipAction"]) == [("input.version", "CONFLICT")]
    before = await _change_kinds(conn, "sip_action")

    fresh = mark | {"version": plan["version"] + 1, "idempotencyKey": "sip-action-done-2"}
    first = await call(client, MARK, {"input": fresh}, token=b.nurse_token)
    again = await call(client, MARK, {"input": fresh}, token=b.nurse_token)
    one, two = first["data"]["updateSipAction"], again["data"]["updateSipAction"]
    assert (one["replayed"], two["replayed"], two["userErrors"]) == (False, True, [])
    assert two["sip"]["version"] == plan["version"] + 2  # written once
    assert await _change_kinds(conn, "sip_action") == [*before, "updated"]
    other = await call(
        client, MARK, {"input": fresh | {"status": "CANCELLED"}}, token=b.nurse_token
    )
    assert errors_of(other["data"]["updateSipAction"]) == [("input.idempotencyKey", "CONFLICT")]
    long_note = fresh | {"idempotencyKey": None, "version": plan["version"] + 2}
    too_long = await call(
        client, MARK, {"input": long_note | {"note": "x" * 2001}}, token=b.nurse_token
    )
    assert errors_of(too_long["data"]["updateSipAction"]) == [("input.note", "INVALID_VALUE")]


async def test_outsiders_and_the_patient_do_not_mark_actions(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    b = await boundary(conn, settings)
    plan = (await create(client, b))["sip"]
    municipal = _action_of(plan, "Test kommun")
    mark = {"id": municipal, "version": plan["version"], "status": "DONE"}
    other = await create_provider(conn, name="Privat vård AB", kind="privat")
    clinic = await create_unit(conn, other, name="Privat mottagning")
    await create_care_relationship(conn, b.patient, clinic)
    outsider = await staff(conn, clinic)
    token = clinician_token(settings, outsider, clinic, other)
    before = await _change_kinds(conn, "sip_action")
    # At her own clinic she does not see the plan's action at all.
    unseen = await call(
        client, MARK, {"input": mark | {"careUnitHsaId": clinic.hsa_id}}, token=token
    )
    assert errors_of(unseen["data"]["updateSipAction"]) == [("input.id", "NOT_FOUND")]
    # At the responsible unit, which is not hers, she is refused and it is logged.
    at_home_care = await call(
        client, MARK, {"input": mark | {"careUnitHsaId": b.home_care.hsa_id}}, token=token
    )
    assert at_home_care["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    patient = patient_token(settings, b.patient.identifier)
    at_unit = mark | {"careUnitHsaId": b.home_care.hsa_id}
    by_patient = await call(client, MARK, {"input": at_unit}, token=patient)
    assert by_patient["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(await _denials(conn, b.patient.id)) >= 2
    assert await _change_kinds(conn, "sip_action") == before
