"""The situation matrix (issue 10): each shipped operation, as each role it is meant for, on
the demo data, with that role's own token (as `vardkedja token` mints it; never `system`).
For each: the categories the role must see, and the `withheld` entries for what it must not.
"""

from __future__ import annotations

from typing import Any

from tests.integration.demo_support import Demo, token_for

TOLVAN, JOHAN, ELLA, OSKAR = "191212121212", "197506023394", "201908235623", "201203152713"
ER_DOCTOR = "--as clinician --who er_doctor"
HOME_CARE_NURSE = "--as clinician --who home_care_nurse"
# The same nurse signed in at the municipal health-care unit (no consents for that unit).
MUNICIPAL_NURSE = "--as clinician --who home_care_nurse --unit SE2120000142-HSSO"
DENTIST = "--as clinician --who dentist"
PHARMACIST = "--as clinician --who pharmacist"
PATIENT = "--as patient --who tolvan"
GUARDIAN = "--as guardian"

NOT_APPROVED = [
    ("ALERTS", "NOT_APPROVED", "APPROVAL_BY_CARE_UNIT"),
    ("RECORDS", "NOT_APPROVED", "APPROVAL_BY_CARE_UNIT"),
]
NO_NLL = ("MEDICATION", "NO_NLL_CONSENT", "NLL_CONSENT")
NO_SVOD = [("ALERTS", "NO_CONSENT", "SVOD_CONSENT"), ("RECORDS", "NO_CONSENT", "SVOD_CONSENT")]


async def patient(demo: Demo, as_: str, operation: str, pnr: str) -> Any:
    body = await demo.run(as_, operation, {"personnummer": pnr})
    return body["data"]["patient"]


def withheld(p: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(w["category"], w["reason"], w["action"]) for w in p["withheld"]]


def drugs(connection: dict[str, Any]) -> set[str]:
    return {n["drugName"] for n in connection["nodes"]}


def allergies(p: dict[str, Any]) -> list[str]:
    return [a["description"] for a in p["alerts"]["nodes"] if a["alertType"] == "HYPERSENSITIVITY"]


async def test_er_doctor_emergency_overview(demo: Demo) -> None:
    p = await patient(demo, ER_DOCTOR, "EmergencyOverview", TOLVAN)
    assert withheld(p) == []
    assert any("penicillin" in a for a in allergies(p))
    assert all(a["critical"] for a in p["alerts"]["nodes"] if a["severity"] == "SEVERE")
    assert "Waran" in drugs(p["prescriptions"])
    assert p["bloodGroup"]["valueText"] == "A RhD positiv"
    assert p["labResults"]["totalCount"] > 0
    assert p["careContacts"]["totalCount"] > 0 and p["diagnoses"]["totalCount"] > 0
    # Johan blocked his private health centre: the ER learns that, not where (A7), and
    # without his NLL consent sees only its own prescriptions.
    p = await patient(demo, ER_DOCTOR, "EmergencyOverview", JOHAN)
    assert withheld(p) == [NO_NLL, ("RECORDS", "BLOCKED", "EMERGENCY_ACCESS")]
    assert "Escitalopram" not in drugs(p["prescriptions"])
    assert all(c["careUnit"]["name"] != "Hälsoringen Södermalm" for c in p["careContacts"]["nodes"])


async def test_home_care_nurse_home_care_visit(demo: Demo) -> None:
    p = await patient(demo, HOME_CARE_NURSE, "HomeCareVisit", TOLVAN)
    assert withheld(p) == []
    assert "Waran" in drugs(p["prescriptions"])  # the medication she gives
    assert any("penicillin" in a for a in allergies(p))
    assert p["address"] is not None
    decisions = p["municipalDecisions"]["nodes"]
    assert {d["insats"]["code"] for d in decisions} >= {"SOL-HEMTJANST", "SOL-TRYGGHETSLARM"}
    plans = [plan for d in decisions for plan in d["implementationPlans"]["nodes"]]
    assert plans and all(plan["activities"]["nodes"] for plan in plans)
    # Today's signing list: her own signatures of the region's prescriptions.
    signed = p["medicationAdministrations"]["nodes"]
    assert signed and {s["accountable"]["name"] for s in signed} == {"Eva Holmberg"}
    assert "Waran" in {s["prescription"]["drugName"] for s in signed}


async def test_municipal_nurse_without_consents_is_told_what_is_withheld(demo: Demo) -> None:
    p = await patient(demo, MUNICIPAL_NURSE, "HomeCareVisit", TOLVAN)
    assert p["municipalDecisions"]["totalCount"] > 0  # her municipality's own records
    # The region's alerts and the medication list need Tolvan's consents for this unit: the
    # empty lists are not "none".
    assert p["alerts"]["nodes"] == [] and p["prescriptions"]["nodes"] == []
    # Her own signatures (A11: what she signed is hers), but not the region's prescriptions.
    signed = p["medicationAdministrations"]["nodes"]
    assert signed and all(s["prescription"] is None for s in signed)
    assert withheld(p) == [NO_NLL, *NO_SVOD]


