"""Medication administrations (signing lists in municipal home care) as FHIR R4
MedicationAdministration: `request` is the prescription (MedicationRequest), the outcome is
FHIR's status (completed / not-done with statusReason) with ours kept beside it, and a
self-administered dose names the patient as a performer beside the signing nurse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.fhir.mapping.common import (
    Ext,
    Resolver,
    Row,
    code_system,
    concept,
    ext,
    instant,
    ref,
    text_of,
    to_datetime,
)
from app.fhir.mapping.header import header_from_fhir, header_to_fhir, practitioner_ref, status_ext
from app.fhir.r4 import FhirJson, MappingError, Unsupported

PERFORMER_FUNCTION = "http://terminology.hl7.org/CodeSystem/med-admin-perform-function"
OUTCOMES = ("given", "not_given", "self_administered")
NOT_GIVEN_REASON = code_system("not-given-reason")
# What the medication is lives in the prescription (`request`): medication[x] is required.
AS_PRESCRIBED = {"text": "enligt ordination (se request)"}


def administration_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("MedicationAdministration", row, encounter_element="context")
    out["extension"].append(status_ext(row["outcome"]))
    if row["planned_at"] is not None:
        out["extension"].append(ext("planned-at", "DateTime", instant(row["planned_at"])))
    if row["nullified"]:
        out["status"] = "entered-in-error"
    else:
        out["status"] = "not-done" if row["outcome"] == "not_given" else "completed"
    if row["not_given_reason"] is not None:
        out["statusReason"] = [{"text": row["not_given_reason"]}]
    out["medicationCodeableConcept"] = AS_PRESCRIBED
    out["effectiveDateTime"] = instant(row["event_time"])
    performers: list[FhirJson] = []
    who = practitioner_ref(row)
    if who is not None:
        function = "verifier" if row["outcome"] == "self_administered" else "performer"
        performers.append(
            {"function": concept(PERFORMER_FUNCTION, function), "actor": who},
        )
    if row["outcome"] == "self_administered":
        performers.append({"actor": ref("Patient", row["patient_id"])})
    if performers:
        out["performer"] = performers
    out["request"] = ref("MedicationRequest", row["prescription_id"])
    if row["dose_text"] is not None:
        out["dosage"] = {"text": row["dose_text"]}
    return out


def _outcome(resource: Any) -> str:
    """Ours if we wrote it; else from FHIR's status and whether the patient performed it."""
    own = Ext(resource).value("status", "Code")
    if own in OUTCOMES:
        return str(own)
    if resource.status == "not-done":
        return "not_given"
    if resource.status not in ("completed", "entered-in-error"):
        raise Unsupported(f"a MedicationAdministration of status {resource.status} (not signed)")
    actors = [p.actor.reference or "" for p in resource.performer or [] if p.actor]
    return "self_administered" if any(a.startswith("Patient/") for a in actors) else "given"


def administration_from_fhir(resource: Any, resolver: Resolver) -> Row:
    if resource.request is None:
        raise Unsupported("a MedicationAdministration is stored only for a prescription we hold")
    staff = next(
        (
            p.actor
            for p in resource.performer or []
            if p.actor and (p.actor.reference or "").startswith("Practitioner/")
        ),
        None,
    )
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.effectiveDateTime
        or (resource.effectivePeriod.start if resource.effectivePeriod else None),
        practitioner=staff,
        encounter=resource.context,
        entered_in_error=resource.status == "entered-in-error",
    )
    outcome = _outcome(resource)
    reasons = [text_of(r) for r in resource.statusReason or []]
    reason = next((r for r in reasons if r), None)
    if outcome == "not_given" and reason is None:
        raise MappingError("MedicationAdministration.statusReason", "a dose not given needs why")
    planned = Ext(resource).value("planned-at", "DateTime")
    dose = resource.dosage.text if resource.dosage is not None else None
    row.update(
        prescription_id=resolver.id_of(resource.request, "prescription", "request"),
        outcome=outcome,
        planned_at=to_datetime(planned, "extension:planned-at") if planned else None,
        dose_text=dose[:200] if dose else None,
        not_given_reason=reason[:300] if reason and outcome == "not_given" else None,
    )
    return row
