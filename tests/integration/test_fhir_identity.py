"""Who a FHIR Patient is: identifiers as (system, value), matched only on those, and a conflict
is an error of its entry, never an update. Two persons must never become one row."""

from __future__ import annotations

import copy
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.fhir.importer import ImportOptions, bundle_entries, import_entries
from app.fhir.r4 import loads
from app.settings import Settings
from app.tokens import mint
from tests.factories import create_patient, create_provider, create_unit

HL7 = Path(__file__).resolve().parent.parent / "fixtures" / "fhir" / "hl7"
TABLES = SQLModel.metadata.tables
PNR_OID = "urn:oid:1.2.752.129.2.1.3.1"
PNR_URI = "http://electronichealth.se/identifier/personnummer"
SYNTHEA = "https://github.com/synthetichealth/synthea"
SOURCE = "SE5565594230-EXT"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = loads((HL7 / name).read_bytes())
    return data


def bundle(*resources: dict[str, Any], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def person(system: str, value: str, **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": kw.pop("id", "p1"),
        "identifier": [{"system": system, "value": value}],
        "name": [{"family": kw.pop("family", "Tolvansson"), "given": [kw.pop("given", "Tolvan")]}],
        "gender": "female",
        "birthDate": kw.pop("birthDate", "1912-12-12"),
        **kw,
    }


async def run(conn: AsyncConnection, data: dict[str, Any], **options: Any) -> Any:
    return await import_entries(conn, [bundle_entries(data)], options=ImportOptions(**options))


async def patients(conn: AsyncConnection) -> list[dict[str, Any]]:
    table = TABLES["patient"]
    result = await conn.execute(select(table).order_by(table.c.birth_date))
    return [dict(r) for r in result.mappings()]


async def identifiers(conn: AsyncConnection) -> dict[tuple[str, str], uuid.UUID]:
    table = TABLES["patient_identifier"]
    return {(r[0], r[1]): r[2] for r in await conn.execute(select(table))}


async def test_equal_values_of_different_systems_are_two_patients(conn: AsyncConnection) -> None:
    # HL7's Patient example (MRN 12345, born 1974) and Patient xcda (MRN 12345 of another
    # system, born 1932): once merged into one row by the old unique key.
    first = await run(conn, bundle(example("patient-example.json")))
    assert first.ok, first.errors
    before = await patients(conn)
    second = await run(conn, bundle(example("patient-xcda.json")))
    assert second.ok, second.errors
    assert second.created["Patient"] == 1 and second.updated["Patient"] == 0
    rows = await patients(conn)
    assert len(rows) == 2
    levin, chalmers = rows
    assert (levin["family_name"], str(levin["birth_date"])) == ("Levin", "1932-09-24")
    assert chalmers == before[0]  # untouched
    held = await identifiers(conn)
    assert held[("urn:oid:1.2.36.146.595.217.0.1", "12345")] == chalmers["id"]
    assert held[("urn:oid:2.16.840.1.113883.19.5", "12345")] == levin["id"]


async def test_equal_values_of_different_systems_in_one_bundle(conn: AsyncConnection) -> None:
    result = await run(conn, bundle(example("patient-example.json"), example("patient-xcda.json")))
    assert result.ok, result.errors
    assert result.created["Patient"] == 2
    assert len(await patients(conn)) == 2


async def test_oid_and_hl7_sweden_uri_are_one_person(conn: AsyncConnection) -> None:
    first = await run(conn, bundle(person(PNR_OID, "191212121212", id="a")))
    assert first.ok, first.errors
    second = await run(conn, bundle(person(PNR_URI, "19121212-1212", id="b", gender="female")))
    assert second.ok, second.errors
    assert (second.created["Patient"], second.updated["Patient"]) == (0, 1)
    (row,) = await patients(conn)
    assert (row["identifier_kind"], row["identifier"]) == ("personnummer", "191212121212")
    assert await identifiers(conn) == {}  # the one identifier is the row's own


async def test_a_patient_registered_here_is_found_by_the_uri(conn: AsyncConnection) -> None:
    existing = await create_patient(
        conn, identifier="191212121212", birth_date=date(1912, 12, 12), given_name="Tolvan"
    )
    data = person(PNR_URI, "191212121212", birthDate=str(existing.birth_date))
    result = await run(conn, bundle(data))
    assert result.ok, result.errors
    assert result.updated["Patient"] == 1
    assert [r["id"] for r in await patients(conn)] == [existing.id]


async def test_a_conflicting_reimport_is_an_error_and_changes_nothing(
    conn: AsyncConnection,
) -> None:
    await run(conn, bundle(person(PNR_OID, "191212121212")))
    before = await patients(conn)
    for changed, path in (
        ({"birthDate": "1950-09-07"}, "Patient.birthDate"),
        ({"family": "Goode", "given": "John"}, "Patient.name"),
    ):
        result = await run(conn, bundle(person(PNR_URI, "191212121212", id="other", **changed)))
        assert not result.ok
        ((error),) = result.errors
        assert (error.index, error.resource_type, error.path) == (0, "Patient", path)
        assert "nothing was changed" in error.reason
        assert await patients(conn) == before


async def test_an_mrn_of_one_patient_with_the_personnummer_of_another(
    conn: AsyncConnection,
) -> None:
    await run(conn, bundle(example("patient-example.json")))
    await run(conn, bundle(person(PNR_OID, "191212121212")))
    before = await patients(conn)
    chalmers = example("patient-example.json")
    chalmers["identifier"].append({"system": PNR_URI, "value": "191212121212"})
    result = await run(conn, bundle(chalmers))
    assert not result.ok
    assert result.errors[0].path == "Patient.identifier"
    assert "different patients" in result.errors[0].reason
    assert await patients(conn) == before


async def test_a_new_person_with_a_known_resource_id_gets_a_row_of_its_own(
    conn: AsyncConnection,
) -> None:
    await run(conn, bundle(person("urn:oid:1.2.3", "A1", id="example")))
    result = await run(
        conn, bundle(person("urn:oid:9.9.9", "A1", id="example", birthDate="1960-01-01"))
    )
    assert result.ok, result.errors
    assert result.created["Patient"] == 1
    rows = await patients(conn)
    assert len(rows) == 2 and rows[0]["id"] != rows[1]["id"]


async def test_the_same_person_twice_in_one_import_is_an_error(conn: AsyncConnection) -> None:
    result = await run(
        conn,
        bundle(person(PNR_OID, "191212121212", id="a"), person(PNR_URI, "191212121212", id="b")),
    )
    assert not result.ok
    assert (result.errors[0].index, result.errors[0].reason) == (1, "the same person as entry 0")


def synthea_bundle(patient_id: str) -> dict[str, Any]:
    """A transaction Bundle shaped like Synthea's: urn:uuid fullUrls, POST requests, the
    Synthea uuid as an identifier beside an MRN."""
    patient_url = f"urn:uuid:{patient_id}"
    observation_id = str(uuid.uuid4())
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": patient_url,
                "resource": {
                    "resourceType": "Patient",
                    "id": patient_id,
                    "identifier": [
                        {"system": SYNTHEA, "value": patient_id},
                        {
                            "type": {"coding": [{"code": "MR"}]},
                            "system": "http://hospital.smarthealthit.org",
                            "value": patient_id,
                        },
                    ],
                    "name": [{"use": "official", "family": "Hane680", "given": ["Adan632"]}],
                    "gender": "male",
                    "birthDate": "1961-01-21",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": f"urn:uuid:{observation_id}",
                "resource": {
                    "resourceType": "Observation",
                    "id": observation_id,
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                    "code": "laboratory",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]},
                    "subject": {"reference": patient_url},
                    "effectiveDateTime": "2020-03-01T10:00:00+01:00",
                    "valueQuantity": {
                        "value": 5.4,
                        "unit": "mmol/L",
                        "system": "http://unitsofmeasure.org",
                        "code": "mmol/L",
                    },
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }


