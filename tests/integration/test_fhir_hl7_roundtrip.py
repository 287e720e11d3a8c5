"""No silent change: HL7's R4 examples (tests/fixtures/fhir/hl7/), and variants of them with the
values that used to change without a word, imported and exported again. Every element of every
imported entry either comes back from the export, or (when vardkedja's rows alone cannot hold
it) is reported as UNSUPPORTED_ELEMENT with its path, and is still given back by the export."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from app.audit import AuditBuffer
from app.fhir import preserve
from app.fhir.importer import ImportOptions, bundle_entries, import_entries
from app.fhir.r4 import loads
from app.fhir.results import UNSUPPORTED_ELEMENT
from app.settings import Settings
from app.tokens import mint
from tests.factories import create_provider, create_unit

HL7 = Path(__file__).resolve().parent.parent / "fixtures" / "fhir" / "hl7"
SOURCE = "SE5565594230-EXT"
TABLES = SQLModel.metadata.tables
UCUM = "http://unitsofmeasure.org"


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = loads((HL7 / name).read_bytes())
    return data


def resources() -> list[dict[str, Any]]:
    """The examples that fit the model, and variants with the values that used to change."""
    chalmers = example("patient-example.json")
    pieter = example("patient-example-f001-pieter.json")
    pieter["deceasedBoolean"] = True
    glucose = example("observation-example-f001-glucose.json")
    cancelled = copy.deepcopy(glucose)
    cancelled["id"] = "f001-cancelled"
    cancelled["identifier"][0]["value"] = "6324"
    cancelled["status"] = "cancelled"
    cancelled["referenceRange"].append(
        {
            "low": {"value": Decimal("3.0"), "unit": "mmol/l", "system": UCUM, "code": "mmol/L"},
            "appliesTo": [{"text": "fasting"}],
        }
    )
    allergy = example("allergyintolerance-example.json")
    unconfirmed = copy.deepcopy(allergy)
    unconfirmed["id"] = "unconfirmed"
    unconfirmed["identifier"][0]["value"] = "49476535"
    unconfirmed["verificationStatus"]["coding"][0].update(code="unconfirmed", display="Unconfirmed")
    unconfirmed["code"]["coding"].append(
        {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1160593"}
    )
    home = {
        "resourceType": "Encounter",
        "id": "home",
        "status": "finished",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "HH",
            "display": "home health",
        },
        "subject": {"reference": "Patient/example"},
        "period": {"start": "2015-01-17T16:00:00+10:00", "end": "2015-01-17T16:30:00+10:00"},
    }
    return [chalmers, pieter, glucose, cancelled, allergy, unconfirmed, home]


async def export_all(client: httpx.AsyncClient, conn: AsyncConnection, token: str) -> list[Any]:
    out: list[Any] = []
    for (patient_id,) in await conn.execute(select(TABLES["patient"].c.id)):
        response = await client.get(
            f"/fhir/Patient/{patient_id}/$everything",
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        out += [e["resource"] for e in loads(response.content)["entry"]]
    return out


def best_match(original: dict[str, Any], exported: list[Any]) -> list[preserve.Loss]:
    """The losses against the exported resource that corresponds best to `original`."""
    losses = preserve.closest_losses(original, exported)
    assert losses is not None, original["id"]
    return losses


async def test_import_then_export_keeps_every_element_or_reports_it(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    unit = await create_unit(conn, await create_provider(conn))
    originals = resources()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": copy.deepcopy(r)} for r in originals],
    }
    options = ImportOptions(source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    result = await import_entries(
        conn, [bundle_entries(bundle)], options=options, audit=AuditBuffer()
    )
    assert result.ok, result.errors
    assert sum(result.imported.values()) == len(originals)
    reported: dict[int, set[str]] = {}
    for u in result.unsupported:
        assert u.code == UNSUPPORTED_ELEMENT and u.path is not None
        reported.setdefault(u.index, set()).add(u.path)

    token = mint(settings, kind="system", subject="test-fhir")
    exported = await export_all(client, conn, token)
    # 1. Every element of every imported entry comes back from the export.
    for original in originals:
        assert best_match(original, exported) == [], original["id"]

    # 2. What the rows alone do not hold was reported, element by element.
    await conn.execute(text("DELETE FROM fhir_preserved"))
    bare = await export_all(client, conn, token)
    for index, original in enumerate(originals):
        lost = {loss.path for loss in best_match(original, bare)}
        assert lost <= reported.get(index, set()), (original["id"], lost - reported[index])

    # The values the issue found changed without a word are among them.
    assert "Patient.deceasedBoolean" in reported[1]
    assert "Observation.status" in reported[3]
    assert "Observation.referenceRange[1]" in reported[3]
    assert "AllergyIntolerance.verificationStatus.coding[0].code" in reported[5]
    assert "AllergyIntolerance.code.coding[0]" in reported[4]  # SNOMED CT: no column for it
    assert any(p.startswith("AllergyIntolerance.code.coding[") for p in reported[5])
    assert "Encounter.class.code" in reported[6]
    # mmol/l is UCUM too, but the original's code (mmol/L) is what comes back.
    assert "Observation.valueQuantity.code" in reported[2]


async def test_exported_values_are_the_originals(
    client: httpx.AsyncClient, conn: AsyncConnection, settings: Settings
) -> None:
    unit = await create_unit(conn, await create_provider(conn))
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources()],
    }
    options = ImportOptions(source_system_hsa_id=SOURCE, care_unit_hsa_id=unit.hsa_id)
    assert (await import_entries(conn, [bundle_entries(bundle)], options=options)).ok
    token = mint(settings, kind="system", subject="test-fhir")
    exported = await export_all(client, conn, token)
    by_type: dict[str, list[Any]] = {}
    for r in exported:
        by_type.setdefault(r["resourceType"], []).append(r)
    statuses = sorted(o["status"] for o in by_type["Observation"])
    assert statuses == ["cancelled", "final"]
    glucose = next(o for o in by_type["Observation"] if o["status"] == "final")
    # 6.3 as written, not 6.300000, and with its UCUM code.
    assert glucose["valueQuantity"] == {
        "value": Decimal("6.3"),
        "unit": "mmol/l",
        "system": UCUM,
        "code": "mmol/L",
    }
    cancelled = next(o for o in by_type["Observation"] if o["status"] == "cancelled")
    assert len(cancelled["referenceRange"]) == 2
    pieter = next(p for p in by_type["Patient"] if p["name"][0]["family"] == "van de Heuvel")
    assert pieter["deceasedBoolean"] is True
    assert {e["class"]["code"] for e in by_type["Encounter"]} == {"HH"}
    verification = sorted(
        a["verificationStatus"]["coding"][0]["code"] for a in by_type["AllergyIntolerance"]
    )
    assert verification == ["confirmed", "unconfirmed"]
    assert {a.get("criticality") for a in by_type["AllergyIntolerance"]} == {"high"}
    # The subject of a preserved reference points at our patient, not at the foreign id.
    allergy = by_type["AllergyIntolerance"][0]
    assert allergy["asserter"]["reference"] == allergy["patient"]["reference"]
