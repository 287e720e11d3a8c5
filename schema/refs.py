"""Lazy references between the domain modules, which refer to each other in cycles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

if TYPE_CHECKING:
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
    from schema.municipal import ImplementationPlan, MunicipalDecision
    from schema.organizations import CareProvider, CareUnit, Municipality, Practitioner
    from schema.patients import Patient
    from schema.referrals import DischargePlan, Referral
    from schema.relationships import CareRelationship
    from schema.representatives import Representative
    from schema.sip import SipPlan

PatientRef = Annotated["Patient", strawberry.lazy("schema.patients")]
RepresentativeRef = Annotated["Representative", strawberry.lazy("schema.representatives")]
CareProviderRef = Annotated["CareProvider", strawberry.lazy("schema.organizations")]
CareUnitRef = Annotated["CareUnit", strawberry.lazy("schema.organizations")]
PractitionerRef = Annotated["Practitioner", strawberry.lazy("schema.organizations")]
MunicipalityRef = Annotated["Municipality", strawberry.lazy("schema.organizations")]
CareContactRef = Annotated["CareContact", strawberry.lazy("schema.care")]
CareDocumentRef = Annotated["CareDocument", strawberry.lazy("schema.care")]
DiagnosisRef = Annotated["Diagnosis", strawberry.lazy("schema.care")]
AlertRef = Annotated["Alert", strawberry.lazy("schema.care")]
FunctionalStatusRef = Annotated["FunctionalStatus", strawberry.lazy("schema.care")]
LabResultRef = Annotated["LabResult", strawberry.lazy("schema.care")]
ReferralOutcomeRef = Annotated["ReferralOutcome", strawberry.lazy("schema.care")]
VaccinationRef = Annotated["Vaccination", strawberry.lazy("schema.care")]
VitalSignsRef = Annotated["VitalSigns", strawberry.lazy("schema.care")]
ReferralRef = Annotated["Referral", strawberry.lazy("schema.referrals")]
DischargePlanRef = Annotated["DischargePlan", strawberry.lazy("schema.referrals")]
DentalTreatmentRef = Annotated["DentalTreatment", strawberry.lazy("schema.dental")]
ToothFindingRef = Annotated["ToothFinding", strawberry.lazy("schema.dental")]
ConsentRef = Annotated["Consent", strawberry.lazy("schema.consent")]
PrescriptionRef = Annotated["Prescription", strawberry.lazy("schema.medication")]
DispensationRef = Annotated["Dispensation", strawberry.lazy("schema.medication")]
SipPlanRef = Annotated["SipPlan", strawberry.lazy("schema.sip")]
MedicationAdministrationRef = Annotated[
    "MedicationAdministration", strawberry.lazy("schema.medication")
]
MunicipalDecisionRef = Annotated["MunicipalDecision", strawberry.lazy("schema.municipal")]
ImplementationPlanRef = Annotated["ImplementationPlan", strawberry.lazy("schema.municipal")]
BlockRef = Annotated["Block", strawberry.lazy("schema.consent")]
ResearchStudyRef = Annotated["ResearchStudy", strawberry.lazy("schema.consent")]
PortalExceptionRef = Annotated["PortalException", strawberry.lazy("schema.consent")]
CareEventRef = Annotated["CareEvent", strawberry.lazy("schema.events")]
CareRelationshipRef = Annotated["CareRelationship", strawberry.lazy("schema.relationships")]
