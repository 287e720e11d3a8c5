"""Prescriptions (MedicationRequest) and dispensations (MedicationDispense), after
eHälsomyndigheten's NLL FHIR API: the chain id is the `groupIdentifier`, the replaced
prescription is `priorPrescription`, and our NLL status is kept beside FHIR's status."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from app.fhir.mapping.common import (
    ATC,
    ATC_OID,
    NPL_ID,
    NPL_PACK_ID,
    UCUM,
    Ext,
    Resolver,
    Row,
    code_in,
    code_system,
    coding,
    concept,
    day,
    ext,
    id_system,
    instant,
    opt_id,
    own_code,
    ref,
    text_of,
    to_date,
)
from app.fhir.mapping.header import header_from_fhir, header_to_fhir, practitioner_ref, status_ext
from app.fhir.r4 import FhirJson, MappingError, Unsupported
from app.identifiers import IdentifierError, validate_atc, validate_npl_id

CHAIN = id_system("prescription-chain")
CHAIN_NAMESPACE = uuid.UUID("6f1c2f8e-8f7a-4a53-9d0e-6b3f8a6c1d2e")
REQUEST_STATUS = {
    "aktiv": "active",
    "utsatt": "stopped",
    "makulerad": "cancelled",
    "ersatt": "stopped",
    "utgangen": "completed",
}
NLL_STATUS = {
    "active": "aktiv",
    "stopped": "utsatt",
    "cancelled": "makulerad",
    "completed": "utgangen",
}


def prescription_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("MedicationRequest", row)
    extension = [
        status_ext(row["status"]),
        ext("dispensations-allowed", "Integer", row["dispensations_allowed"]),
    ]
    for name, column in (("strength", "strength"), ("form", "form")):
        if row[column] is not None:
            extension.append(ext(name, "String", row[column]))
    if row["doses_per_day"] is not None:
        extension.append(ext("doses-per-day", "Decimal", row["doses_per_day"]))
    out["extension"].extend(extension)
    out["groupIdentifier"] = {"system": CHAIN, "value": str(row["chain_id"])}
    out["status"] = "entered-in-error" if row["nullified"] else REQUEST_STATUS[row["status"]]
    if row["discontinued_reason"] is not None:
        out["statusReason"] = {"text": row["discontinued_reason"]}
    out["intent"] = "order"
    out["category"] = [concept(code_system("prescription-kind"), row["kind"])]
    codings = [coding(NPL_ID, row["drug_npl_id"]), coding(ATC, row["atc_code"])]
    if row["npl_pack_id"] is not None:
        codings.append(coding(NPL_PACK_ID, row["npl_pack_id"]))
    out["medicationCodeableConcept"] = {"coding": codings, "text": row["drug_name"]}
    out["authoredOn"] = instant(row["event_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["requester"] = who
    if row["reason"] is not None:
        out["reasonCode"] = [{"text": row["reason"]}]
    dosage: FhirJson = {"text": row["dosage_text"]}
    if row["dose_quantity"] is not None:
        dose: FhirJson = {"value": row["dose_quantity"]}
        if row["dose_unit"] is not None:
            dose["unit"] = row["dose_unit"]
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    elif row["dose_unit"] is not None:
        dosage["extension"] = [ext("dose-unit", "String", row["dose_unit"])]
    out["dosageInstruction"] = [dosage]
    dispense: FhirJson = {"validityPeriod": {"end": day(row["valid_until"])}}
    if row["dispensations_allowed"] >= 1:
        dispense["numberOfRepeatsAllowed"] = row["dispensations_allowed"] - 1
    dispense["quantity"] = {"value": row["amount"], "unit": "förpackning"}
    if row["dispensation_interval_days"] is not None:
        dispense["dispenseInterval"] = {
            "value": row["dispensation_interval_days"],
            "unit": "d",
            "system": UCUM,
            "code": "d",
        }
    out["dispenseRequest"] = dispense
    out["substitution"] = {"allowedBoolean": not row["non_replaceable"]}
    if row["replaces_id"] is not None:
        out["priorPrescription"] = ref("MedicationRequest", row["replaces_id"])
    return out


def prescription_from_fhir(resource: Any, resolver: Resolver) -> Row:
    medication = resource.medicationCodeableConcept
    npl = code_in(medication, NPL_ID) if medication else None
    atc = code_in(medication, ATC, ATC_OID) if medication else None
    if npl is None or atc is None:
        raise Unsupported("a MedicationRequest is stored only with an NPL-id and an ATC code")
    try:
        npl_id = validate_npl_id(str(npl.code))
        atc_code = validate_atc(str(atc.code))
    except IdentifierError as exc:
        raise MappingError("MedicationRequest.medicationCodeableConcept", str(exc)) from None
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.authoredOn,
        author_time=resource.authoredOn,
        practitioner=resource.requester,
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    x = Ext(resource)
    status = x.value("status", "Code") or NLL_STATUS.get(resource.status or "", "aktiv")
    dosage = (resource.dosageInstruction or [None])[0]
    if dosage is None or not dosage.text:
        raise MappingError("MedicationRequest.dosageInstruction.text", "the dosage text is needed")
    dose = None
    if dosage.doseAndRate and dosage.doseAndRate[0].doseQuantity is not None:
        dose = dosage.doseAndRate[0].doseQuantity
    dispense = resource.dispenseRequest
    quantity = dispense.quantity if dispense is not None else None
    if quantity is None or quantity.value is None:
        raise MappingError("MedicationRequest.dispenseRequest.quantity", "the amount is needed")
    allowed = x.value("dispensations-allowed", "Integer")
    if allowed is None:
        repeats = dispense.numberOfRepeatsAllowed if dispense is not None else None
        allowed = (repeats or 0) + 1
    end = dispense.validityPeriod.end if dispense and dispense.validityPeriod else None
    valid_until = to_date(end, "dispenseRequest.validityPeriod.end") if end else None
    interval = dispense.dispenseInterval if dispense is not None else None
    pack = code_in(medication, NPL_PACK_ID)
    substitution = resource.substitution
    row.update(
        kind=own_code(resource.category or [], "prescription-kind") or "recept",
        chain_id=_chain_id(resource, resolver),
        replaces_id=opt_id(
            resolver, resource.priorPrescription, "prescription", "priorPrescription"
        ),
        drug_npl_id=npl_id,
        npl_pack_id=pack.code if pack else None,
        atc_code=atc_code,
        drug_name=(text_of(medication) or npl_id)[:200],
        strength=x.value("strength", "String"),
        form=x.value("form", "String"),
        dosage_text=dosage.text[:500],
        dose_quantity=dose.value if dose is not None else None,
        dose_unit=(dose.unit if dose is not None else Ext(dosage).value("dose-unit", "String")),
        doses_per_day=x.value("doses-per-day", "Decimal"),
        amount=quantity.value,
        dispensations_allowed=int(allowed),
        dispensation_interval_days=int(interval.value) if interval and interval.value else None,
        non_replaceable=(substitution is not None and substitution.allowedBoolean is False),
        valid_until=valid_until or (row["event_time"] + timedelta(days=366)).date(),
        reason=next((text_of(r) for r in resource.reasonCode or [] if text_of(r)), None),
        status=status,
        discontinued_reason=text_of(resource.statusReason),
    )
    return row


def _chain_id(resource: Any, resolver: Resolver) -> uuid.UUID:
    group = resource.groupIdentifier
    if group is None or not group.value:
        return resolver.current_id()
    try:
        return uuid.UUID(str(group.value))
    except ValueError:
        return uuid.uuid5(CHAIN_NAMESPACE, f"{group.system}|{group.value}")


def dispensation_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("MedicationDispense", row, encounter_element="context")
    if row["reverses_id"] is not None:
        out["extension"].append(
            ext("reverses", "Reference", ref("MedicationDispense", row["reverses_id"]))
        )
    out["status"] = "entered-in-error" if row["nullified"] else "completed"
    codings = []
    if row["article_npl_pack_id"] is not None:
        codings.append(coding(NPL_PACK_ID, row["article_npl_pack_id"]))
    medication: FhirJson = {"coding": codings} if codings else {}
    medication["text"] = row["article_name"]
    out["medicationCodeableConcept"] = medication
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [{"actor": who}]
    out["authorizingPrescription"] = [ref("MedicationRequest", row["prescription_id"])]
    out["quantity"] = {"value": row["amount"], "unit": "förpackning"}
    out["whenHandedOver"] = instant(row["event_time"])
    return out


def dispensation_from_fhir(resource: Any, resolver: Resolver) -> Row:
    prescription = (resource.authorizingPrescription or [None])[0]
    if prescription is None:
        raise Unsupported("a MedicationDispense is stored only for a prescription we hold")
    performer = next((p.actor for p in resource.performer or [] if p.actor), None)
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.whenHandedOver or resource.whenPrepared,
        practitioner=performer,
        encounter=resource.context,
        entered_in_error=resource.status == "entered-in-error",
    )
    medication = resource.medicationCodeableConcept
    name = text_of(medication)
    if resource.quantity is None or resource.quantity.value is None or name is None:
        raise MappingError("MedicationDispense", "a quantity and an article name are needed")
    pack = code_in(medication, NPL_PACK_ID)
    reverses = Ext(resource).value("reverses", "Reference")
    row.update(
        prescription_id=resolver.id_of(prescription, "prescription", "authorizingPrescription"),
        amount=resource.quantity.value,
        article_npl_pack_id=pack.code if pack else None,
        article_name=name[:200],
        reverses_id=opt_id(resolver, reverses, "dispensation", "extension:reverses"),
    )
    return row
