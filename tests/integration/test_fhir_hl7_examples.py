"""Importing FHIR that vardkedja did not write: HL7's published R4 examples (see
tests/fixtures/fhir/hl7/README.md). What fits is stored; the rest is reported, not dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.audit import AuditBuffer
from app.fhir.importer import ImportOptions, bundle_entries, import_entries
from app.fhir.r4 import loads
from tests.factories import create_provider, create_unit

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir" / "hl7"
ORDER = [
    "patient-example.json",
    "patient-example-f001-pieter.json",
    "observation-example-f001-glucose.json",
    "observation-example.json",
    "condition-example.json",
    "allergyintolerance-example.json",
    "goal-example.json",
]
TABLES = SQLModel.metadata.tables
SOURCE = "SE5565594230-EXT"


def examples_bundle() -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": loads((EXAMPLES / name).read_bytes())} for name in ORDER],
    }


async def rows(conn: AsyncConnection, table: str) -> list[dict[str, Any]]:
    result = await conn.execute(select(TABLES[table]))
    return [dict(r) for r in result.mappings()]


async def import_examples(conn: AsyncConnection) -> Any:
    provider = await create_provider(conn)
    unit = await create_unit(conn, provider)
    options = ImportOptions(source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    result = await import_entries(
        conn, [bundle_entries(examples_bundle())], options=options, audit=AuditBuffer()
    )
    return result, unit


async def test_hl7_examples_imported_and_reported(conn: AsyncConnection) -> None:
    result, unit = await import_examples(conn)
    assert result.ok, result.errors
    assert result.imported == {"AllergyIntolerance": 1, "Observation": 1, "Patient": 2}
    skipped = [u for u in result.unsupported if u.code == "UNSUPPORTED_RESOURCE"]
    assert [(u.index, u.resource_type) for u in skipped] == [
        (3, "Observation"),
        (4, "Condition"),
        (6, "Goal"),
    ]
    reasons = [u.reason for u in skipped]
    assert "lab result" in reasons[0] and "ICD-10" in reasons[1] and "Goal" in reasons[2]

    patients = {p["family_name"]: p for p in await rows(conn, "patient")}
    chalmers, heuvel = patients["Chalmers"], patients["van de Heuvel"]
    # An MRN is kept as (system, value), never as a reservnummer.
    assert (chalmers["identifier_kind"], chalmers["identifier"]) == ("external", "12345")
    assert chalmers["reserve_issuer"] is None
    held = {
        (r["system"], r["value"]): r["patient_id"] for r in await rows(conn, "patient_identifier")
    }
    assert held[("urn:oid:1.2.36.146.595.217.0.1", "12345")] == chalmers["id"]
    assert chalmers["given_name"] == "Peter James" and chalmers["city"] == "PleasantVille"
    assert heuvel["postal_code"] == "1024RJ"

    (lab,) = await rows(conn, "lab_result")
    assert lab["patient_id"] == heuvel["id"]
    assert (lab["code_system"], lab["code"], lab["unit"]) == ("LOINC", "15074-8", "mmol/l")
    # As written: 6.3, not 6.300000.
    assert str(lab["value_numeric"]) == "6.3" and lab["interpretation"] == "high"
    assert (lab["document_id"], lab["source_system_hsa_id"]) == ("6323", SOURCE)
    assert lab["accountable_name"] == "A. Langeveld"  # Practitioner/f005 is not in the bundle
    assert lab["care_unit_id"] == unit.id

    (alert,) = await rows(conn, "alert")
    assert alert["patient_id"] == chalmers["id"]
    assert (alert["alert_type"], alert["agent_text"], alert["severity"]) == (
        "hypersensitivity",
        "Cashew nuts",
        "severe",
    )
    assert alert["description"].startswith("The criticality is high")


async def test_hl7_examples_reimport_is_idempotent(conn: AsyncConnection) -> None:
    first, _ = await import_examples(conn)
    options = ImportOptions(source_system_hsa_id=SOURCE, care_unit_hsa_id=None)
    second = await import_entries(conn, [bundle_entries(examples_bundle())], options=options)
    # Without a default care unit, the clinical examples cannot be placed: all-or-nothing.
    assert not second.ok
    assert {e.path for e in second.errors} == {"extension:care-unit"}
    units = await rows(conn, "care_unit")
    again = await import_entries(
        conn,
        [bundle_entries(examples_bundle())],
        options=ImportOptions(SOURCE, units[0]["hsa_id"]),
    )
    assert again.ok and sum(again.created.values()) == 0
    assert again.updated == first.created
    assert len(await rows(conn, "patient")) == 2
