"""The clinical record (DOMAIN.md section 2): care contacts (Encounter), notes
(DocumentReference), diagnoses (Condition), alerts (AllergyIntolerance for hypersensitivity,
Flag for the rest), functional status and lab results (Observation), referral outcomes
(DiagnosticReport) and vaccinations (Immunization)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from app.fhir.mapping import ucum
from app.fhir.mapping.common import (
    ATC,
    ATC_OID,
    ICD10_SE,
    ICD10_WHO,
    ICF,
    KVA,
    LOINC,
    NPL_ID,
    NPU,
    Ext,
    Resolver,
    Row,
    code_in,
    code_system,
    coding,
    complex_ext,
    concept,
    day,
    ext,
    id_system,
    instant,
    opt_date,
    opt_datetime,
    own_code,
    part,
    text_of,
)
from app.fhir.mapping.header import (
    header_from_fhir,
    header_to_fhir,
    practitioner_ref,
    status_ext,
)
from app.fhir.r4 import FhirJson, MappingError, Unsupported
from app.identifiers import IdentifierError, normalize_icd10_se, validate_lab_code

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
LAB_ORDER = id_system("lab-order-id")
REFERRAL_ID = id_system("referral-id")


def _entered_in_error(row: Mapping[str, Any], status: str) -> str:
    return "entered-in-error" if row["nullified"] else status


def _append(out: FhirJson, *items: FhirJson | None) -> None:
    out["extension"].extend(i for i in items if i is not None)


# --------------------------------------------------------------------------- Encounter

CLASS_OF_TYPE = {
    "besok": "AMB",
    "telefon": "VR",
    "vardtillfalle": "IMP",
    "dagsjukvard": "SS",
    "annan": "AMB",
}
TYPE_OF_CLASS = {"AMB": "besok", "VR": "telefon", "IMP": "vardtillfalle", "SS": "dagsjukvard"}
ENCOUNTER_STATUS = {
    "ej_paborjad": "planned",
    "installd": "cancelled",
    "pagaende": "in-progress",
    "avbruten": "cancelled",
    "avslutad": "finished",
}
CONTACT_STATUS = {
    "planned": "ej_paborjad",
    "arrived": "pagaende",
    "triaged": "pagaende",
    "in-progress": "pagaende",
    "onleave": "pagaende",
    "finished": "avslutad",
    "cancelled": "installd",
}


def care_contact_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Encounter", row, encounter_element="partOf")
    _append(out, status_ext(row["status"]))
    out["status"] = _entered_in_error(row, ENCOUNTER_STATUS[row["status"]])
    out["class"] = coding(ACT_CODE, CLASS_OF_TYPE[row["contact_type"]])
    out["type"] = [concept(code_system("contact-type"), row["contact_type"])]
    who = practitioner_ref(row)
    if who is not None:
        out["participant"] = [{"individual": who}]
    period = {"start": instant(row["event_time"])}
    if row["period_end"] is not None:
        period["end"] = instant(row["period_end"])
    out["period"] = period
    if row["reason"] is not None:
        out["reasonCode"] = [{"text": row["reason"]}]
    out["serviceProvider"] = {"reference": f"Organization/{row['care_unit_id']}"}
    return out


def care_contact_from_fhir(resource: Any, resolver: Resolver) -> Row:
    period = resource.period
    participant = next((p.individual for p in resource.participant or [] if p.individual), None)
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=period.start if period is not None else None,
        unit=resource.serviceProvider,
        practitioner=participant,
        encounter=resource.partOf,
        entered_in_error=resource.status == "entered-in-error",
    )
    status = Ext(resource).value("status", "Code") or CONTACT_STATUS.get(resource.status)
    if status is None:
        raise MappingError("Encounter.status", f"no care contact status for {resource.status!r}")
    contact_type = own_code(resource.type or [], "contact-type")
    if contact_type is None:
        contact_type = TYPE_OF_CLASS.get(
            resource.class_fhir.code if resource.class_fhir else "", "annan"
        )
    reason = next((text_of(r) for r in resource.reasonCode or [] if text_of(r)), None)
    end = period.end if period is not None else None
    row.update(
        contact_type=contact_type,
        status=status,
        reason=reason[:500] if reason else None,
        period_end=opt_datetime(end, "Encounter.period.end"),
    )
    return row


# --------------------------------------------------------------------------- DocumentReference


def care_document_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir(
        "DocumentReference", row, patient_element="subject", encounter_element=None
    )
    out["status"] = _entered_in_error(row, "current")
    out["docStatus"] = "final" if row["legal_authenticator_time"] is not None else "preliminary"
    out["type"] = concept(code_system("document-type"), row["document_type"])
    out["date"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["author"] = [who]
    out["custodian"] = {"reference": f"Organization/{row['care_unit_id']}"}
    out["description"] = row["title"]
    out["content"] = [
        {
            "attachment": {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(row["text"].encode()).decode(),
                "title": row["title"],
            }
        }
    ]
    if row["care_contact_id"] is not None:
        out["context"] = {"encounter": [{"reference": f"Encounter/{row['care_contact_id']}"}]}
    return out


def care_document_from_fhir(resource: Any, resolver: Resolver) -> Row:
    encounter = None
    if resource.context is not None and resource.context.encounter:
        encounter = resource.context.encounter[0]
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.date,
        author_time=resource.date,
        unit=resource.custodian,
        practitioner=(resource.author or [None])[0],
        encounter=encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    attachment = next((c.attachment for c in resource.content or [] if c.attachment.data), None)
    if attachment is None:
        raise MappingError("DocumentReference.content", "only text sent inline (attachment.data)")
    try:
        # fhir.resources has already decoded base64Binary to bytes.
        raw = attachment.data
        text = (raw if isinstance(raw, bytes) else base64.b64decode(raw)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise MappingError("DocumentReference.content.attachment.data", "not UTF-8 text") from None
    document_type = own_code(resource.type, "document-type") or text_of(resource.type)
    title = attachment.title or resource.description
    if document_type is None or title is None:
        raise MappingError("DocumentReference.type", "a document type and a title are needed")
    row.update(document_type=document_type[:60], title=title[:200], text=text)
    return row


# --------------------------------------------------------------------------- Condition


def diagnosis_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Condition", row)
    verification = "entered-in-error" if row["nullified"] else "confirmed"
    out["verificationStatus"] = concept(CONDITION_VERIFICATION, verification)
    out["category"] = [
        concept(CONDITION_CATEGORY, "encounter-diagnosis"),
        concept(code_system("diagnosis-type"), row["diagnosis_type"]),
    ]
    out["code"] = concept(ICD10_SE, row["code"], row["display"])
    out["onsetDateTime"] = instant(row["event_time"])
    out["recordedDate"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["recorder"] = who
    return out


def diagnosis_from_fhir(resource: Any, resolver: Resolver) -> Row:
    found = code_in(resource.code, ICD10_SE, ICD10_WHO) if resource.code else None
    if found is None:
        raise Unsupported("a Condition is stored as a diagnosis only when coded in ICD-10(-SE)")
    try:
        code = normalize_icd10_se(str(found.code))
    except IdentifierError as exc:
        raise MappingError("Condition.code", exc.detail) from None
    verification = resource.verificationStatus
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.onsetDateTime or resource.recordedDate,
        author_time=resource.recordedDate,
        practitioner=resource.recorder or resource.asserter,
        encounter=resource.encounter,
        entered_in_error=code_in(verification, CONDITION_VERIFICATION) is not None
        and code_in(verification, CONDITION_VERIFICATION).code == "entered-in-error",
    )
    kind = own_code(resource.category or [], "diagnosis-type") or "bidiagnos"
    display = found.display or text_of(resource.code) or code
    row.update(code=code, display=display[:300], diagnosis_type=kind)
    return row


# --------------------------------------------------------------------------- alerts

SEVERE = {"severe", "life_threatening"}


def _alert_ext(row: Mapping[str, Any]) -> FhirJson:
    return complex_ext(
        "alert",
        [
            part("type", "Code", row["alert_type"]),
            part("validFrom", "Date", row["valid_from"] and day(row["valid_from"])),
            part("validTo", "Date", row["valid_to"] and day(row["valid_to"])),
            part("agentNplId", "String", row["agent_npl_id"]),
            part("agentAtcCode", "String", row["agent_atc_code"]),
            part("agentText", "String", row["agent_text"]),
            part("severity", "Code", row["severity"]),
            part("conditionCode", "String", row["condition_code"]),
            part("treatmentCode", "String", row["treatment_code"]),
        ],
    )


def alert_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    if row["alert_type"] == "hypersensitivity":
        return _allergy_to_fhir(row)
    out = header_to_fhir("Flag", row)
    _append(out, _alert_ext(row))
    out["status"] = _entered_in_error(row, "active" if row["valid_to"] is None else "inactive")
    out["category"] = [concept(code_system("alert-type"), row["alert_type"])]
    codings = []
    if row["condition_code"] is not None:
        codings.append(coding(ICD10_SE, row["condition_code"]))
    if row["treatment_code"] is not None:
        codings.append(coding(KVA, row["treatment_code"]))
    code: FhirJson = {"coding": codings} if codings else {}
    code["text"] = row["description"]
    out["code"] = code
    if row["valid_from"] is not None:
        period = {"start": day(row["valid_from"])}
        if row["valid_to"] is not None:
            period["end"] = day(row["valid_to"])
        out["period"] = period
    who = practitioner_ref(row)
    if who is not None:
        out["author"] = who
    return out


def _allergy_to_fhir(row: Mapping[str, Any]) -> FhirJson:
    out = header_to_fhir("AllergyIntolerance", row, patient_element="patient")
    _append(out, _alert_ext(row))
    if row["nullified"]:
        out["verificationStatus"] = concept(ALLERGY_VERIFICATION, "entered-in-error")
    else:
        out["clinicalStatus"] = concept(
            ALLERGY_CLINICAL, "active" if row["valid_to"] is None else "inactive"
        )
        out["verificationStatus"] = concept(ALLERGY_VERIFICATION, "confirmed")
    if row["agent_npl_id"] or row["agent_atc_code"]:
        out["category"] = ["medication"]
    if row["severity"] is not None:
        out["criticality"] = "high" if row["severity"] in SEVERE else "low"
    codings = []
    if row["agent_npl_id"] is not None:
        codings.append(coding(NPL_ID, row["agent_npl_id"]))
    if row["agent_atc_code"] is not None:
        codings.append(coding(ATC, row["agent_atc_code"]))
    if codings or row["agent_text"] is not None:
        code: FhirJson = {"coding": codings} if codings else {}
        if row["agent_text"] is not None:
            code["text"] = row["agent_text"]
        out["code"] = code
    out["recordedDate"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["recorder"] = who
    out["note"] = [{"text": row["description"]}]
    return out


def _alert_fields(resource: Any) -> Row:
    nested = Ext(resource).nested("alert")
    if nested is None:
        return {}
    return {
        "alert_type": nested.value("type", "Code"),
        "valid_from": opt_date(nested.value("validFrom", "Date"), "alert.validFrom"),
        "valid_to": opt_date(nested.value("validTo", "Date"), "alert.validTo"),
        "agent_npl_id": nested.value("agentNplId", "String"),
        "agent_atc_code": nested.value("agentAtcCode", "String"),
        "agent_text": nested.value("agentText", "String"),
        "severity": nested.value("severity", "Code"),
        "condition_code": nested.value("conditionCode", "String"),
        "treatment_code": nested.value("treatmentCode", "String"),
    }


def allergy_from_fhir(resource: Any, resolver: Resolver) -> Row:
    verification = (
        code_in(resource.verificationStatus, ALLERGY_VERIFICATION)
        if resource.verificationStatus
        else None
    )
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.patient,
        event_time=resource.onsetDateTime or resource.recordedDate,
        author_time=resource.recordedDate,
        practitioner=resource.recorder or resource.asserter,
        encounter=resource.encounter,
        entered_in_error=verification is not None and verification.code == "entered-in-error",
    )
    fields = _alert_fields(resource)
    if not fields:
        npl = code_in(resource.code, NPL_ID) if resource.code else None
        atc = code_in(resource.code, ATC, ATC_OID) if resource.code else None
        severities = [r.severity for r in resource.reaction or [] if r.severity]
        fields = {
            "alert_type": "hypersensitivity",
            "valid_from": None,
            "valid_to": None,
            "agent_npl_id": npl.code if npl else None,
            "agent_atc_code": atc.code if atc else None,
            "agent_text": (text_of(resource.code) or "")[:200] or None,
            "severity": max(severities, key=["mild", "moderate", "severe"].index)
            if severities
            else None,
            "condition_code": None,
            "treatment_code": None,
        }
    description = next((n.text for n in resource.note or [] if n.text), None)
    description = description or fields["agent_text"]
    if description is None:
        raise MappingError("AllergyIntolerance.note", "a description (note or code text) is needed")
    row.update(fields, description=description[:1000])
    return row


def flag_from_fhir(resource: Any, resolver: Resolver) -> Row:
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.period.start if resource.period else None,
        practitioner=resource.author,
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    fields = _alert_fields(resource)
    if not fields:
        alert_type = own_code(resource.category or [], "alert-type")
        if alert_type is None:
            raise Unsupported("a Flag is stored only with an alert type (our alert-type codes)")
        period = resource.period
        condition = code_in(resource.code, ICD10_SE, ICD10_WHO)
        treatment = code_in(resource.code, KVA)
        fields = {
            "alert_type": alert_type,
            "valid_from": opt_date(period.start if period else None, "Flag.period.start"),
            "valid_to": opt_date(period.end if period else None, "Flag.period.end"),
            "agent_npl_id": None,
            "agent_atc_code": None,
            "agent_text": None,
            "severity": None,
            "condition_code": condition.code if condition else None,
            "treatment_code": treatment.code if treatment else None,
        }
    description = text_of(resource.code)
    if description is None:
        raise MappingError("Flag.code.text", "the alert's description is needed")
    row.update(fields, description=description[:1000])
    return row


# --------------------------------------------------------------------------- Observation

INTERPRETATION_CODES = {
    "normal": "N",
    "low": "L",
    "high": "H",
    "critical": "AA",
    "abnormal": "A",
}
INTERPRETATION_OF_CODE = {v: k for k, v in INTERPRETATION_CODES.items()} | {
    "HH": "critical",
    "LL": "critical",
}


def observation_kind(data: FhirJson) -> str:
    """'functional-status', 'dental-finding', 'laboratory', 'vital-signs' or '' for an
    Observation's JSON."""
    codes = {
        (cd.get("system"), cd.get("code"))
        for c in data.get("category") or []
        for cd in c.get("coding") or []
    }
    own = code_system("observation-category")
    for kind in ("functional-status", "dental-finding"):
        if (own, kind) in codes:
            return kind
    if (OBSERVATION_CATEGORY, "laboratory") in codes:
        return "laboratory"
    coded = {
        (cd.get("system"), cd.get("code")) for cd in (data.get("code") or {}).get("coding") or []
    }
    if (OBSERVATION_CATEGORY, "vital-signs") in codes and (
        code_system("news2-parameter"),
        "news2",
    ) in coded:
        # Only our NEWS2 set: a lone heart rate or blood pressure has no table here.
        return "vital-signs"
    if not codes:
        # Uncategorised but coded in LOINC or NPU: a laboratory analysis.
        systems = {cd.get("system") for cd in (data.get("code") or {}).get("coding") or []}
        if systems & {LOINC, NPU}:
            return "laboratory"
    return ""


