"""SQLModel tables: the only description of the database. Importing this registers them all."""

from app.models.audit import AuditCut, AuditEntry
from app.models.audit_key import AuditKeyFingerprint
from app.models.care import (
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
from app.models.changes import ChangeLog, ChangeLogHorizon
from app.models.consent import Block, Consent, PortalException, ResearchStudy
from app.models.dental import DentalTreatment, ToothFinding
from app.models.fhir import FhirExportFile, FhirExportJob, FhirPreserved
from app.models.idempotency import IdempotencyKey
from app.models.municipal import (
    ImplementationPlan,
    Insats,
    LegalBasis,
    MunicipalDecision,
    PlanActivity,
)
from app.models.organizations import Assignment, CareProvider, CareUnit, Municipality, Practitioner
from app.models.patients import (
    CareRelationship,
    Patient,
    PatientIdentifier,
    RelationshipOrigin,
    Representative,
)
from app.models.prescriptions import Dispensation, MedicationAdministration, Prescription
from app.models.referrals import DischargePlan, Referral, ReferralEvent
from app.models.sip import SipAction, SipGoal, SipParticipant, SipPlan
from app.models.webhooks import Webhook, WebhookDelivery

# Clinical tables: every one carries the header of DOMAIN.md section 1 and is a CareEvent.
CLINICAL_TABLES = (
    CareContact,
    CareDocument,
    Diagnosis,
    Alert,
    FunctionalStatus,
    LabResult,
    ReferralOutcome,
    Vaccination,
    Prescription,
    Dispensation,
    DentalTreatment,
    ToothFinding,
    MunicipalDecision,
    ImplementationPlan,
    VitalSigns,
    Referral,
    DischargePlan,
    MedicationAdministration,
    SipPlan,
)

__all__ = [
    "CLINICAL_TABLES",
    "Alert",
    "Assignment",
    "AuditCut",
    "AuditEntry",
    "AuditKeyFingerprint",
    "Block",
    "CareContact",
    "CareDocument",
    "CareProvider",
    "CareRelationship",
    "CareUnit",
    "ChangeLog",
    "ChangeLogHorizon",
    "Consent",
    "DentalTreatment",
    "Diagnosis",
    "DischargePlan",
    "Dispensation",
    "FhirExportFile",
    "FhirExportJob",
    "FhirPreserved",
    "FunctionalStatus",
    "IdempotencyKey",
    "ImplementationPlan",
    "Insats",
    "LabResult",
    "LegalBasis",
    "MedicationAdministration",
    "MunicipalDecision",
    "Municipality",
    "Patient",
    "PatientIdentifier",
    "PlanActivity",
    "PortalException",
    "Practitioner",
    "Prescription",
    "Referral",
    "ReferralEvent",
    "ReferralOutcome",
    "RelationshipOrigin",
    "Representative",
    "ResearchStudy",
    "SipAction",
    "SipGoal",
    "SipParticipant",
    "SipPlan",
    "ToothFinding",
    "Vaccination",
    "VitalSigns",
    "Webhook",
    "WebhookDelivery",
]
