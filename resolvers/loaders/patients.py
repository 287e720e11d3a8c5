"""Loaders of patients and their representatives."""

from __future__ import annotations

import uuid

from sqlalchemy import RowMapping, select

from app.context import Context
from resolvers.listing import Listing
from resolvers.loaders.base import PatientListLoader, RowByKeyLoader
from resolvers.loaders.reverse import ReverseListLoader
from resolvers.loaders.shared import DataLoader
from resolvers.pagination import SortKey
from resolvers.tables import PATIENT, REPRESENTATIVE


class PatientByIdLoader(DataLoader[uuid.UUID, RowMapping | None]):
    """Patients by id; those the caller may not see load as None (and are audited as denied)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[uuid.UUID]) -> list[RowMapping | None]:
        allowed = await self.ctx.data.visible_patients(keys)
        if not allowed:
            return [None] * len(keys)
        rows = await self.ctx.data.fetch(
            select(PATIENT).where(PATIENT.c.id.in_(sorted(allowed))), disclose="Patient"
        )
        found = {r["id"]: r for r in rows}
        return [found.get(k) for k in keys]


class RepresentativeByIdLoader(RowByKeyLoader):
    table, disclose = REPRESENTATIVE, "Representative"


_REPRESENTATIVE_ORDER = SortKey("Representative", ("valid_from", "id"))


class RepresentativesByPatientLoader(PatientListLoader):
    """Who may act for the patient: guardians and holders of power of attorney."""

    listing = Listing(REPRESENTATIVE, ("patient_id",), _REPRESENTATIVE_ORDER, "Representative")


class RepresentedByPatientLoader(ReverseListLoader):
    """Whom the patient acts for: rows of other patients naming this one as representative."""

    listing = Listing(
        REPRESENTATIVE, ("representative_patient_id",), _REPRESENTATIVE_ORDER, "Representative"
    )
