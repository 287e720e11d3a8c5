"""Patient/$summary: an International Patient Summary (IPS) document Bundle, the EU patient
summary of EHDS: a Composition with sections for allergies, medication, problems,
immunizations and results, built from the same policy-filtered record as $everything (so the
same disclosures and denials are audited)."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from typing import Any

from app.context import Context
from app.fhir.exporter import PATIENT_TYPES, everything
from app.fhir.r4 import FhirJson

LOINC = "http://loinc.org"
IPS_PROFILE = "http://hl7.org/fhir/uv/ips/StructureDefinition/Bundle-uv-ips"
EMPTY = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
# (LOINC code, title, resource type, which of them belong in the section)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("48765-2", "Allergies and intolerances", "AllergyIntolerance"),
    ("10160-0", "Medication summary", "MedicationRequest"),
    ("11450-4", "Problem list", "Condition"),
    ("11369-6", "History of immunizations", "Immunization"),
    ("30954-2", "Relevant diagnostic tests/laboratory data", "Observation"),
)


def _belongs(resource: FhirJson, resource_type: str) -> bool:
    if resource["resourceType"] != resource_type:
        return False
    if resource.get("status") == "entered-in-error":
        return False
    verification = resource.get("verificationStatus", {}).get("coding", [{}])[0].get("code")
    if verification == "entered-in-error":
        return False
    if resource_type == "Observation":
        codes = {
            c.get("code") for cat in resource.get("category", []) for c in cat.get("coding", [])
        }
        return "laboratory" in codes
    return True


def _title(resource: FhirJson) -> str:
    for key in ("code", "medicationCodeableConcept", "vaccineCode"):
        concept = resource.get(key)
        if isinstance(concept, dict):
            if concept.get("text"):
                return str(concept["text"])
            for coding in concept.get("coding", []):
                if coding.get("display") or coding.get("code"):
                    return str(coding.get("display") or coding["code"])
    return str(resource["resourceType"])


def _narrative(resources: list[FhirJson]) -> FhirJson:
    items = "".join(f"<li>{html.escape(_title(r))}</li>" for r in resources)
    return {
        "status": "generated",
        "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><ul>{items}</ul></div>',
    }


async def summary(ctx: Context, patient_id: uuid.UUID, *, base_url: str) -> FhirJson | None:
    """The IPS document Bundle; None when the caller may not see the patient (audited)."""
    record = await everything(ctx, patient_id, base_url=base_url)
    if record is None:
        return None
    resources = [e["resource"] for e in record["entry"]]
    url = {id(r): f"{base_url}{r['resourceType']}/{r['id']}" for r in resources}
    patient = resources[0]
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    sections: list[FhirJson] = []
    included: list[FhirJson] = [patient]
    for code, title, resource_type in SECTIONS:
        members = [r for r in resources if _belongs(r, resource_type)]
        section: FhirJson = {
            "title": title,
            "code": {"coding": [{"system": LOINC, "code": code, "display": title}]},
        }
        if members:
            section["text"] = _narrative(members)
            section["entry"] = [{"reference": url[id(r)]} for r in members]
            included += members
        else:
            section["text"] = {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">No information.</div>',
            }
            section["emptyReason"] = {"coding": [{"system": EMPTY, "code": "unavailable"}]}
        sections.append(section)
    # What the entries point at (organisations, practitioners, encounters) comes along.
    included += [r for r in resources if r["resourceType"] not in PATIENT_TYPES]
    composition_id = str(uuid.uuid4())
    composition: FhirJson = {
        "resourceType": "Composition",
        "id": composition_id,
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary"}]},
        "subject": {"reference": url[id(patient)]},
        "date": now,
        "author": [{"display": "vardkedja"}],
        "title": "Patient summary",
        "section": sections,
    }
    entries = [{"fullUrl": f"{base_url}Composition/{composition_id}", "resource": composition}]
    seen: set[str] = set()
    for resource in included:
        if url[id(resource)] not in seen:
            seen.add(url[id(resource)])
            entries.append({"fullUrl": url[id(resource)], "resource": resource})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"profile": [IPS_PROFILE]},
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "type": "document",
        "timestamp": now,
        "entry": entries,
    }
    return bundle
