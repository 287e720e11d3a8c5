"""Loaders of the clinical record (DOMAIN.md section 2)."""

from __future__ import annotations

from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.loaders.common import by_patient
from resolvers.tables import (
    ALERT,
    CARE_CONTACT,
    CARE_DOCUMENT,
    DIAGNOSIS,
    FUNCTIONAL_STATUS,
    LAB_RESULT,
    REFERRAL_OUTCOME,
    VACCINATION,
    VITAL_SIGNS,
)


class CareContactByIdLoader(RowByKeyLoader):
    table, disclose = CARE_CONTACT, "CareContact"


class CareDocumentByIdLoader(RowByKeyLoader):
    table, disclose = CARE_DOCUMENT, "CareDocument"


class DiagnosisByIdLoader(RowByKeyLoader):
    table, disclose = DIAGNOSIS, "Diagnosis"


class AlertByIdLoader(RowByKeyLoader):
    table, disclose = ALERT, "Alert"


class FunctionalStatusByIdLoader(RowByKeyLoader):
    table, disclose = FUNCTIONAL_STATUS, "FunctionalStatus"


class LabResultByIdLoader(RowByKeyLoader):
    table, disclose = LAB_RESULT, "LabResult"


class ReferralOutcomeByIdLoader(RowByKeyLoader):
    table, disclose = REFERRAL_OUTCOME, "ReferralOutcome"


class VaccinationByIdLoader(RowByKeyLoader):
    table, disclose = VACCINATION, "Vaccination"


class VitalSignsByIdLoader(RowByKeyLoader):
    table, disclose = VITAL_SIGNS, "VitalSigns"


class CareContactsByPatientLoader(PatientListLoader):
    listing = by_patient(CARE_CONTACT, "CareContact")


class CareDocumentsByPatientLoader(PatientListLoader):
    listing = by_patient(CARE_DOCUMENT, "CareDocument")


class DiagnosesByPatientLoader(PatientListLoader):
    listing = by_patient(DIAGNOSIS, "Diagnosis")


class AlertsByPatientLoader(PatientListLoader):
    listing = by_patient(ALERT, "Alert")


class FunctionalStatusesByPatientLoader(PatientListLoader):
    listing = by_patient(FUNCTIONAL_STATUS, "FunctionalStatus")


class LabResultsByPatientLoader(PatientListLoader):
    listing = by_patient(LAB_RESULT, "LabResult")


class ReferralOutcomesByPatientLoader(PatientListLoader):
    listing = by_patient(REFERRAL_OUTCOME, "ReferralOutcome")


class VaccinationsByPatientLoader(PatientListLoader):
    listing = by_patient(VACCINATION, "Vaccination")


class VitalSignsByPatientLoader(PatientListLoader):
    listing = by_patient(VITAL_SIGNS, "VitalSigns")


class DiagnosesByCareContactLoader(PatientListLoader):
    listing = by_patient(DIAGNOSIS, "Diagnosis", "care_contact_id")


class CareDocumentsByCareContactLoader(PatientListLoader):
    listing = by_patient(CARE_DOCUMENT, "CareDocument", "care_contact_id")
