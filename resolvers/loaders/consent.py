"""Loaders of consents and blocks (the patient's say over their data), and of the exceptions
to the patient app's age rules (A10)."""

from __future__ import annotations

from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.pagination import SortKey
from resolvers.tables import BLOCK, CONSENT, PORTAL_EXCEPTION


class ConsentByIdLoader(RowByKeyLoader):
    table, disclose = CONSENT, "Consent"


class BlockByIdLoader(RowByKeyLoader):
    table, disclose = BLOCK, "Block"


class PortalExceptionByIdLoader(RowByKeyLoader):
    table, disclose = PORTAL_EXCEPTION, "PortalException"


class ConsentsByPatientLoader(PatientListLoader):
    listing = Listing(CONSENT, ("patient_id",), SortKey("Consent", ("valid_from", "id")), "Consent")


class BlocksByPatientLoader(PatientListLoader):
    listing = Listing(BLOCK, ("patient_id",), SortKey("Block", ("placed_at", "id")), "Block")


class PortalExceptionsByPatientLoader(PatientListLoader):
    listing = Listing(
        PORTAL_EXCEPTION,
        ("patient_id",),
        SortKey("PortalException", ("valid_from", "id")),
        "PortalException",
    )
