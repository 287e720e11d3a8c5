"""Dental care: completed treatments (Procedure) and per-tooth findings (Observation), with the
FDI tooth and its surfaces as the body site."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.fhir.mapping.common import (
    Ext,
    Resolver,
    Row,
    code_in,
    code_system,
    coding,
    concept,
    ext,
    instant,
    text_of,
)
from app.fhir.mapping.header import header_from_fhir, header_to_fhir, practitioner_ref
from app.fhir.r4 import FhirJson, MappingError, Unsupported
from app.identifiers import IdentifierError, validate_fdi_tooth, validate_tooth_surface

FDI_TOOTH = code_system("fdi-tooth")
SURFACE = code_system("tooth-surface")
PROCEDURE = code_system("tlv-procedure")
CONDITION = code_system("tlv-condition")
FINDING = code_system("dental-finding")


def _body_site(tooth: str | None, surface: str | None) -> FhirJson | None:
    codings = []
    if tooth is not None:
        codings.append(coding(FDI_TOOTH, tooth))
    if surface is not None:
        codings.append(coding(SURFACE, surface))
    return {"coding": codings} if codings else None


def _tooth_and_surface(site: Any, path: str) -> tuple[str | None, str | None]:
    tooth = code_in(site, FDI_TOOTH) if site is not None else None
    surface = code_in(site, SURFACE) if site is not None else None
    try:
        return (
            validate_fdi_tooth(str(tooth.code)) if tooth else None,
            validate_tooth_surface(str(surface.code)) if surface else None,
        )
    except IdentifierError as exc:
        raise MappingError(path, exc.detail) from None


def dental_treatment_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Procedure", row)
    out["extension"].append(ext("price", "Money", {"value": row["price_sek"], "currency": "SEK"}))
    out["status"] = "entered-in-error" if row["nullified"] else "completed"
    out["category"] = concept(code_system("procedure-category"), "dental")
    out["code"] = {
        "coding": [coding(PROCEDURE, row["procedure_code"], row["procedure_text"])],
        "text": row["procedure_text"],
    }
    out["performedDateTime"] = instant(row["event_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [{"actor": who}]
    out["reasonCode"] = [concept(CONDITION, row["condition_code"])]
    site = _body_site(row["tooth"], row["surface"])
    if site is not None:
        out["bodySite"] = [site]
    return out


def dental_treatment_from_fhir(resource: Any, resolver: Resolver) -> Row:
    procedure = code_in(resource.code, PROCEDURE) if resource.code else None
    if procedure is None:
        raise Unsupported("a Procedure is stored only as a dental treatment (TLV åtgärdskod)")
    condition = code_in(resource.reasonCode or [], CONDITION)
    price = Ext(resource).value("price", "Money")
    if condition is None or price is None or price.value is None:
        raise MappingError("Procedure", "a TLV tillståndskod (reasonCode) and a price are needed")
    performer = next((p.actor for p in resource.performer or [] if p.actor), None)
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.performedDateTime,
        practitioner=performer,
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    tooth, surface = _tooth_and_surface((resource.bodySite or [None])[0], "Procedure.bodySite")
    row.update(
        condition_code=str(condition.code),
        procedure_code=str(procedure.code),
        procedure_text=(text_of(resource.code) or str(procedure.code))[:200],
        tooth=tooth,
        surface=surface,
        price_sek=price.value,
    )
    return row


def tooth_finding_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Observation", row)
    out["status"] = "entered-in-error" if row["nullified"] else "final"
    out["category"] = [concept(code_system("observation-category"), "dental-finding")]
    out["code"] = {
        "coding": [coding(FINDING, row["finding_code"], row["finding_text"])],
        "text": row["finding_text"],
    }
    out["effectiveDateTime"] = instant(row["event_time"])
    out["issued"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [who]
    out["bodySite"] = _body_site(row["tooth"], row["surface"])
    return out


def tooth_finding_from_fhir(resource: Any, resolver: Resolver) -> Row:
    finding = code_in(resource.code, FINDING)
    tooth, surface = _tooth_and_surface(resource.bodySite, "Observation.bodySite")
    if finding is None or tooth is None:
        raise MappingError("Observation", "a finding code and an FDI tooth are needed")
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.effectiveDateTime,
        author_time=resource.issued,
        practitioner=(resource.performer or [None])[0],
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    row.update(
        tooth=tooth,
        surface=surface,
        finding_code=str(finding.code),
        finding_text=(text_of(resource.code) or str(finding.code))[:300],
    )
    return row
