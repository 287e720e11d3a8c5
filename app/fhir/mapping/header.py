"""The clinical header (DOMAIN.md section 1, RIV-TA PatientSummaryHeader) on every clinical
resource, and the patient-row meta on every patient-scoped resource.

Where FHIR has an element for a header field the mappings fill it too (a recorder, an
encounter); the extensions written here carry every field exactly, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from app.fhir.mapping.common import (
    DOCUMENT_ID,
    HSA_ID,
    HSA_ID_RIV,
    Ext,
    Resolver,
    Row,
    complex_ext,
    created_ext,
    ext,
    hsa,
    instant,
    meta,
    meta_from_fhir,
    opt_ext,
    part,
    ref,
    row_uuid,
    to_datetime,
)
from app.fhir.r4 import FhirJson, MappingError
from app.models.base import HEADER_COLUMNS


def patient_row_to_fhir(
    resource_type: str, row: Mapping[str, Any], patient_element: str = "patient"
) -> FhirJson:
    """id, meta, created and the patient reference of a patient-scoped (non-clinical) row."""
    return {
        "resourceType": resource_type,
        "id": str(row["id"]),
        "meta": meta(row),
        "extension": [created_ext(row)],
        patient_element: ref("Patient", row["patient_id"]),
    }


def patient_row_from_fhir(resource: Any, resolver: Resolver, patient: Any, path: str) -> Row:
    return {
        "id": row_uuid(resource),
        "patient_id": resolver.id_of(patient, "patient", path),
        **meta_from_fhir(resource),
    }


def header_to_fhir(
    resource_type: str,
    row: Mapping[str, Any],
    *,
    patient_element: str = "subject",
    encounter_element: str | None = "encounter",
) -> FhirJson:
    """The header as id, meta, identifier, patient and encounter references, and extensions."""
    out = patient_row_to_fhir(resource_type, row, patient_element)
    out["extension"] += [
        ext("event-time", "DateTime", instant(row["event_time"])),
        ext("author-time", "DateTime", instant(row["author_time"])),
        ext("care-provider", "Reference", ref("Organization", row["care_provider_id"])),
        ext("care-unit", "Reference", ref("Organization", row["care_unit_id"])),
        ext("approved-for-patient", "Boolean", row["approved_for_patient"]),
    ]
    if any(row[c] is not None for c in HEADER_COLUMNS[6:10]):
        practitioner = row["accountable_practitioner_id"]
        out["extension"].append(
            complex_ext(
                "accountable",
                [
                    part(
                        "practitioner",
                        "Reference",
                        practitioner and ref("Practitioner", practitioner),
                    ),
                    part("hsaId", "String", row["accountable_hsa_id"]),
                    part("name", "String", row["accountable_name"]),
                    part("roleCode", "String", row["accountable_role_code"]),
                ],
            )
        )
    if any(row[c] is not None for c in HEADER_COLUMNS[10:13]):
        signed = row["legal_authenticator_time"]
        out["extension"].append(
            complex_ext(
                "legal-authenticator",
                [
                    part("time", "DateTime", signed and instant(signed)),
                    part("hsaId", "String", row["legal_authenticator_hsa_id"]),
                    part("name", "String", row["legal_authenticator_name"]),
                ],
            )
        )
    if row["nullified"]:
        at = row["nullified_at"]
        out["extension"].append(
            complex_ext(
                "nullified",
                [
                    part("reason", "String", row["nullified_reason"]),
                    part("at", "DateTime", at and instant(at)),
                ],
            )
        )
    contact = row["care_contact_id"]
    if contact is not None:
        if encounter_element is None:
            out["extension"].append(ext("care-contact", "Reference", ref("Encounter", contact)))
        else:
            out[encounter_element] = ref("Encounter", contact)
    out["identifier"] = [
        {
            "system": DOCUMENT_ID,
            "value": row["document_id"],
            "assigner": {"identifier": {"system": HSA_ID, "value": row["source_system_hsa_id"]}},
        }
    ]
    return out


def practitioner_ref(row: Mapping[str, Any]) -> FhirJson | None:
    """The accountable practitioner as a Reference, for the resource's own element."""
    pid = row["accountable_practitioner_id"]
    if pid is None:
        return None
    return ref("Practitioner", pid, row["accountable_name"])


def document_identity(resource: Any, resolver: Resolver) -> tuple[str, str]:
    """(document_id, source_system_hsa_id): our identifier, else the resource's first identifier
    (with its assigner's HSA-id, else the import's default source system), else its id."""
    identifiers = resource.identifier or []
    chosen = next((i for i in identifiers if i.system == DOCUMENT_ID and i.value), None)
    chosen = chosen or next((i for i in identifiers if i.value), None)
    document_id = str(chosen.value) if chosen is not None else (resource.id or "")
    source: str | None = None
    assigner = chosen.assigner if chosen is not None else None
    by = assigner.identifier if assigner is not None else None
    if by is not None and by.value and by.system in (HSA_ID, HSA_ID_RIV):
        source = hsa(by.value, "identifier.assigner.identifier.value")
    source = source or resolver.defaults.source_system_hsa_id
    if not document_id:
        raise MappingError("identifier", "no identifier or id to use as document id")
    if len(document_id) > 64:
        raise MappingError("identifier.value", "document id longer than 64 characters")
    if source is None:
        raise MappingError(
            "identifier.assigner",
            "no source system: the identifier has no HSA-id assigner and no default source "
            "system was given for the import",
        )
    return document_id, source


