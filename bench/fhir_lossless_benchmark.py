"""FHIR no-silent-loss: the share of a foreign example set that import -> export keeps.

    .venv/bin/python -m bench.fhir_lossless_benchmark

Imports HL7's R4 examples (tests/fixtures/fhir/hl7/, the set the tests use) as one Bundle into
a fresh seeded database, exports every patient it created ($everything, as the system
principal), and sorts every primitive element of every example (its leaves, but not the id
and meta.versionId/lastUpdated, which are ours) into
- kept: the exported row gives it back by itself;
- preserved: the row cannot hold it; it was reported (UNSUPPORTED_ELEMENT) and comes back
  from fhir_preserved;
- reported: not exported, and reported (its element, or its whole entry as an unsupported
  resource);
- lost: neither exported nor reported. This must be 0.
(A preserved element that was not reported is counted as `preserved_unreported`: also 0.)
Writes bench/results/fhir-lossless.json.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.audit import AuditBuffer
from app.db import create_engine
from app.fhir import jobs, preserve
from app.fhir.importer import ImportOptions, bundle_entries, import_entries
from app.fhir.r4 import loads
from app.fhir.results import UNSUPPORTED_ELEMENT
from app.seed import seed_population
from app.settings import Settings
from bench.fhir_import_benchmark import RESULTS, admin, fresh, server

HL7 = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "fhir" / "hl7"
SOURCE = "SE5565594230-EXT"
TABLES = SQLModel.metadata.tables
CLASSES = ("kept", "preserved", "reported", "lost", "preserved_unreported")


def examples() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, loads(p.read_bytes())) for p in sorted(HL7.glob("*.json"))]


async def export_patients(conn: AsyncConnection, patients: list[Any]) -> list[Any]:
    exported: list[Any] = []
    for patient_id in patients:
        bundle = await jobs.export_patient(conn, Settings(), str(patient_id))
        assert bundle is not None
        exported += [e["resource"] for e in bundle["entry"]]
    return exported


def classify(
    original: dict[str, Any],
    full: list[Any],
    bare: list[Any],
    reported: set[str] | None,
) -> Counter[str]:
    """`reported` is None when the whole entry was reported as unsupported."""
    counts: Counter[str] = Counter()
    leaves = preserve.leaf_paths(original)
    if reported is None:
        counts["reported"] += len(leaves)
        return counts
    missing = {loss.path for loss in preserve.closest_losses(original, full) or []}
    not_in_row = {loss.path for loss in preserve.closest_losses(original, bare) or []}
    for leaf in leaves:
        told = preserve.within(leaf, reported)
        if not preserve.within(leaf, not_in_row):
            counts["kept"] += 1
        elif not preserve.within(leaf, missing):
            counts["preserved" if told else "preserved_unreported"] += 1
        else:
            counts["reported" if told else "lost"] += 1
    return counts


async def measure(url: str) -> dict[str, Any]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            outer = await conn.begin()
            patient = TABLES["patient"]
            before = {r[0] for r in await conn.execute(select(patient.c.id))}
            unit = (await conn.execute(select(TABLES["care_unit"].c.hsa_id).limit(1))).scalar()
            named = examples()
            bundle = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": data} for _, data in named],
            }
            options = ImportOptions(source_system_hsa_id=SOURCE, care_unit_hsa_id=unit)
            result = await import_entries(
                conn, [bundle_entries(bundle)], options=options, audit=AuditBuffer()
            )
            assert result.ok, result.errors
            created = sorted(
                (r[0] for r in await conn.execute(select(patient.c.id)) if r[0] not in before),
                key=str,
            )
            full = await export_patients(conn, created)
            rows_only = await conn.begin_nested()
            await conn.execute(text("DELETE FROM fhir_preserved"))
            bare = await export_patients(conn, created)
            await rows_only.rollback()
            await outer.rollback()
    finally:
        await engine.dispose()
    reported: dict[int, set[str] | None] = {}
    for u in result.unsupported:
        if u.code == UNSUPPORTED_ELEMENT and u.path is not None:
            found = reported.setdefault(u.index, set())
            if found is not None:
                found.add(u.path)
        else:
            reported[u.index] = None  # the whole entry
    per_file: dict[str, dict[str, int]] = {}
    total: Counter[str] = Counter()
    for index, (name, data) in enumerate(named):
        counts = classify(data, full, bare, reported.get(index, set()))
        per_file[name] = {c: counts[c] for c in CLASSES} | {"elements": sum(counts.values())}
        total.update(counts)
    elements = sum(total.values())
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "examples": len(named),
        "entries_imported": sum(result.imported.values()),
        "entries_reported_unsupported": sum(1 for v in reported.values() if v is None),
        "elements": elements,
        **{c: total[c] for c in CLASSES},
        "share_kept_losslessly": round((total["kept"] + total["preserved"]) / elements, 4),
        "share_kept_by_rows_alone": round(total["kept"] / elements, 4),
        "per_file": per_file,
    }


def run() -> dict[str, Any]:
    with server() as url:
        name, target = fresh(url)
        try:
            asyncio.run(seed_population(target, patients=1, seed=1))
            return asyncio.run(measure(target))
        finally:
            asyncio.run(admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    result = run()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fhir-lossless.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if result["lost"] or result["preserved_unreported"]:
        raise SystemExit("elements were lost or kept without a report")


if __name__ == "__main__":
    main()