async def test_a_synthea_transaction_bundle_imports(conn: AsyncConnection) -> None:
    unit = await create_unit(conn, await create_provider(conn))
    patient_id = str(uuid.uuid4())
    data = synthea_bundle(patient_id)
    result = await run(conn, data, source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    assert result.ok, result.errors
    assert result.imported == {"Observation": 1, "Patient": 1}
    (row,) = await patients(conn)
    assert (row["identifier_kind"], row["identifier"]) == ("external", patient_id)
    assert row["id"] == uuid.UUID(patient_id)
    assert set(await identifiers(conn)) == {
        (SYNTHEA, patient_id),
        ("http://hospital.smarthealthit.org", patient_id),
    }
    lab = (await conn.execute(select(TABLES["lab_result"]))).mappings().one()
    assert lab["patient_id"] == row["id"]
    again = await run(conn, data, source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    assert again.ok and sum(again.created.values()) == 0


async def test_follow_on_errors_name_the_failing_entry(conn: AsyncConnection) -> None:
    unit = await create_unit(conn, await create_provider(conn))
    data = synthea_bundle(str(uuid.uuid4()))
    broken = copy.deepcopy(data)
    del broken["entry"][0]["resource"]["name"]
    result = await run(conn, broken, source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    assert not result.ok
    assert [(e.index, e.path) for e in result.errors] == [(0, "Patient.name")]
    invalid = copy.deepcopy(data)
    invalid["entry"][0]["resource"]["birthDate"] = "21 January 1961"
    result = await run(conn, invalid, source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    by_index = {e.index: e for e in result.errors}
    assert by_index[0].path == "Patient.birthDate"
    assert "entry 0, which has errors" in by_index[1].reason
    assert "neither" not in by_index[1].reason
    assert await patients(conn) == []


async def test_external_identifiers_are_exported(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    result = await run(conn, bundle(example("patient-xcda.json")))
    assert result.ok
    (row,) = await patients(conn)
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.get(
        f"/fhir/Patient/{row['id']}/$everything", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    patient = response.json()["entry"][0]["resource"]
    # The identifier as it came in: its use and type are kept beside the row (fhir_preserved).
    assert patient["identifier"] == example("patient-xcda.json")["identifier"]


async def test_a_personnummer_lookup_never_finds_an_external_identifier(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    # Another system's identifier with the digits of a personnummer is not that personnummer.
    result = await run(conn, bundle(person("urn:oid:1.2.3", "191212121212")))
    assert result.ok
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.post(
        "/graphql",
        json={"query": '{ patient(personnummer: "191212121212") { id } }'},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["patient"] is None


def hl7_sweden_protected_patient() -> dict[str, Any]:
    """HL7 Sweden's base-profile example of a patient with sekretessmarkering
    (PatientExample200001252386), as its FSH source describes it."""
    return {
        "resourceType": "Patient",
        "id": "PatientExample200001252386",
        "meta": {
            "security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "DEMO"},
                {
                    "system": "http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel",
                    "code": "sekretessmarkering",
                },
            ]
        },
        "identifier": [{"system": PNR_URI, "value": "200001252386"}],
        "name": [{"use": "official", "family": "Skyddad uppgift", "given": ["Skyddad uppgift"]}],
        "gender": "female",
        "birthDate": "2000-01-25",
        "address": [
            {"line": ["Förmedlingsuppdrag", "Box 2820"], "city": "GÖTEBORG", "postalCode": "40320"}
        ],
    }


async def test_sekretessmarkering_in_meta_security_protects_both_ways(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    result = await run(conn, bundle(hl7_sweden_protected_patient()))
    assert result.ok, result.errors
    (row,) = await patients(conn)
    assert row["protected_identity"] is True
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.get(
        f"/fhir/Patient/{row['id']}/$everything", headers={"authorization": f"Bearer {token}"}
    )
    patient = response.json()["entry"][0]["resource"]
    assert "address" not in patient  # A16
    # Not even what the row could not hold (the second address line), kept for export.
    assert "Box 2820" not in response.text and "GÖTEBORG" not in response.text
    assert {
        "system": "http://hl7.se/fhir/ig/base/CodeSystem/SecurityLabel",
        "code": "sekretessmarkering",
        "display": "Sekretessmarkering",
    } in patient["meta"]["security"]
    assert patient["meta"]["profile"] == [
        "http://hl7.se/fhir/ig/base/StructureDefinition/SEBasePatient"
    ]


async def test_an_unmarked_patient_carries_no_security_label(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    data = hl7_sweden_protected_patient()
    del data["meta"]
    result = await run(conn, bundle(data))
    assert result.ok, result.errors
    (row,) = await patients(conn)
    assert row["protected_identity"] is False
    token = mint(settings, kind="system", subject="test-fhir")
    response = await client.get(
        f"/fhir/Patient/{row['id']}/$everything", headers={"authorization": f"Bearer {token}"}
    )
    patient = response.json()["entry"][0]["resource"]
    assert "security" not in patient["meta"]
    assert patient["address"][0]["city"] == "GÖTEBORG"


async def test_synthea_encounters_at_organisations_without_hsa_id(conn: AsyncConnection) -> None:
    """Synthea's encounters name its own organisations (no HSA-id, not stored): with a default
    care unit they are stored there, and the foreign serviceProvider is reported and kept."""
    unit = await create_unit(conn, await create_provider(conn))
    patient_id = str(uuid.uuid4())
    data = synthea_bundle(patient_id)
    organization, encounter = str(uuid.uuid4()), str(uuid.uuid4())
    data["entry"] += [
        {
            "fullUrl": f"urn:uuid:{organization}",
            "resource": {"resourceType": "Organization", "id": organization, "name": "PCP1"},
            "request": {"method": "POST", "url": "Organization"},
        },
        {
            "fullUrl": f"urn:uuid:{encounter}",
            "resource": {
                "resourceType": "Encounter",
                "id": encounter,
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": {"reference": f"urn:uuid:{patient_id}"},
                "period": {"start": "2020-03-01T09:00:00+01:00"},
                "serviceProvider": {"reference": f"urn:uuid:{organization}"},
            },
            "request": {"method": "POST", "url": "Encounter"},
        },
    ]
    data["entry"][1]["resource"]["encounter"] = {"reference": f"urn:uuid:{encounter}"}
    result = await run(conn, data, source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    assert result.ok, result.errors
    assert result.imported == {"Encounter": 1, "Observation": 1, "Patient": 1}
    reports = {(u.index, u.code, u.path) for u in result.unsupported}
    assert (2, "UNSUPPORTED_RESOURCE", None) in reports
    assert (3, "UNSUPPORTED_ELEMENT", "Encounter.serviceProvider.reference") in reports
    contact = (await conn.execute(select(TABLES["care_contact"]))).mappings().one()
    lab = (await conn.execute(select(TABLES["lab_result"]))).mappings().one()
    assert contact["care_unit_id"] == unit.id
    assert lab["care_contact_id"] == contact["id"]


async def test_hl7_sweden_example_patients_keep_their_kinds(conn: AsyncConnection) -> None:
    """HL7 Sweden's base-profile examples (as their FSH sources describe them): a
    samordningsnummer and a national reservnummer under electronichealth.se URIs."""
    base = "http://electronichealth.se/identifier/"
    examples = [
        person(
            f"{base}samordningsnummer",
            "196109732393",
            id="PatientExample196109732393",
            family="Smith",
            given="Tom",
            birthDate="1961-09-13",
        ),
        person(
            f"{base}nationelltReservnummer",
            "98240301AA06",
            id="PatientExample98240301AA06",
            family="Efternamn",
            given="Förnamn",
            birthDate="2024-03-01",
        ),
    ]
    result = await run(conn, bundle(*examples))
    assert result.ok, result.errors
    kinds = {
        (r["identifier_kind"], r["identifier"], r["reserve_issuer"]) for r in await patients(conn)
    }
    assert kinds == {
        ("samordningsnummer", "196109732393", None),
        ("reservnummer", "98240301AA06", "urn:oid:1.2.752.129.2.1.3.2"),
    }
    # Sent again under the OIDs: the same two patients.
    again = [copy.deepcopy(e) for e in examples]
    again[0]["identifier"][0]["system"] = "urn:oid:1.2.752.129.2.1.3.3"
    again[1]["identifier"][0]["system"] = "urn:oid:1.2.752.129.2.1.3.2"
    second = await run(conn, bundle(*again))
    assert second.ok and (second.created["Patient"], second.updated["Patient"]) == (0, 2)