def header_from_fhir(
    resource: Any,
    resolver: Resolver,
    *,
    patient: Any,
    event_time: Any = None,
    author_time: Any = None,
    unit: Any = None,
    practitioner: Any = None,
    encounter: Any = None,
    entered_in_error: bool = False,
) -> Row:
    """The header row fields; the keyword arguments are the resource's own elements, used when
    our extensions are absent (resources written by other systems)."""
    x = Ext(resource)
    document_id, source = document_identity(resource, resolver)
    row = patient_row_from_fhir(resource, resolver, patient, "subject")
    event = x.value("event-time", "DateTime") or event_time
    if event is None:
        raise MappingError("extension:event-time", "no time for the care event")
    row["event_time"] = to_datetime(event, "extension:event-time")
    author = x.value("author-time", "DateTime") or author_time
    row["author_time"] = (
        to_datetime(author, "extension:author-time") if author else row["event_time"]
    )
    row["document_id"], row["source_system_hsa_id"] = document_id, source
    row.update(_organisation(x, resolver, unit))
    row.update(_accountable(x, resolver, practitioner))
    signer = x.nested("legal-authenticator")
    signed = signer.value("time", "DateTime") if signer else None
    row["legal_authenticator_time"] = to_datetime(signed, "legal-authenticator") if signed else None
    row["legal_authenticator_hsa_id"] = signer.value("hsaId", "String") if signer else None
    row["legal_authenticator_name"] = signer.value("name", "String") if signer else None
    approved = x.value("approved-for-patient", "Boolean")
    row["approved_for_patient"] = True if approved is None else bool(approved)
    contact = x.value("care-contact", "Reference")
    row["care_contact_id"] = (
        resolver.id_of(contact, "care_contact", "encounter") if contact is not None else None
    )
    if contact is None and encounter is not None:
        # FHIR's own encounter element from another system: an encounter that is not stored
        # here leaves the row without one (the import reports the element, and keeps it).
        with contextlib.suppress(MappingError):
            row["care_contact_id"] = resolver.id_of(encounter, "care_contact", "encounter")
    nullified = x.nested("nullified")
    at = nullified.value("at", "DateTime") if nullified else None
    row["nullified"] = nullified is not None or entered_in_error
    row["nullified_reason"] = nullified.value("reason", "String") if nullified else None
    row["nullified_at"] = to_datetime(at, "nullified.at") if at else None
    return row


def request_header_from_fhir(resource: Any, resolver: Resolver) -> Row:
    """The header of a ServiceRequest (a decision, a referral, a discharge plan)."""
    return header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.authoredOn,
        practitioner=resource.requester,
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )


def _organisation(x: Ext, resolver: Resolver, unit: Any) -> Row:
    unit_ref = x.value("care-unit", "Reference")
    unit_id: uuid.UUID | None = resolver.defaults.care_unit_id
    if unit_ref is not None:
        unit_id = resolver.id_of(unit_ref, "care_unit", "extension:care-unit")
    elif unit is not None:
        try:
            unit_id = resolver.id_of(unit, "care_unit", "extension:care-unit")
        except MappingError:
            # Another system's organisation (no HSA-id): the default care unit, when one was
            # given, holds the row; the import reports the element and keeps it.
            if unit_id is None:
                raise
    if unit_id is None:
        raise MappingError(
            "extension:care-unit",
            "no care unit: the resource names none and no default care unit was given",
        )
    provider_ref = x.value("care-provider", "Reference")
    provider_id = (
        resolver.id_of(provider_ref, "care_provider", "extension:care-provider")
        if provider_ref is not None
        else resolver.provider_of_unit(unit_id)
    )
    if provider_id is None:
        raise MappingError("extension:care-provider", "the care unit's provider is unknown")
    return {"care_unit_id": unit_id, "care_provider_id": provider_id}


def _accountable(x: Ext, resolver: Resolver, practitioner: Any) -> Row:
    nested = x.nested("accountable")
    if nested is not None:
        who = nested.value("practitioner", "Reference")
        return {
            "accountable_practitioner_id": (
                resolver.id_of(who, "practitioner", "accountable.practitioner") if who else None
            ),
            "accountable_hsa_id": nested.value("hsaId", "String"),
            "accountable_name": nested.value("name", "String"),
            "accountable_role_code": nested.value("roleCode", "String"),
        }
    row: Row = {
        "accountable_practitioner_id": None,
        "accountable_hsa_id": None,
        "accountable_name": None,
        "accountable_role_code": None,
    }
    if practitioner is not None:
        row["accountable_name"] = practitioner.display
        # A practitioner we do not know: keep the name the resource gives.
        with contextlib.suppress(MappingError):
            row["accountable_practitioner_id"] = resolver.id_of(
                practitioner, "practitioner", "practitioner"
            )
    return row


def status_ext(code: str) -> FhirJson:
    """Our own status code, kept beside FHIR's coarser status."""
    return ext("status", "Code", code)


def opt_status_ext(code: str | None) -> FhirJson | None:
    return opt_ext("status", "Code", code)
