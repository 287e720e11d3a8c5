"""The tables mutations write, by the GraphQL type name of their rows."""

from __future__ import annotations

from sqlalchemy import Table

from resolvers import tables as t

TABLES: dict[str, Table] = {
    "Patient": t.PATIENT,
    "CareContact": t.CARE_CONTACT,
    "CareDocument": t.CARE_DOCUMENT,
    "Diagnosis": t.DIAGNOSIS,
    "Alert": t.ALERT,
    "FunctionalStatus": t.FUNCTIONAL_STATUS,
    "LabResult": t.LAB_RESULT,
    "ReferralOutcome": t.REFERRAL_OUTCOME,
    "Vaccination": t.VACCINATION,
    "VitalSigns": t.VITAL_SIGNS,
    "Prescription": t.PRESCRIPTION,
    "Dispensation": t.DISPENSATION,
    "MedicationAdministration": t.MEDICATION_ADMINISTRATION,
    "SipPlan": t.SIP_PLAN,
    "SipParticipant": t.SIP_PARTICIPANT,
    "SipGoal": t.SIP_GOAL,
    "SipAction": t.SIP_ACTION,
    "DentalTreatment": t.DENTAL_TREATMENT,
    "ToothFinding": t.TOOTH_FINDING,
    "MunicipalDecision": t.MUNICIPAL_DECISION,
    "ImplementationPlan": t.IMPLEMENTATION_PLAN,
    "CareRelationship": t.CARE_RELATIONSHIP,
    "Referral": t.REFERRAL,
    "ReferralEvent": t.REFERRAL_EVENT,
    "DischargePlan": t.DISCHARGE_PLAN,
}

# Clinical rows can be nullified (makulerade); patients cannot.
NULLIFIABLE = frozenset(TABLES) - {"Patient", "CareRelationship", "ReferralEvent"}
