"""Loaders of prescriptions and dispensations (NLL, DOMAIN.md section 3) and of their
administrations in municipal home care."""

from __future__ import annotations

from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.loaders.common import by_patient
from resolvers.tables import DISPENSATION, MEDICATION_ADMINISTRATION, PRESCRIPTION


class PrescriptionByIdLoader(RowByKeyLoader):
    table, disclose = PRESCRIPTION, "Prescription"


class DispensationByIdLoader(RowByKeyLoader):
    table, disclose = DISPENSATION, "Dispensation"


class PrescriptionsByPatientLoader(PatientListLoader):
    listing = by_patient(PRESCRIPTION, "Prescription")


class PrescriptionsByChainLoader(PatientListLoader):
    listing = by_patient(PRESCRIPTION, "Prescription", "chain_id")


class DispensationsByPatientLoader(PatientListLoader):
    listing = by_patient(DISPENSATION, "Dispensation")


class DispensationsByPrescriptionLoader(PatientListLoader):
    listing = by_patient(DISPENSATION, "Dispensation", "prescription_id")


class MedicationAdministrationByIdLoader(RowByKeyLoader):
    table, disclose = MEDICATION_ADMINISTRATION, "MedicationAdministration"


class MedicationAdministrationsByPatientLoader(PatientListLoader):
    listing = by_patient(MEDICATION_ADMINISTRATION, "MedicationAdministration")


class MedicationAdministrationsByPrescriptionLoader(PatientListLoader):
    listing = by_patient(MEDICATION_ADMINISTRATION, "MedicationAdministration", "prescription_id")
