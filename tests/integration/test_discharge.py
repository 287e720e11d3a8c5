"""Coordinated discharge (lag 2017:612) with the tokens of the roles that use it: the ward
nurse and doctor who send the notice and declare the patient utskrivningsklar, the municipal
home-care nurse who acknowledges and reads her incoming and overdue patients, and people who
may not act (primary care on the hospital's plan, another municipality, the patient)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.discharge import days_since_ready, is_overdue
from app.settings import Settings
from schema.ids import encode_id
from tests.factories import (
    create_care_relationship,
    create_patient,
    create_prescription,
    create_provider,
    create_unit,
)
from tests.integration.mutation_support import (
    call,
    errors_of,
    patient_gid,
    patient_token,
    written,
)
from tests.integration.test_legal_bases import clinician_token, staff

NOTICE = """mutation($input: SendAdmissionNoticeInput!) {
  sendAdmissionNotice(input: $input) {
    dischargePlan { id version status expectedNeeds municipalUnit { name }
                    primaryCareUnit { name } }
    userErrors { field code message }
    replayed
  }
}"""
READY = """mutation($input: DeclareReadyForDischargeInput!) {
  declareReadyForDischarge(input: $input) {
    dischargePlan { id version status plannedDischargeOn daysSinceReady overdue }
    userErrors { field code message }
  }
}"""
STEP = """mutation($input: DischargeStepInput!) {
  %s(input: $input) {
    dischargePlan { id version status acknowledgedByName dischargedAt }
    userErrors { field code message }
  }
}"""
HANDOVER = {"operationName": "DischargeHandover"}
UNIT_LISTS = """query($id: ID!) {
  node(id: $id) { ... on CareUnit {
    incomingDischarges { totalCount nodes { status patient { familyName } } }
    overdueDischarges { totalCount nodes { daysSinceReady overdue } } } }
}"""


class Stay:
    """A patient on a hospital ward, going home to municipal home care."""

    async def make(self, conn: AsyncConnection, settings: Settings) -> Stay:
        self.region = await create_provider(conn, name="Region Utskrivning")
        self.ward = await create_unit(conn, self.region, kind="hospital", name="Geriatrik 2")
        self.primary = await create_unit(conn, self.region, name="Vårdcentralen Torget")
        self.kommun = await create_provider(conn, name="Utskrivningskommun", kind="kommun")
        self.home_care = await create_unit(
            conn, self.kommun, kind="home_care", name="Hemsjukvården Syd"
        )
        other_kommun = await create_provider(conn, name="Grannkommunen", kind="kommun")
        self.other_home_care = await create_unit(conn, other_kommun, kind="home_care")
        self.patient = await create_patient(conn, family_name="Utskrivensson")
        await create_care_relationship(conn, self.patient, self.ward)
        await create_prescription(conn, self.patient, self.ward, drug_name="Waran")
        nurse = await staff(conn, self.ward, profession="sjuksköterska")
        municipal = await staff(conn, self.home_care, profession="sjuksköterska")
        gp = await staff(conn, self.primary)
        neighbour = await staff(conn, self.other_home_care, profession="sjuksköterska")
        sjk = "sjuksköterska"
        self.ward_nurse = clinician_token(settings, nurse, self.ward, self.region, sjk)
        self.municipal = clinician_token(settings, municipal, self.home_care, self.kommun, sjk)
        self.gp = clinician_token(settings, gp, self.primary, self.region)
        self.neighbour = clinician_token(
            settings, neighbour, self.other_home_care, other_kommun, sjk
        )
        self.patient_self = patient_token(settings, self.patient.identifier)
        return self

    def notice(self, **overrides: Any) -> dict[str, Any]:
        return {
            "patientId": patient_gid(self.patient),
            "municipalUnitHsaId": self.home_care.hsa_id,
            "primaryCareUnitHsaId": self.primary.hsa_id,
            "expectedNeeds": "Hemsjukvård: Waran-dosering, trycksårsprofylax",
        } | overrides

    async def send(self, client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
        body = await call(
            client, NOTICE, {"input": self.notice(**overrides)}, token=self.ward_nurse
        )
        assert "errors" not in body, body
        payload: dict[str, Any] = body["data"]["sendAdmissionNotice"]
        assert payload["userErrors"] == [], payload
        return payload

    async def ready(self, client: httpx.AsyncClient, pid: str, version: int, **extra: Any) -> Any:
        data = {"id": pid, "version": version, "plannedDischargeOn": "2026-12-10"} | extra
        return await call(client, READY, {"input": data}, token=self.ward_nurse)

    async def handover(self, client: httpx.AsyncClient, token: str) -> Any:
        body = {**HANDOVER, "variables": {"personnummer": self.patient.identifier}}
        response = await client.post(
            "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        return response.json()


async def stay(conn: AsyncConnection, settings: Settings) -> Stay:
    return await Stay().make(conn, settings)


async def test_the_municipal_nurse_sees_the_hospitals_plan_without_reentering_it(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    s = await stay(conn, settings)
    sent = (await s.send(client))["dischargePlan"]
    assert (sent["status"], sent["municipalUnit"]["name"]) == ("ENROLLED", "Hemsjukvården Syd")
    writes = {w.split(":")[0] for w in await written(conn, s.patient.id)}
    assert writes == {"DischargePlan", "CareRelationship"}
    ready = (await s.ready(client, sent["id"], 1))["data"]["declareReadyForDischarge"]
    assert ready["dischargePlan"]["status"] == "READY"
    assert ready["dischargePlan"]["daysSinceReady"] == 0

    body = await s.handover(client, s.municipal)
    assert "errors" not in body, body
    plan = body["data"]["patient"]["dischargePlans"]["nodes"][0]
    assert plan["expectedNeeds"] == "Hemsjukvård: Waran-dosering, trycksårsprofylax"
    assert (plan["plannedDischargeOn"], plan["careUnit"]["name"]) == ("2026-12-10", "Geriatrik 2")
    # The plan is hers to read; the hospital's prescriptions are not, without consent (A4).
    assert body["data"]["patient"]["prescriptions"]["nodes"] == []
    ack = await call(
        client,
        STEP % "acknowledgeDischargePlan",
        {"input": {"id": sent["id"], "version": 2}},
        token=s.municipal,
    )
    acknowledged = ack["data"]["acknowledgeDischargePlan"]["dischargePlan"]
    assert acknowledged["version"] == 3 and acknowledged["acknowledgedByName"]
    lists = await call(
        client, UNIT_LISTS, {"id": encode_id("CareUnit", s.home_care.id)}, token=s.municipal
    )
    unit = lists["data"]["node"]
    assert unit["incomingDischarges"]["totalCount"] == 1
    assert unit["incomingDischarges"]["nodes"][0]["patient"]["familyName"] == "Utskrivensson"
    assert unit["overdueDischarges"]["totalCount"] == 0
    disclosed = await conn.execute(
        text(
            "SELECT count(*) FROM audit_entry WHERE patient_id = :p AND action = 'read'"
            " AND outcome = 'disclosed' AND care_unit_hsa_id = :u"
        ),
        {"p": s.patient.id, "u": s.home_care.hsa_id},
    )
    assert disclosed.scalar_one() >= 2


async def test_overdue_after_the_agreed_days(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    s = await stay(conn, settings)
    admitted = datetime.now(UTC) - timedelta(days=9)
    sent = (await s.send(client, admittedAt=admitted.isoformat()))["dischargePlan"]
    ready_at = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    declared = await s.ready(client, sent["id"], 1, at=ready_at)
    plan = declared["data"]["declareReadyForDischarge"]["dischargePlan"]
    assert plan["overdue"] is True and plan["daysSinceReady"] in (4, 5, 6)
    lists = await call(
        client, UNIT_LISTS, {"id": encode_id("CareUnit", s.home_care.id)}, token=s.municipal
    )
    overdue = lists["data"]["node"]["overdueDischarges"]
    assert overdue["totalCount"] == 1 and overdue["nodes"][0]["overdue"] is True
    # Another municipality's nurse lists nothing of it.
    theirs = await call(
        client, UNIT_LISTS, {"id": encode_id("CareUnit", s.home_care.id)}, token=s.neighbour
    )
    assert theirs["data"]["node"]["incomingDischarges"]["totalCount"] == 0
    discharged = await call(
        client,
        STEP % "recordDischarge",
        {"input": {"id": sent["id"], "version": 2}},
        token=s.ward_nurse,
    )
    assert discharged["data"]["recordDischarge"]["dischargePlan"]["status"] == "DISCHARGED"


def test_the_day_counter_counts_swedish_calendar_days() -> None:
    # 23:30 UTC on 1 Dec is 00:30 on 2 Dec in Stockholm: the counter starts on the 2nd.
    ready = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert days_since_ready(ready, None, date(2026, 12, 5)) == 3
    assert not is_overdue(3) and is_overdue(4)
    assert days_since_ready(None, None, date(2026, 12, 5)) is None
    left = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert days_since_ready(ready, left, date(2026, 12, 30)) == 1


async def test_each_side_takes_only_its_own_steps(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    s = await stay(conn, settings)
    pid = (await s.send(client))["dischargePlan"]["id"]
    by_municipality = await call(
        client,
        READY,
        {"input": {"id": pid, "version": 1, "plannedDischargeOn": "2026-12-10"}},
        token=s.municipal,
    )
    assert by_municipality["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_ward = await call(
        client,
        STEP % "acknowledgeDischargePlan",
        {"input": {"id": pid, "version": 1}},
        token=s.ward_nurse,
    )
    assert by_ward["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_gp = await call(
        client, STEP % "cancelDischargePlan", {"input": {"id": pid, "version": 1}}, token=s.gp
    )
    assert by_gp["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    by_neighbour = await call(
        client,
        STEP % "acknowledgeDischargePlan",
        {"input": {"id": pid, "version": 1}},
        token=s.neighbour,
    )
    assert errors_of(by_neighbour["data"]["acknowledgeDischargePlan"]) == [
        ("input.id", "NOT_FOUND")
    ]
    by_patient = await call(client, NOTICE, {"input": s.notice()}, token=s.patient_self)
    assert by_patient["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # Discharge before utskrivningsklar is not a step the plan allows.
    early = await call(
        client, STEP % "recordDischarge", {"input": {"id": pid, "version": 1}}, token=s.ward_nurse
    )
    assert errors_of(early["data"]["recordDischarge"]) == [("input.id", "INVALID_STATE")]


async def test_conflict_idempotency_and_cancel(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    s = await stay(conn, settings)
    first = await s.send(client, idempotencyKey="inskrivning-1")
    again = await s.send(client, idempotencyKey="inskrivning-1")
    assert again["replayed"] is True
    assert again["dischargePlan"]["id"] == first["dischargePlan"]["id"]
    pid = first["dischargePlan"]["id"]
    await s.ready(client, pid, 1)
    stale = await s.ready(client, pid, 1)
    assert errors_of(stale["data"]["declareReadyForDischarge"]) == [("input.version", "CONFLICT")]
    bad = await call(
        client, NOTICE, {"input": s.notice(municipalUnitHsaId=s.primary.hsa_id)}, token=s.ward_nurse
    )
    assert errors_of(bad["data"]["sendAdmissionNotice"]) == [
        ("input.municipalUnitHsaId", "INVALID_REFERENCE")
    ]
    cancelled = await call(
        client,
        STEP % "cancelDischargePlan",
        {"input": {"id": pid, "version": 2}},
        token=s.ward_nurse,
    )
    assert cancelled["data"]["cancelDischargePlan"]["dischargePlan"]["status"] == "CANCELLED"
    # The purpose is gone: the municipal nurse reads nothing of the patient any more.
    body = await s.handover(client, s.municipal)
    assert body["data"]["patient"] is None
    count = await conn.execute(
        text("SELECT count(*) FROM discharge_plan WHERE patient_id = :p"), {"p": s.patient.id}
    )
    assert count.scalar_one() == 1


COUNTED = """query($id: ID!) {
  node(id: $id) { ... on CareUnit { incomingDischarges(first: 20) { totalCount nodes {
    status daysSinceReady careUnit { name } patient { familyName } } } } }
}"""


async def test_the_incoming_list_costs_the_same_statements_for_one_patient_or_eight(
    conn: AsyncConnection,
) -> None:
    from app.access.principal import Principal, PrincipalKind, Purpose
    from tests.factories import create_discharge_plan
    from tests.sqlcount import count_statements, data_of

    region = await create_provider(conn)
    ward = await create_unit(conn, region, kind="hospital", name="Avd 7")
    kommun = await create_provider(conn, kind="kommun")
    home_care = await create_unit(conn, kommun, kind="home_care", name="Hemsjukvården Väst")
    nurse = await staff(conn, home_care, profession="sjuksköterska")
    principal = Principal(
        kind=PrincipalKind.CLINICIAN,
        subject=nurse.hsa_id,
        purpose=Purpose.TREAT,
        role="sjuksköterska",
        care_unit_hsa_id=home_care.hsa_id,
        care_provider_hsa_id=kommun.hsa_id,
    )
    counts = []
    for patients in (1, 7):  # one, then eight in all
        for _ in range(patients):
            patient = await create_patient(conn)
            await create_care_relationship(conn, patient, home_care, origin="discharge_plan")
            await create_discharge_plan(conn, patient, ward, home_care)
        async with count_statements(conn) as statements:
            data = await data_of(
                conn, COUNTED, {"id": encode_id("CareUnit", home_care.id)}, principal=principal
            )
        listed = data["node"]["incomingDischarges"]
        assert len(listed["nodes"]) == listed["totalCount"] == (1 if patients == 1 else 8)
        assert {n["careUnit"]["name"] for n in listed["nodes"]} == {"Avd 7"}
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
