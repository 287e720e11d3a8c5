"""Every category of the record, its links, and the reverse links that span patients."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.access.policy import FixedAccess, PatientAccess
from app.access.principal import Principal
from tests import factories as f
from tests.sqlcount import data_of, execute

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


class OnlyThese:
    """A test policy: the caller sees exactly these patients."""

    def __init__(self, *allowed: uuid.UUID) -> None:
        self.allowed = set(allowed)

    async def decide(
        self, conn: AsyncConnection, principal: Principal, patient_ids: Sequence[uuid.UUID]
    ) -> Mapping[uuid.UUID, PatientAccess]:
        return {pid: FixedAccess(pid, may_see_patient=pid in self.allowed) for pid in patient_ids}


async def _world(conn: AsyncConnection) -> dict[str, Any]:
    provider = await f.create_provider(conn, name="Region Test")
    unit = await f.create_unit(conn, provider, name="Vårdcentral Test")
    return {"provider": provider, "unit": unit, "patient": await f.create_patient(conn)}


async def test_header_fields(conn: AsyncConnection) -> None:
    w = await _world(conn)
    doctor = await f.create_practitioner(conn, family_name="Ansvarig")
    contact = await f.create_care_contact(conn, w["patient"], w["unit"], event_time=at(0))
    await f.create_care_document(
        conn,
        w["patient"],
        w["unit"],
        event_time=at(1),
        title="Epikris",
        care_contact_id=contact.id,
        accountable_practitioner_id=doctor.id,
        accountable_hsa_id=doctor.hsa_id,
        accountable_name="Dr Ansvarig",
        accountable_role_code="lakare",
        legal_authenticator_time=at(2),
        legal_authenticator_hsa_id=doctor.hsa_id,
        legal_authenticator_name="Dr Ansvarig",
        approved_for_patient=False,
    )
    query = """query($p: String) { patient(personnummer: $p) { documents { nodes {
      title documentId sourceSystemHsaId authorTime eventTime approvedForPatient nullified
      nullifiedReason version signed
      accountable { hsaId name roleCode practitioner { familyName } }
      legalAuthenticator { time hsaId name }
      careUnit { name } careProvider { name } careContact { id eventTime }
      patient { personnummer } } } } }"""
    doc = (await data_of(conn, query, {"p": w["patient"].identifier}))["patient"]["documents"][
        "nodes"
    ][0]
    assert doc["title"] == "Epikris"
    assert doc["accountable"] == {
        "hsaId": doctor.hsa_id,
        "name": "Dr Ansvarig",
        "roleCode": "lakare",
        "practitioner": {"familyName": "Ansvarig"},
    }
    assert doc["legalAuthenticator"]["time"] == at(2).isoformat()
    assert (doc["signed"], doc["approvedForPatient"], doc["nullified"], doc["version"]) == (
        True,
        False,
        False,
        1,
    )
    assert (doc["careUnit"]["name"], doc["careProvider"]["name"]) == (
        "Vårdcentral Test",
        "Region Test",
    )
    assert doc["careContact"]["eventTime"] == at(0).isoformat()
    assert doc["patient"]["personnummer"] == w["patient"].identifier


async def test_prescription_chain_and_dispensations(conn: AsyncConnection) -> None:
    w = await _world(conn)
    pharmacy = await f.create_unit(conn, w["provider"], kind="pharmacy", name="Apoteket Hjärtat")
    chain = uuid.uuid4()
    old = await f.create_prescription(
        conn, w["patient"], w["unit"], chain_id=chain, status="ersatt", event_time=at(0)
    )
    new = await f.create_prescription(
        conn,
        w["patient"],
        w["unit"],
        chain_id=chain,
        replaces_id=old.id,
        status="aktiv",
        event_time=at(10),
    )
    await f.create_prescription(conn, w["patient"], w["unit"], drug_name="Alvedon")
    taken = await f.create_dispensation(conn, new, pharmacy, event_time=at(11))
    await f.create_dispensation(
        conn, new, pharmacy, event_time=at(12), amount=Decimal(-1), reverses_id=taken.id
    )
    query = """query($p: String) { patient(personnummer: $p) {
      prescriptions(filter: {statuses: [AKTIV]}) { totalCount nodes {
        drugName status chainId
        replaces { status }
        chain { totalCount nodes { status } }
        dispensations { totalCount nodes { amount pharmacy { name } prescription { status }
          reverses { amount } } } } } } }"""
    found = (await data_of(conn, query, {"p": w["patient"].identifier}))["patient"]
    active = [n for n in found["prescriptions"]["nodes"] if n["chainId"] == str(chain)]
    assert found["prescriptions"]["totalCount"] == 2
    rx = active[0]
    assert rx["replaces"] == {"status": "ERSATT"}
    assert [n["status"] for n in rx["chain"]["nodes"]] == ["AKTIV", "ERSATT"]
    assert rx["dispensations"]["totalCount"] == 2
    reversal, first = rx["dispensations"]["nodes"]
    assert reversal["reverses"] == {"amount": "1.000"}
    assert first["pharmacy"]["name"] == "Apoteket Hjärtat"
    assert first["prescription"] == {"status": "AKTIV"}


async def test_tooth_chart_is_the_newest_visible_finding_per_tooth(
    conn: AsyncConnection,
) -> None:
    w = await _world(conn)
    p, u = w["patient"], w["unit"]
    await f.create_tooth_finding(conn, p, u, tooth="36", finding_text="Karies", event_time=at(0))
    await f.create_tooth_finding(conn, p, u, tooth="36", finding_text="Fylld", event_time=at(5))
    await f.create_tooth_finding(
        conn, p, u, tooth="36", finding_text="Fel", event_time=at(9), nullified=True
    )
    await f.create_tooth_finding(conn, p, u, tooth="11", finding_text="Frisk", event_time=at(1))
    await f.create_dental_treatment(conn, p, u, tooth="36", procedure_code="701")
    query = """query($p: String) { patient(personnummer: $p) {
      toothChart { totalCount nodes { tooth findingText } }
      toothFindings { totalCount }
      dentalTreatments { nodes { procedureCode tooth priceSek } } } }"""
    data = (await data_of(conn, query, {"p": p.identifier}))["patient"]
    assert data["toothChart"]["nodes"] == [
        {"tooth": "11", "findingText": "Frisk"},
        {"tooth": "36", "findingText": "Fylld"},
    ]
    assert data["toothChart"]["totalCount"] == 2
    assert data["toothFindings"]["totalCount"] == 3
    assert data["dentalTreatments"]["nodes"] == [
        {"procedureCode": "701", "tooth": "36", "priceSek": "1000.00"}
    ]


async def test_municipal_care(conn: AsyncConnection) -> None:
    w = await _world(conn)
    kommun = await f.create_provider(conn, kind="kommun", name="Umeå kommun")
    home_care = await f.create_unit(conn, kommun, kind="home_care", name="Hemtjänst Norr")
    nurses = await f.create_unit(conn, w["provider"], kind="municipal_health", name="Kommunal HSL")
    decision = await f.create_municipal_decision(conn, w["patient"], home_care, event_time=at(0))
    plan = await f.create_implementation_plan(conn, decision, home_care, event_time=at(1))
    await f.create_plan_activity(conn, plan, position=2, goal="Promenad")
    await f.create_plan_activity(conn, plan, position=1, goal="Dusch")
    await f.create_care_document(conn, w["patient"], home_care, title="Hemtjänst", event_time=at(2))
    await f.create_care_document(conn, w["patient"], nurses, title="HSL", event_time=at(3))
    await f.create_care_document(conn, w["patient"], w["unit"], title="Vårdcentral")
    query = """query($p: String) { patient(personnummer: $p) {
      municipalDecisions { nodes { outcome extentAmount extentUnit caseOfficerName
        legalBasis { law } insats { name framework } municipality { name }
        implementationPlans { nodes { goals } } } }
      implementationPlans { nodes { goals decision { outcome }
        activities { totalCount nodes { position goal } } } }
      municipalHealthRecords { nodes { title } } } }"""
    data = (await data_of(conn, query, {"p": w["patient"].identifier}))["patient"]
    decided = data["municipalDecisions"]["nodes"][0]
    assert decided["outcome"] == "BEVILJAD"
    assert decided["insats"] == {"name": "hemtjänst", "framework": "SOL"}
    assert decided["municipality"] == {"name": "Stockholm"}
    assert decided["legalBasis"]["law"]
    assert decided["implementationPlans"]["nodes"] == [{"goals": "Bo kvar hemma."}]
    plan_data = data["implementationPlans"]["nodes"][0]
    assert plan_data["decision"] == {"outcome": "BEVILJAD"}
    assert [a["goal"] for a in plan_data["activities"]["nodes"]] == ["Dusch", "Promenad"]
    assert [d["title"] for d in data["municipalHealthRecords"]["nodes"]] == ["HSL", "Hemtjänst"]


async def test_consents_and_blocks(conn: AsyncConnection) -> None:
    w = await _world(conn)
    block = await f.create_block(
        conn, w["patient"], "inner", w["provider"], care_unit_id=w["unit"].id
    )
    await f.create_consent(
        conn, w["patient"], "block_lift", block_id=block.id, care_unit_id=w["unit"].id
    )
    await f.create_consent(
        conn, w["patient"], "nll_access", valid_from=at(-400), revoked_at=at(-300)
    )
    query = """query($p: String) { patient(personnummer: $p) {
      blocks { nodes { kind active careProvider { name } careUnit { name } exceptMedication } }
      consents { nodes {
        kind active givenBy careUnit { name } block { kind } careProvider { name } } } } }"""
    data = (await data_of(conn, query, {"p": w["patient"].identifier}))["patient"]
    assert data["blocks"]["nodes"] == [
        {
            "kind": "INNER",
            "active": True,
            "careProvider": {"name": "Region Test"},
            "careUnit": {"name": "Vårdcentral Test"},
            "exceptMedication": False,
        }
    ]
    revoked = data["consents"]["nodes"].pop(0)  # newest first: valid from 2023
    assert (revoked["kind"], revoked["active"]) == ("NLL_ACCESS", False)
    assert data["consents"]["nodes"] == [
        {
            "kind": "BLOCK_LIFT",
            "active": True,
            "givenBy": "patient",
            "careUnit": {"name": "Vårdcentral Test"},
            "block": {"kind": "INNER"},
            "careProvider": None,
        }
    ]


TIMELINE = """query($p: String, $kinds: [CareEventKind!], $filter: CareEventFilter,
  $first: Int, $after: String, $nul: Boolean!) {
  patient(personnummer: $p) {
    timeline(kinds: $kinds, filter: $filter, first: $first, after: $after,
             includeNullified: $nul) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { __typename eventTime
        ... on Diagnosis { code } ... on LabResult { name } ... on Vaccination { vaccineName } }
    } } }"""


async def test_timeline_mixes_every_kind_newest_first(conn: AsyncConnection) -> None:
    w = await _world(conn)
    p, u = w["patient"], w["unit"]
    await f.create_care_contact(conn, p, u, event_time=at(0))
    await f.create_diagnosis(conn, p, u, event_time=at(1), code="J45")
    await f.create_lab_result(conn, p, u, event_time=at(2))
    await f.create_vaccination(conn, p, u, event_time=at(3))
    await f.create_functional_status(conn, p, u, event_time=at(4))
    await f.create_referral_outcome(conn, p, u, event_time=at(5))
    await f.create_diagnosis(conn, p, u, event_time=at(6), code="X99", nullified=True)

    async def timeline(**args: Any) -> Any:
        variables = {"p": p.identifier, "nul": False} | args
        return (await data_of(conn, TIMELINE, variables))["patient"]["timeline"]

    everything = await timeline()
    assert [n["__typename"] for n in everything["nodes"]] == [
        "ReferralOutcome",
        "FunctionalStatus",
        "Vaccination",
        "LabResult",
        "Diagnosis",
        "CareContact",
    ]
    assert everything["totalCount"] == 6
    assert (await timeline(nul=True))["totalCount"] == 7
    only = await timeline(kinds=["DIAGNOSIS", "VACCINATION"])
    assert [n["__typename"] for n in only["nodes"]] == ["Vaccination", "Diagnosis"]
    period = {"period": {"start": at(2).isoformat(), "end": at(4).isoformat()}}
    assert [n["__typename"] for n in (await timeline(filter=period))["nodes"]] == [
        "Vaccination",
        "LabResult",
    ]
    first = await timeline(first=4)
    rest = await timeline(first=4, after=first["pageInfo"]["endCursor"])
    assert first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    assert [n["__typename"] for n in first["nodes"] + rest["nodes"]] == [
        n["__typename"] for n in everything["nodes"]
    ]


async def test_reverse_links_pass_the_policy_for_each_patient(conn: AsyncConnection) -> None:
    w = await _world(conn)
    seen, hidden = w["patient"], await f.create_patient(conn)
    doctor = await f.create_practitioner(conn)
    # Contacts at the unit alternate between the two patients, newest first: s0 h0 s1 h1 ...
    for i in range(5):
        for patient, tag in ((seen, "s"), (hidden, "h")):
            await f.create_care_contact(
                conn, patient, w["unit"], event_time=at(-2 * i - (tag == "h")), reason=f"{tag}{i}"
            )
            await f.create_care_document(
                conn,
                patient,
                w["unit"],
                accountable_practitioner_id=doctor.id,
                title=f"{tag}{i}",
                event_time=at(-2 * i - (tag == "h")),
            )
    query = """query($h: String, $ph: String, $first: Int, $after: String) {
      careUnit(hsaId: $h) { careContacts(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } nodes { reason patient { id } } } }
      practitioner(hsaId: $ph) { documents(first: $first) { totalCount nodes { title } } } }"""
    variables = {"h": w["unit"].hsa_id, "ph": doctor.hsa_id, "first": 2}

    everyone = await data_of(conn, query, variables)
    assert [n["reason"] for n in everyone["careUnit"]["careContacts"]["nodes"]] == ["s0", "h0"]
    assert everyone["careUnit"]["careContacts"]["totalCount"] == 10

    policy = OnlyThese(seen.id)
    page = (await data_of(conn, query, variables, policy=policy))["careUnit"]["careContacts"]
    assert [n["reason"] for n in page["nodes"]] == ["s0", "s1"]
    assert page["totalCount"] == 5
    assert page["pageInfo"]["hasNextPage"] is True
    reasons = [n["reason"] for n in page["nodes"]]
    after = page["pageInfo"]["endCursor"]
    while after is not None:
        page = (await data_of(conn, query, variables | {"after": after}, policy=policy))[
            "careUnit"
        ]["careContacts"]
        reasons += [n["reason"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert reasons == ["s0", "s1", "s2", "s3", "s4"]
    docs = (await data_of(conn, query, variables, policy=policy))["practitioner"]["documents"]
    assert [d["title"] for d in docs["nodes"]] == ["s0", "s1"]
    assert docs["totalCount"] == 5
    nobody = await data_of(conn, query, variables, policy=OnlyThese())
    assert nobody["careUnit"]["careContacts"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "nodes": [],
    }


async def test_prescriptions_by_atc_group(conn: AsyncConnection) -> None:
    w = await _world(conn)
    for atc, name in [("B01AF02", "Eliquis"), ("M05BA04", "Alendronat"), ("N02BE01", "Alvedon")]:
        await f.create_prescription(conn, w["patient"], w["unit"], atc_code=atc, drug_name=name)
    query = """query($p: String, $atc: [String!]) { patient(personnummer: $p) {
      prescriptions(filter: {atcPrefixes: $atc}) { totalCount nodes { drugName } } } }"""
    found = await data_of(conn, query, {"p": w["patient"].identifier, "atc": ["b01a", "M05BA"]})
    listed = found["patient"]["prescriptions"]
    assert listed["totalCount"] == 2
    assert {n["drugName"] for n in listed["nodes"]} == {"Eliquis", "Alendronat"}


async def test_a_malformed_atc_group_is_bad_input(conn: AsyncConnection) -> None:
    w = await _world(conn)
    query = """query($p: String) { patient(personnummer: $p) {
      prescriptions(filter: {atcPrefixes: ["B01%"]}) { totalCount } } }"""
    result = await execute(conn, query, {"p": w["patient"].identifier})
    [error] = result.errors or []
    assert error.original_error is not None
    assert error.original_error.extensions["rule"] == "atc_prefix"  # type: ignore[attr-defined]
