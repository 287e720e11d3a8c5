"""Every Node type by name, with the loader that fetches one by its key (for `node(id:)` and
the timeline). Imports all domain modules, so only import it lazily from them."""

from __future__ import annotations

from typing import Any

from resolvers.loaders import (
    care,
    consent,
    dental,
    medication,
    municipal,
    organizations,
    referrals,
    sip,
)
from resolvers.loaders.base import RowByKeyLoader
from resolvers.loaders.patients import PatientByIdLoader, RepresentativeByIdLoader
from resolvers.loaders.relationships import CareRelationshipByIdLoader
from schema.care import (
    Alert,
    CareContact,
    CareDocument,
    Diagnosis,
    FunctionalStatus,
    LabResult,
    ReferralOutcome,
    Vaccination,
    VitalSigns,
)
from schema.consent import Block, Consent, PortalException, ResearchStudy
from schema.dental import DentalTreatment, ToothFinding
from schema.events import CareEvent
from schema.medication import Dispensation, MedicationAdministration, Prescription
from schema.municipal import ImplementationPlan, MunicipalDecision, PlanActivity
from schema.node import Node
from schema.organizations import CareProvider, CareUnit, Practitioner
from schema.patients import Patient
from schema.referrals import DischargePlan, Referral, ReferralEvent
from schema.relationships import CareRelationship
from schema.representatives import Representative
from schema.sip import SipAction, SipGoal, SipParticipant, SipPlan

# Clinical types (CareEvent), keyed as in app.models.CLINICAL_TABLES.
EVENT_TYPES: dict[str, tuple[type[CareEvent], type[RowByKeyLoader]]] = {
    "CareContact": (CareContact, care.CareContactByIdLoader),
    "CareDocument": (CareDocument, care.CareDocumentByIdLoader),
    "Diagnosis": (Diagnosis, care.DiagnosisByIdLoader),
    "Alert": (Alert, care.AlertByIdLoader),
    "FunctionalStatus": (FunctionalStatus, care.FunctionalStatusByIdLoader),
    "LabResult": (LabResult, care.LabResultByIdLoader),
    "ReferralOutcome": (ReferralOutcome, care.ReferralOutcomeByIdLoader),
    "Vaccination": (Vaccination, care.VaccinationByIdLoader),
    "Prescription": (Prescription, medication.PrescriptionByIdLoader),
    "Dispensation": (Dispensation, medication.DispensationByIdLoader),
    "MedicationAdministration": (
        MedicationAdministration,
        medication.MedicationAdministrationByIdLoader,
    ),
    "DentalTreatment": (DentalTreatment, dental.DentalTreatmentByIdLoader),
    "ToothFinding": (ToothFinding, dental.ToothFindingByIdLoader),
    "MunicipalDecision": (MunicipalDecision, municipal.MunicipalDecisionByIdLoader),
    "ImplementationPlan": (ImplementationPlan, municipal.ImplementationPlanByIdLoader),
    "VitalSigns": (VitalSigns, care.VitalSignsByIdLoader),
    "Referral": (Referral, referrals.ReferralByIdLoader),
    "DischargePlan": (DischargePlan, referrals.DischargePlanByIdLoader),
    "SipPlan": (SipPlan, sip.SipPlanByIdLoader),
}

# Other patient rows, fetched by (patient_id, id).
PATIENT_ROW_TYPES: dict[str, tuple[type[Node], type[RowByKeyLoader]]] = {
    **EVENT_TYPES,
    "PlanActivity": (PlanActivity, municipal.PlanActivityByIdLoader),
    "ReferralEvent": (ReferralEvent, referrals.ReferralEventByIdLoader),
    "SipParticipant": (SipParticipant, sip.SipParticipantByIdLoader),
    "SipGoal": (SipGoal, sip.SipGoalByIdLoader),
    "SipAction": (SipAction, sip.SipActionByIdLoader),
    "Consent": (Consent, consent.ConsentByIdLoader),
    "Block": (Block, consent.BlockByIdLoader),
    "PortalException": (PortalException, consent.PortalExceptionByIdLoader),
    "Representative": (Representative, RepresentativeByIdLoader),
    "CareRelationship": (CareRelationship, CareRelationshipByIdLoader),
}

# Shared rows, fetched by id.
REFERENCE_TYPES: dict[str, tuple[type[Node], Any]] = {
    "Patient": (Patient, PatientByIdLoader),
    "CareProvider": (CareProvider, organizations.CareProviderByIdLoader),
    "CareUnit": (CareUnit, organizations.CareUnitByIdLoader),
    "Practitioner": (Practitioner, organizations.PractitionerByIdLoader),
    "ResearchStudy": (ResearchStudy, organizations.ResearchStudyByIdLoader),
}

TYPES: dict[str, type[Node]] = {
    name: cls for name, (cls, _) in {**PATIENT_ROW_TYPES, **REFERENCE_TYPES}.items()
}
