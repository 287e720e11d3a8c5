"""Which of our tables maps to which FHIR resource, in which order they are written, and how an
incoming resource finds its table (some resource types hold several of ours)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.fhir.mapping import (
    administration,
    care,
    consent,
    dental,
    medication,
    municipal,
    organizations,
    patients,
    referrals,
    sip,
    vital_signs,
)
from app.fhir.mapping.common import Resolver, Row
from app.fhir.r4 import FhirJson, Unsupported

ToFhir = Callable[[Mapping[str, Any], Any], FhirJson]
FromFhir = Callable[[Any, Resolver], Row]

REFERENCE = "reference"  # shared by all patients, keyed by HSA-id or code
PATIENT = "patient"
PATIENT_ROW = "patient_row"  # patient-scoped, keyed by (patient_id, id)
CLINICAL = "clinical"  # keyed by (patient_id, source_system_hsa_id, document_id)


@dataclass(frozen=True)
class Kind:
    """One of our tables as one FHIR resource type."""

    name: str  # our type name: the GraphQL/audit name of the row
    table: str
    resource_type: str
    to_fhir: ToFhir
    from_fhir: FromFhir
    scope: str
    key: tuple[str, ...]
    patient_element: str | None = None  # where a patient-scoped resource names its patient


def _ref(name: str, table: str, rt: str, to: ToFhir, frm: FromFhir, key: tuple[str, ...]) -> Kind:
    return Kind(name, table, rt, to, frm, REFERENCE, key)


def _row(name: str, table: str, rt: str, to: ToFhir, frm: FromFhir, element: str) -> Kind:
    return Kind(name, table, rt, to, frm, PATIENT_ROW, ("patient_id", "id"), element)


def _clinical(name: str, table: str, rt: str, to: ToFhir, frm: FromFhir, element: str) -> Kind:
    key = ("patient_id", "source_system_hsa_id", "document_id")
    return Kind(name, table, rt, to, frm, CLINICAL, key, element)


MUNICIPALITY = _ref(
    "Municipality",
    "municipality",
    "Organization",
    organizations.municipality_to_fhir,
    organizations.municipality_from_fhir,
    ("code",),
)
PROVIDER = _ref(
    "CareProvider",
    "care_provider",
    "Organization",
    organizations.provider_to_fhir,
    organizations.provider_from_fhir,
    ("hsa_id",),
)
UNIT = _ref(
    "CareUnit",
    "care_unit",
    "Organization",
    organizations.unit_to_fhir,
    organizations.unit_from_fhir,
    ("hsa_id",),
)
PRACTITIONER = _ref(
    "Practitioner",
    "practitioner",
    "Practitioner",
    organizations.practitioner_to_fhir,
    organizations.practitioner_from_fhir,
    ("hsa_id",),
)
STUDY = _ref(
    "ResearchStudy",
    "research_study",
    "ResearchStudy",
    consent.study_to_fhir,
    consent.study_from_fhir,
    ("id",),
)
ASSIGNMENT = _ref(
    "Assignment",
    "assignment",
    "PractitionerRole",
    organizations.assignment_to_fhir,
    organizations.assignment_from_fhir,
    ("id",),
)
PATIENT_KIND = Kind(
    "Patient",
    "patient",
    "Patient",
    patients.patient_to_fhir,
    patients.patient_from_fhir,
    PATIENT,
    ("id",),  # matched on identifiers by the importer, which gives the row its id
)
REPRESENTATIVE = _row(
    "Representative",
    "representative",
    "RelatedPerson",
    patients.representative_to_fhir,
    patients.representative_from_fhir,
    "patient",
)
CARE_RELATIONSHIP = _row(
    "CareRelationship",
    "care_relationship",
    "EpisodeOfCare",
    patients.care_relationship_to_fhir,
    patients.care_relationship_from_fhir,
    "patient",
)
BLOCK = _row("Block", "block", "Consent", consent.block_to_fhir, consent.block_from_fhir, "patient")
CONSENT = _row(
    "Consent", "consent", "Consent", consent.consent_to_fhir, consent.consent_from_fhir, "patient"
)
CARE_CONTACT = _clinical(
    "CareContact",
    "care_contact",
    "Encounter",
    care.care_contact_to_fhir,
    care.care_contact_from_fhir,
    "subject",
)
CARE_DOCUMENT = _clinical(
    "CareDocument",
    "care_document",
    "DocumentReference",
    care.care_document_to_fhir,
    care.care_document_from_fhir,
    "subject",
)
DIAGNOSIS = _clinical(
    "Diagnosis",
    "diagnosis",
    "Condition",
    care.diagnosis_to_fhir,
    care.diagnosis_from_fhir,
    "subject",
)
ALLERGY = _clinical(
    "Alert",
    "alert",
    "AllergyIntolerance",
    care.alert_to_fhir,
    care.allergy_from_fhir,
    "patient",
)
FLAG = _clinical("Alert", "alert", "Flag", care.alert_to_fhir, care.flag_from_fhir, "subject")
FUNCTIONAL_STATUS = _clinical(
    "FunctionalStatus",
    "functional_status",
    "Observation",
    care.functional_status_to_fhir,
    care.functional_status_from_fhir,
    "subject",
)
LAB_RESULT = _clinical(
    "LabResult",
    "lab_result",
    "Observation",
    care.lab_result_to_fhir,
    care.lab_result_from_fhir,
    "subject",
)
REFERRAL_OUTCOME = _clinical(
    "ReferralOutcome",
    "referral_outcome",
    "DiagnosticReport",
    care.referral_outcome_to_fhir,
    care.referral_outcome_from_fhir,
    "subject",
)
VACCINATION = _clinical(
    "Vaccination",
    "vaccination",
    "Immunization",
    care.vaccination_to_fhir,
    care.vaccination_from_fhir,
    "patient",
)
VITAL_SIGNS = _clinical(
    "VitalSigns",
    "vital_signs",
    "Observation",
    vital_signs.vital_signs_to_fhir,
    vital_signs.vital_signs_from_fhir,
    "subject",
)
PRESCRIPTION = _clinical(
    "Prescription",
    "prescription",
    "MedicationRequest",
    medication.prescription_to_fhir,
    medication.prescription_from_fhir,
    "subject",
)
DISPENSATION = _clinical(
    "Dispensation",
    "dispensation",
    "MedicationDispense",
    medication.dispensation_to_fhir,
    medication.dispensation_from_fhir,
    "subject",
)
MEDICATION_ADMINISTRATION = _clinical(
    "MedicationAdministration",
    "medication_administration",
    "MedicationAdministration",
    administration.administration_to_fhir,
    administration.administration_from_fhir,
    "subject",
)
SIP = _clinical("SipPlan", "sip_plan", "CarePlan", sip.sip_to_fhir, sip.sip_from_fhir, "subject")
DENTAL_TREATMENT = _clinical(
    "DentalTreatment",
    "dental_treatment",
    "Procedure",
    dental.dental_treatment_to_fhir,
    dental.dental_treatment_from_fhir,
    "subject",
)
TOOTH_FINDING = _clinical(
    "ToothFinding",
    "tooth_finding",
    "Observation",
    dental.tooth_finding_to_fhir,
    dental.tooth_finding_from_fhir,
    "subject",
)
DECISION = _clinical(
    "MunicipalDecision",
    "municipal_decision",
    "ServiceRequest",
    municipal.decision_to_fhir,
    municipal.decision_from_fhir,
    "subject",
)
PLAN = _clinical(
    "ImplementationPlan",
    "implementation_plan",
    "CarePlan",
    municipal.plan_to_fhir,
    municipal.plan_from_fhir,
    "subject",
)
REFERRAL = _clinical(
    "Referral",
    "referral",
    "ServiceRequest",
    referrals.referral_to_fhir,
    referrals.referral_from_fhir,
    "subject",
)
REFERRAL_EVENT = _row(
    "ReferralEvent",
    "referral_event",
    "Task",
    referrals.referral_event_to_fhir,
    referrals.referral_event_from_fhir,
    "for",
)
DISCHARGE_PLAN = _clinical(
    "DischargePlan",
    "discharge_plan",
    "ServiceRequest",
    referrals.discharge_plan_to_fhir,
    referrals.discharge_plan_from_fhir,
    "subject",
)

# Write order: every table after the tables its foreign keys point at.
KINDS: tuple[Kind, ...] = (
    MUNICIPALITY,
    PROVIDER,
    UNIT,
    PRACTITIONER,
    STUDY,
    ASSIGNMENT,
    PATIENT_KIND,
    REPRESENTATIVE,
    CARE_RELATIONSHIP,
    BLOCK,
    CONSENT,
    CARE_CONTACT,
    CARE_DOCUMENT,
    DIAGNOSIS,
    ALLERGY,
    FLAG,
    FUNCTIONAL_STATUS,
    LAB_RESULT,
    REFERRAL_OUTCOME,
    VACCINATION,
    VITAL_SIGNS,
    PRESCRIPTION,
    DISPENSATION,
    MEDICATION_ADMINISTRATION,
    DENTAL_TREATMENT,
    TOOTH_FINDING,
    DECISION,
    PLAN,
    REFERRAL,
    REFERRAL_EVENT,
    DISCHARGE_PLAN,
    SIP,
)
# Tables in write order (alert appears once though two kinds write it), plus plan activities.
TABLE_ORDER: tuple[str, ...] = (*dict.fromkeys(k.table for k in KINDS), "plan_activity")
# Which tables a reference "Type/id" may point at.
TABLES_OF_TYPE: dict[str, tuple[str, ...]] = {}
for _kind in KINDS:
    TABLES_OF_TYPE.setdefault(_kind.resource_type, ())
    if _kind.table not in TABLES_OF_TYPE[_kind.resource_type]:
        TABLES_OF_TYPE[_kind.resource_type] += (_kind.table,)
TYPE_OF_TABLE: dict[str, str] = {k.table: k.resource_type for k in KINDS}
SUPPORTED_TYPES = frozenset(TABLES_OF_TYPE)

_BY_TYPE: dict[str, Kind] = {
    "Patient": PATIENT_KIND,
    "Practitioner": PRACTITIONER,
    "PractitionerRole": ASSIGNMENT,
    "ResearchStudy": STUDY,
    "RelatedPerson": REPRESENTATIVE,
    "EpisodeOfCare": CARE_RELATIONSHIP,
    "Encounter": CARE_CONTACT,
    "DocumentReference": CARE_DOCUMENT,
    "Condition": DIAGNOSIS,
    "AllergyIntolerance": ALLERGY,
    "Flag": FLAG,
    "DiagnosticReport": REFERRAL_OUTCOME,
    "Immunization": VACCINATION,
    "MedicationRequest": PRESCRIPTION,
    "MedicationDispense": DISPENSATION,
    "MedicationAdministration": MEDICATION_ADMINISTRATION,
    "Procedure": DENTAL_TREATMENT,
    "Task": REFERRAL_EVENT,
    "CarePlan": PLAN,
}
_SERVICE_REQUESTS = {"referral": REFERRAL, "discharge-plan": DISCHARGE_PLAN}
_ORGANIZATIONS = {"municipality": MUNICIPALITY, "care-provider": PROVIDER, "care-unit": UNIT}
_OBSERVATIONS = {
    "functional-status": FUNCTIONAL_STATUS,
    "dental-finding": TOOTH_FINDING,
    "laboratory": LAB_RESULT,
    "vital-signs": VITAL_SIGNS,
}


def kind_of(data: FhirJson) -> Kind:
    """The kind an incoming resource's JSON maps to; Unsupported says why there is none."""
    resource_type = data.get("resourceType")
    if resource_type == "Organization":
        level = organizations.organization_level(data)
        if level not in _ORGANIZATIONS:
            raise Unsupported(f"Organization of level {level!r}")
        return _ORGANIZATIONS[level]
    if resource_type == "Observation":
        found = _OBSERVATIONS.get(care.observation_kind(data))
        if found is None:
            raise Unsupported(
                "an Observation is stored only as a lab result (laboratory, NPU or LOINC), a "
                "functional status, a dental finding or vital signs (NEWS2)"
            )
        return found
    if resource_type == "ServiceRequest":
        return _SERVICE_REQUESTS.get(referrals.service_request_kind(data) or "", DECISION)
    if resource_type == "CarePlan" and sip.is_sip(data):
        return SIP
    if resource_type == "Consent":
        return BLOCK if (consent.consent_kind(data) or "").startswith("block-") else CONSENT
    found_kind = _BY_TYPE.get(str(resource_type))
    if found_kind is None:
        raise Unsupported(f"resource type {resource_type} is not stored by vardkedja")
    return found_kind


def kind_of_row(table: str, row: Mapping[Any, Any]) -> Kind:
    """The kind that exports a row of `table` (alerts: AllergyIntolerance or Flag)."""
    if table == "alert":
        return ALLERGY if row["alert_type"] == "hypersensitivity" else FLAG
    return next(k for k in KINDS if k.table == table)
