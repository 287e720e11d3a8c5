"""The tables of app.models as SQLAlchemy Core `Table`s, typed, for the read paths."""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel

from app import models


def _t(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


PATIENT = _t(models.Patient)
REPRESENTATIVE = _t(models.Representative)
CARE_PROVIDER = _t(models.CareProvider)
CARE_UNIT = _t(models.CareUnit)
PRACTITIONER = _t(models.Practitioner)
MUNICIPALITY = _t(models.Municipality)
CARE_CONTACT = _t(models.CareContact)
CARE_DOCUMENT = _t(models.CareDocument)
DIAGNOSIS = _t(models.Diagnosis)
ALERT = _t(models.Alert)
FUNCTIONAL_STATUS = _t(models.FunctionalStatus)
LAB_RESULT = _t(models.LabResult)
REFERRAL_OUTCOME = _t(models.ReferralOutcome)
VACCINATION = _t(models.Vaccination)
VITAL_SIGNS = _t(models.VitalSigns)
PRESCRIPTION = _t(models.Prescription)
DISPENSATION = _t(models.Dispensation)
MEDICATION_ADMINISTRATION = _t(models.MedicationAdministration)
SIP_PLAN = _t(models.SipPlan)
SIP_PARTICIPANT = _t(models.SipParticipant)
SIP_GOAL = _t(models.SipGoal)
SIP_ACTION = _t(models.SipAction)
DENTAL_TREATMENT = _t(models.DentalTreatment)
TOOTH_FINDING = _t(models.ToothFinding)
MUNICIPAL_DECISION = _t(models.MunicipalDecision)
IMPLEMENTATION_PLAN = _t(models.ImplementationPlan)
PLAN_ACTIVITY = _t(models.PlanActivity)
LEGAL_BASIS = _t(models.LegalBasis)
INSATS = _t(models.Insats)
CARE_RELATIONSHIP = _t(models.CareRelationship)
CONSENT = _t(models.Consent)
BLOCK = _t(models.Block)
PORTAL_EXCEPTION = _t(models.PortalException)
RESEARCH_STUDY = _t(models.ResearchStudy)
REFERRAL = _t(models.Referral)
REFERRAL_EVENT = _t(models.ReferralEvent)
DISCHARGE_PLAN = _t(models.DischargePlan)

# GraphQL type name of every clinical (CareEvent) table, in app.models.CLINICAL_TABLES order.
CLINICAL: dict[str, Table] = {model.__name__: _t(model) for model in models.CLINICAL_TABLES}
