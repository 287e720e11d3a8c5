"""NLL expedition: what a pharmacist at a pharmacy sees of a patient to dispense (Lag 2018:1212).

No care relationship is needed: the law gives pharmacies access to the national medication list
for expedition. The pharmacist sees the patient's identity (not the address), every prescription
and dispensation, and the drug hypersensitivities that make a dispensation unsafe (the
clinical safety check of docs/legal-bases.md); nothing else of the record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, FromClause, and_, false

from app.access.bases import LegalBasis
from app.access.categories import NLL_TABLES, Category, base_table_name, classify

# Alerts the expedition basis discloses: hypersensitivities (to check a drug against).
EXPEDITION_ALERT_TYPES = ("hypersensitivity",)


@dataclass(frozen=True)
class ExpeditionAccess:
    """A pharmacist at a pharmacy (LegalBasis.NLL_EXPEDITION)."""

    patient_id: uuid.UUID
    may_see_patient: bool = field(default=True, init=False)
    may_see_identity: bool = field(default=True, init=False)
    may_see_address: bool = field(default=False, init=False)
    denial_reason: str | None = field(default=None, init=False)
    basis: LegalBasis | None = field(default=LegalBasis.NLL_EXPEDITION, init=False)

    def row_filter(self, table: FromClause) -> ColumnElement[bool]:
        category = classify(table)
        if category is Category.PATIENT:
            return table.c.id == self.patient_id
        if category is Category.MEDICATION and base_table_name(table) in NLL_TABLES:
            return table.c.patient_id == self.patient_id
        if category is Category.ALERT and base_table_name(table) == "alert":
            return and_(
                table.c.patient_id == self.patient_id,
                table.c.alert_type.in_(EXPEDITION_ALERT_TYPES),
            )
        return false()

    def blocked_elsewhere(self) -> bool:
        return False

    def blocked_providers(self) -> tuple[uuid.UUID, ...]:
        return ()