def functional_status_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Observation", row)
    out["status"] = _entered_in_error(row, "final")
    out["category"] = [concept(code_system("observation-category"), "functional-status")]
    codings = [coding(code_system("assessment-type"), row["assessment_type"])]
    if row["icf_code"] is not None:
        codings.append(coding(ICF, row["icf_code"]))
    out["code"] = {"coding": codings}
    out["effectiveDateTime"] = instant(row["event_time"])
    out["issued"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [who]
    out["valueString"] = row["text"]
    return out


def functional_status_from_fhir(resource: Any, resolver: Resolver) -> Row:
    row = _observation_header(resource, resolver)
    kind = own_code(resource.code, "assessment-type")
    icf = code_in(resource.code, ICF)
    if kind is None or resource.valueString is None:
        raise MappingError("Observation.code", "an assessment type and a text are needed")
    row.update(assessment_type=kind, icf_code=icf.code if icf else None, text=resource.valueString)
    return row


def _observation_header(resource: Any, resolver: Resolver) -> Row:
    return header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.effectiveDateTime
        or (resource.effectivePeriod.start if resource.effectivePeriod else None)
        or resource.issued,
        author_time=resource.issued,
        practitioner=(resource.performer or [None])[0],
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )


def lab_result_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Observation", row)
    if row["value_numeric"] is not None and row["value_text"] is not None:
        _append(out, ext("value-text", "String", row["value_text"]))
    if row["value_numeric"] is None and row["unit"] is not None:
        _append(out, ext("unit", "String", row["unit"]))
    out["basedOn"] = [{"identifier": {"system": LAB_ORDER, "value": row["order_id"]}}]
    out["status"] = _entered_in_error(row, "final")
    out["category"] = [concept(OBSERVATION_CATEGORY, "laboratory")]
    system = NPU if row["code_system"] == "NPU" else LOINC
    out["code"] = {"coding": [coding(system, row["code"], row["name"])], "text": row["name"]}
    out["effectiveDateTime"] = instant(row["event_time"])
    out["issued"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [who]
    if row["value_numeric"] is not None:
        out["valueQuantity"] = ucum.quantity(row["value_numeric"], row["unit"])
    elif row["value_text"] is not None:
        out["valueString"] = row["value_text"]
    if row["interpretation"] is not None:
        out["interpretation"] = [
            concept(INTERPRETATION, INTERPRETATION_CODES[row["interpretation"]])
        ]
    if row["specimen"] is not None:
        out["specimen"] = {"display": row["specimen"]}
    bounds = {
        k: ucum.quantity(row[c], row["unit"])
        for k, c in (("low", "reference_low"), ("high", "reference_high"))
        if row[c] is not None
    }
    if bounds:
        out["referenceRange"] = [bounds]
    return out


def lab_result_from_fhir(resource: Any, resolver: Resolver) -> Row:
    found = code_in(resource.code, LOINC, NPU)
    if found is None:
        raise Unsupported("a laboratory Observation is stored only when coded in NPU or LOINC")
    system = "NPU" if found.system == NPU else "LOINC"
    try:
        code = validate_lab_code(system, str(found.code))
    except IdentifierError as exc:
        raise MappingError("Observation.code", exc.detail) from None
    row = _observation_header(resource, resolver)
    x = Ext(resource)
    order = next(
        (b.identifier.value for b in resource.basedOn or [] if b.identifier and b.identifier.value),
        None,
    )
    quantity = resource.valueQuantity
    interpretation = code_in(resource.interpretation or [], INTERPRETATION)
    ranges = (resource.referenceRange or [None])[0]
    name = text_of(resource.code) or code
    row.update(
        order_id=str(order or row["document_id"])[:64],
        code_system=system,
        code=code,
        name=name[:200],
        value_numeric=quantity.value if quantity is not None else None,
        value_text=x.value("value-text", "String") or resource.valueString,
        unit=(quantity.unit or quantity.code)
        if quantity is not None
        else x.value("unit", "String"),
        interpretation=INTERPRETATION_OF_CODE.get(interpretation.code) if interpretation else None,
        reference_low=ranges.low.value if ranges is not None and ranges.low is not None else None,
        reference_high=ranges.high.value
        if ranges is not None and ranges.high is not None
        else None,
        specimen=resource.specimen.display if resource.specimen is not None else None,
    )
    return row


# --------------------------------------------------------------------------- DiagnosticReport


def referral_outcome_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("DiagnosticReport", row)
    _append(
        out,
        complex_ext(
            "referral",
            [
                part("reason", "String", row["referral_reason"]),
                part("author", "String", row["referral_author"]),
            ],
        ),
    )
    out["basedOn"] = [{"identifier": {"system": REFERRAL_ID, "value": row["referral_id"]}}]
    final = "final" if row["outcome_type"] == "slutsvar" else "preliminary"
    out["status"] = _entered_in_error(row, final)
    out["category"] = [concept(code_system("report-category"), "referral-outcome")]
    out["code"] = concept(code_system("referral-outcome-type"), row["outcome_type"])
    out["effectiveDateTime"] = instant(row["event_time"])
    out["issued"] = instant(row["author_time"])
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [who]
    out["conclusion"] = row["text"]
    return out


def referral_outcome_from_fhir(resource: Any, resolver: Resolver) -> Row:
    if own_code(resource.category or [], "report-category") != "referral-outcome":
        raise Unsupported("a DiagnosticReport is stored only as a referral outcome (remissvar)")
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.subject,
        event_time=resource.effectiveDateTime or resource.issued,
        author_time=resource.issued,
        practitioner=(resource.performer or [None])[0],
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    referral = next(
        (b.identifier.value for b in resource.basedOn or [] if b.identifier and b.identifier.value),
        None,
    )
    nested = Ext(resource).nested("referral")
    kind = own_code(resource.code, "referral-outcome-type")
    if referral is None or kind is None or resource.conclusion is None:
        raise MappingError(
            "DiagnosticReport", "a referral id, an outcome type and a text are needed"
        )
    row.update(
        outcome_type=kind,
        text=resource.conclusion,
        referral_id=str(referral),
        referral_reason=nested.value("reason", "String") if nested else None,
        referral_author=nested.value("author", "String") if nested else None,
    )
    return row


# --------------------------------------------------------------------------- Immunization


def vaccination_to_fhir(row: Mapping[str, Any], refs: Any = None) -> FhirJson:
    out = header_to_fhir("Immunization", row, patient_element="patient")
    if row["performer_name"] is not None:
        _append(out, ext("performer-name", "String", row["performer_name"]))
    out["status"] = _entered_in_error(row, "completed")
    codings = []
    if row["vaccine_npl_id"] is not None:
        codings.append(coding(NPL_ID, row["vaccine_npl_id"]))
    if row["atc_code"] is not None:
        codings.append(coding(ATC, row["atc_code"]))
    code: FhirJson = {"coding": codings} if codings else {}
    code["text"] = row["vaccine_name"]
    out["vaccineCode"] = code
    out["occurrenceDateTime"] = instant(row["event_time"])
    out["recorded"] = instant(row["author_time"])
    if row["batch"] is not None:
        out["lotNumber"] = row["batch"]
    who = practitioner_ref(row)
    if who is not None:
        out["performer"] = [{"actor": who}]
    out["protocolApplied"] = [
        {
            "targetDisease": [{"text": row["target_disease"]}],
            "doseNumberPositiveInt": row["dose_number"],
        }
    ]
    return out


def vaccination_from_fhir(resource: Any, resolver: Resolver) -> Row:
    performer = next((p.actor for p in resource.performer or [] if p.actor), None)
    row = header_from_fhir(
        resource,
        resolver,
        patient=resource.patient,
        event_time=resource.occurrenceDateTime,
        author_time=resource.recorded,
        practitioner=performer,
        encounter=resource.encounter,
        entered_in_error=resource.status == "entered-in-error",
    )
    name = text_of(resource.vaccineCode)
    protocol = (resource.protocolApplied or [None])[0]
    disease = None
    if protocol is not None:
        disease = next((text_of(t) for t in protocol.targetDisease or [] if text_of(t)), None)
    if name is None or disease is None:
        raise MappingError("Immunization", "a vaccine name and a target disease are needed")
    dose = 1
    if protocol is not None and protocol.doseNumberPositiveInt is not None:
        dose = int(protocol.doseNumberPositiveInt)
    npl = code_in(resource.vaccineCode, NPL_ID)
    atc = code_in(resource.vaccineCode, ATC, ATC_OID)
    row.update(
        vaccine_name=name[:200],
        vaccine_npl_id=npl.code if npl else None,
        atc_code=atc.code if atc else None,
        target_disease=disease[:100],
        dose_number=dose,
        batch=resource.lotNumber,
        performer_name=Ext(resource).value("performer-name", "String"),
    )
    return row
