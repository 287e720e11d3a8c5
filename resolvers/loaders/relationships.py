"""Loaders of care relationships (vårdrelationer): the A1 basis of a unit's reading."""

from __future__ import annotations

from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.pagination import SortKey
from resolvers.tables import CARE_RELATIONSHIP


class CareRelationshipByIdLoader(RowByKeyLoader):
    table, disclose = CARE_RELATIONSHIP, "CareRelationship"


class CareRelationshipsByPatientLoader(PatientListLoader):
    listing = Listing(
        CARE_RELATIONSHIP,
        ("patient_id",),
        SortKey("CareRelationship", ("valid_from", "id")),
        "CareRelationship",
    )
