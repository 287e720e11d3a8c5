"""Importing FHIR: valid bundles, per-entry errors, idempotent re-import, unsupported types,
all-or-nothing transactions, NDJSON streaming and references inside a bundle."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.audit import AuditBuffer
from app.fhir.exporter import split_parts, to_resources
from app.fhir.importer import ImportOptions, bundle_entries, chunks, import_entries
from app.fhir.jobs import import_paths
from app.fhir.ndjson import NdjsonWriter, import_order, read_ndjson
from app.fhir.r4 import FhirJson, dumps
from app.settings import Settings
from tests.fixtures.fhir.rows import PATIENT, bare_header, coherent_record

TABLES = SQLModel.metadata.tables


def as_bundle(record: dict[str, list[dict[str, Any]]], kind: str = "transaction") -> FhirJson:
    record = dict(record)
    parts = split_parts(record)
    resources: list[FhirJson] = []
    for table, rows in record.items():
        resources += to_resources(table, rows, parts)
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


async def import_bundle(conn: AsyncConnection, bundle: FhirJson, **options: Any) -> Any:
    return await import_entries(
        conn, [bundle_entries(bundle)], options=ImportOptions(**options), audit=AuditBuffer()
    )


async def count(conn: AsyncConnection, table: str) -> int:
    return int((await conn.execute(select(func.count()).select_from(TABLES[table]))).scalar_one())


async def rows_of(conn: AsyncConnection, table: str, key: str) -> list[dict[str, Any]]:
    t = TABLES[table]
    result = await conn.execute(select(t).order_by(t.c[key]))
    return [dict(r) for r in result.mappings()]


async def test_valid_bundle_writes_every_column(conn: AsyncConnection) -> None:
    record = coherent_record()
    result = await import_bundle(conn, as_bundle(record))
    assert result.ok, result.errors
    assert result.created["Patient"] == 2
    # lab result, functional status, tooth finding, vital signs
    assert result.created["Observation"] == 4
    for table, rows in record.items():
        key = "code" if table == "municipality" else "id"
        stored = {r[key]: r for r in await rows_of(conn, table, key)}
        for row in rows:
            assert stored[row[key]] == row, table


async def test_reimport_creates_no_duplicates(conn: AsyncConnection) -> None:
    bundle = as_bundle(coherent_record())
    first = await import_bundle(conn, bundle)
    before = {t: await count(conn, t) for t in ("patient", "prescription", "plan_activity")}
    second = await import_bundle(conn, bundle)
    assert first.ok and second.ok
    assert sum(second.created.values()) == 0
    assert second.updated == first.created
    assert {t: await count(conn, t) for t in before} == before


async def test_invalid_entries_are_reported_and_nothing_is_written(conn: AsyncConnection) -> None:
    bundle = as_bundle(coherent_record())
    patients_before = await count(conn, "patient")
    entries = bundle["entry"]
    patient_entry = next(e for e in entries if e["resource"]["resourceType"] == "Patient")
    patient_entry["resource"]["identifier"][0]["value"] = "191212121213"  # bad check digit
    condition = next(e for e in entries if e["resource"]["resourceType"] == "Condition")
    condition["resource"]["onsetDateTime"] = "not a date"
    result = await import_bundle(conn, bundle)
    assert not result.ok
    assert result.imported == {}
    found = {(e.index, e.resource_type) for e in result.errors}
    assert (entries.index(patient_entry), "Patient") in found
    assert (entries.index(condition), "Condition") in found
    paths = {e.path for e in result.errors}
    assert "Condition.onsetDateTime" in paths
    assert any("luhn" in e.reason for e in result.errors)
    assert await count(conn, "patient") == patients_before
    assert await count(conn, "care_provider") == 0
    assert await count(conn, "diagnosis") == 0


async def test_one_bad_entry_fails_the_whole_transaction(conn: AsyncConnection) -> None:
    bundle = as_bundle(coherent_record())
    lab = next(
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and "basedOn" in e["resource"]
    )
    lab["resource"]["subject"] = {"reference": "Patient/not-in-the-bundle"}
    result = await import_bundle(conn, bundle)
    assert [e.resource_type for e in result.errors] == ["Observation"]
    assert "neither in the import nor in the database" in result.errors[0].reason
    for table in ("patient", "care_provider", "care_unit", "prescription", "lab_result"):
        assert await count(conn, table) == 0, table


async def test_unsupported_types_are_reported_not_dropped(conn: AsyncConnection) -> None:
    bundle = as_bundle(coherent_record())
    bundle["entry"] += [
        {
            "resource": {
                "resourceType": "Goal",
                "lifecycleStatus": "active",
                "description": {"text": "Gå 5 km"},
                "subject": {"reference": f"Patient/{PATIENT}"},
            }
        },
        {"resource": {"resourceType": "Location", "name": "Rum 3"}},
        {"resource": {"resourceType": "Device"}},
    ]
    result = await import_bundle(conn, bundle)
    assert result.ok, result.errors
    n = len(bundle["entry"])
    assert [(u.index, u.resource_type) for u in result.unsupported] == [
        (n - 3, "Goal"),
        (n - 2, "Location"),
        (n - 1, "Device"),
    ]
    assert all("not stored" in u.reason for u in result.unsupported)
    assert result.entries == n


async def test_references_to_full_urls_resolve(conn: AsyncConnection) -> None:
    """A transaction bundle from another system: urn:uuid fullUrls, references to them, no ids."""
    record = coherent_record()
    unit = record["care_unit"][0]
    bundle = as_bundle({k: record[k] for k in ("municipality", "care_provider", "care_unit")})
    patient = to_resources("patient", record["patient"][:1], {})[0]
    patient.pop("id")
    contact = to_resources("care_contact", [bare_header(record["care_contact"][0])], {})[0]
    contact.pop("id")
    contact["subject"] = {"reference": "urn:uuid:7d2c1f3a-0000-4000-8000-000000000123"}
    bundle["entry"] += [
        {"fullUrl": "urn:uuid:7d2c1f3a-0000-4000-8000-000000000123", "resource": patient},
        {"fullUrl": "urn:uuid:7d2c1f3a-0000-4000-8000-000000000456", "resource": contact},
    ]
    result = await import_bundle(conn, bundle)
    assert result.ok, result.errors
    stored = await rows_of(conn, "care_contact", "id")
    assert [r["patient_id"] for r in stored] == [(await rows_of(conn, "patient", "id"))[0]["id"]]
    assert stored[0]["care_unit_id"] == unit["id"]


async def test_ndjson_streams_in_chunks(conn: AsyncConnection, tmp_path: Path) -> None:
    bundle = as_bundle(coherent_record())
    with NdjsonWriter(tmp_path) as writer:
        for entry in bundle["entry"]:
            writer.write(copy.deepcopy(entry["resource"]))
    files = import_order([tmp_path])
    assert files[0].name == "Organization.ndjson" and files[-1].name == "Task.ndjson"
    seen: list[int] = []
    result = await import_entries(conn, chunks(read_ndjson(files), 3), progress=seen.append)
    assert result.ok, result.errors
    assert len(seen) > 5 and max(seen) == 3  # many small chunks, never the whole file
    assert await count(conn, "prescription") == 2
    assert await count(conn, "plan_activity") == 2


async def test_ndjson_errors_name_file_and_line(conn: AsyncConnection, tmp_path: Path) -> None:
    path = tmp_path / "Patient.ndjson"
    path.write_text('{"resourceType": "Patient", "birthDate": "1980-02-30"}\nnot json\n')
    result = await import_entries(conn, chunks(read_ndjson([path]), 10))
    assert [e.location for e in result.errors][-1] == "Patient.ndjson:2"
    assert result.errors[0].location == "Patient.ndjson:1"
    assert result.errors[0].path == "Patient.birthDate"


async def test_cli_job_audits_the_writes(
    conn: AsyncConnection, settings: Settings, tmp_path: Path
) -> None:
    record = coherent_record()
    path = tmp_path / "bundle.json"
    path.write_bytes(dumps(as_bundle(record)))
    result = await import_paths(conn, settings, [path])
    assert result.ok, result.errors
    logged = await conn.execute(
        text("SELECT action, resources FROM audit_entry WHERE patient_id = :p"), {"p": PATIENT}
    )
    rows = logged.all()
    assert [r[0] for r in rows] == ["write"]
    assert f"Patient:{PATIENT}" in rows[0][1]
