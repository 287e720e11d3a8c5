"""Loaders of the dental record (DOMAIN.md section 5)."""

from __future__ import annotations

from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.loaders.common import by_patient
from resolvers.pagination import SortKey
from resolvers.tables import DENTAL_TREATMENT, TOOTH_FINDING


class DentalTreatmentByIdLoader(RowByKeyLoader):
    table, disclose = DENTAL_TREATMENT, "DentalTreatment"


class ToothFindingByIdLoader(RowByKeyLoader):
    table, disclose = TOOTH_FINDING, "ToothFinding"


class DentalTreatmentsByPatientLoader(PatientListLoader):
    listing = by_patient(DENTAL_TREATMENT, "DentalTreatment")


class ToothFindingsByPatientLoader(PatientListLoader):
    listing = by_patient(TOOTH_FINDING, "ToothFinding")


class ToothChartByPatientLoader(PatientListLoader):
    """The current chart: the newest visible finding per FDI tooth, in tooth order."""

    listing = Listing(
        TOOTH_FINDING,
        ("patient_id",),
        SortKey("ToothChart", ("tooth", "id"), descending=False),
        "ToothFinding",
        latest_per=("tooth",),
    )