async def test_dentist_dental_visit(demo: Demo) -> None:
    p = await patient(demo, DENTIST, "DentalVisit", TOLVAN)
    assert NO_NLL not in withheld(p)  # Tolvan's NLL consent for the clinic
    assert [n["atcCode"] for n in p["dentalRelevant"]["nodes"]] == ["B01AA03"]  # warfarin
    assert "Waran" in drugs(p["activeMedication"])
    assert any("penicillin" in a for a in allergies(p))
    assert p["dentalTreatments"]["nodes"] and p["toothChart"]["nodes"]
    # Oskar gave no NLL consent: his medication is withheld, and it says so.
    p = await patient(demo, DENTIST, "DentalVisit", OSKAR)
    assert NO_NLL in withheld(p)
    assert p["activeMedication"]["nodes"] == [] and p["dentalTreatments"]["nodes"]


async def test_pharmacist_pharmacy_dispensing(demo: Demo) -> None:
    p = await patient(demo, PHARMACIST, "PharmacyDispensing", TOLVAN)
    assert withheld(p) == []
    active = p["prescriptions"]["nodes"]
    waran = next(n for n in active if n["drugName"] == "Waran")
    assert 0 <= waran["remainingDispensations"] <= waran["dispensationsAllowed"]
    assert waran["dispensations"]["nodes"]
    # Only hypersensitivities of the record (the NLL expedition basis).
    assert {a["alertType"] for a in p["alerts"]["nodes"]} == {"HYPERSENSITIVITY"}
    # No prescription of a class Tolvan is allergic to (penicillins, J01C).
    assert not [n for n in active if n["atcCode"].startswith("J01C")]


async def test_patient_my_record(demo: Demo) -> None:
    body = await demo.run(PATIENT, "MyRecord", {"personnummer": TOLVAN, "first": 5})
    p = body["data"]["patient"]
    assert withheld(p) == NOT_APPROVED
    assert "Waran" in drugs(p["prescriptions"]) and allergies(p)
    assert len(p["timeline"]["nodes"]) == 5 and p["timeline"]["pageInfo"]["hasNextPage"]


async def test_guardian_my_record(demo: Demo) -> None:
    p = await patient(demo, GUARDIAN, "MyRecord", ELLA)
    assert withheld(p) == NOT_APPROVED
    assert p["timeline"]["nodes"]
    # Oskar is 13-15: neither guardian nor child reads his record by default (A10).
    assert await patient(demo, GUARDIAN + f" --represents {OSKAR}", "MyRecord", OSKAR) is None


async def test_roles_outside_their_situation_see_nothing(demo: Demo) -> None:
    # The pharmacist's basis is expedition: the emergency overview shows no records.
    p = await patient(demo, PHARMACIST, "EmergencyOverview", TOLVAN)
    assert p["careContacts"]["totalCount"] == 0 and p["diagnoses"]["totalCount"] == 0
    # Home care has neither a relationship with Ella nor a decision to carry out for her.
    assert await patient(demo, HOME_CARE_NURSE, "HomeCareVisit", ELLA) is None


async def test_emergency_access_opens_what_withheld_named(demo: Demo) -> None:
    emergency = {"x-purpose-of-use": "ETREAT", "x-emergency-reason": "Medvetslos vid ankomst"}
    body = await demo.run(
        ER_DOCTOR, "EmergencyOverview", {"personnummer": JOHAN}, headers=emergency
    )
    p = body["data"]["patient"]
    # In an emergency the whole medication list is open, but the block still hides what the
    # blocked provider holds (its antidepressant too) until step 1 (A6).
    assert withheld(p) == [("RECORDS", "BLOCKED", "EMERGENCY_ACCESS")]
    assert "Escitalopram" not in drugs(p["prescriptions"])
    token = token_for(demo.settings, ER_DOCTOR)
    step1 = await demo.http.post(
        "/graphql",
        json={
            "query": "query ($id: ID!) { emergencyBlockedProviders(patientId: $id) { name } }",
            "variables": {"id": p["id"]},
        },
        headers={"authorization": f"Bearer {token}", **emergency},
    )
    assert step1.json()["data"]["emergencyBlockedProviders"] == [{"name": "Hälsoringen Vård AB"}]
    body = await demo.run(
        ER_DOCTOR, "EmergencyOverview", {"personnummer": JOHAN}, headers=emergency
    )
    p = body["data"]["patient"]
    assert withheld(p) == []
    assert "Escitalopram" in drugs(p["prescriptions"])


async def test_home_care_nurse_discharge_handover_shows_the_sip(demo: Demo) -> None:
    p = await patient(demo, HOME_CARE_NURSE, "DischargeHandover", TOLVAN)
    plans = p["sipPlans"]["nodes"]
    assert [s["title"] for s in plans] == ["Hemgång efter vårdtillfälle för pneumoni"]
    # Written by the region's vårdcentral and by her own home-care unit, in one plan.
    writers = {a["writtenByUnit"]["name"] for a in plans[0]["actions"]["nodes"]}
    assert writers == {"Vårdcentralen Södermalm", "Hemtjänst Södermalm"}
    assert {r["role"] for r in plans[0]["participants"]["nodes"]} >= {"patient"}
