"""How many dispensations of a prescription are used: what is left to dispense (pharmacy)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, FromClause, func, select, tuple_

from app.context import Context
from resolvers.loaders.shared import DataLoader
from resolvers.tables import DISPENSATION

if TYPE_CHECKING:
    from app.access.policy import PatientAccess

Key = tuple[uuid.UUID, uuid.UUID]


def dispensed(dispensation: FromClause) -> ColumnElement[Any]:
    """Dispensations made less reversals, over `dispensation`'s rows."""
    made = func.count().filter(dispensation.c.reverses_id.is_(None))
    return made - func.count().filter(dispensation.c.reverses_id.is_not(None))


def sql_remaining(prescription: FromClause, decision: PatientAccess) -> ColumnElement[Any]:
    """Prescription.remainingDispensations of a prescription row in SQL, counted over the
    dispensations the decision lets the caller see, as the loader below counts them."""
    t = DISPENSATION.alias("dispensed")
    counted = (
        select(dispensed(t))
        .where(
            t.c.patient_id == prescription.c.patient_id,
            t.c.prescription_id == prescription.c.id,
            decision.row_filter(t),
            t.c.nullified.is_(False),
        )
        .correlate(prescription)
        .scalar_subquery()
    )
    return func.greatest(0, prescription.c.dispensations_allowed - counted)


class DispensedCountByPrescriptionLoader(DataLoader[Key, int]):
    """Dispensations made on each (patient_id, prescription_id), less reversals, counted over
    the rows the caller may see (nullified ones never count); one statement per batch."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[Key]) -> list[int]:
        t = DISPENSATION
        visible = await self.ctx.data.visibility(t, {pid for pid, _ in keys})
        statement = (
            select(t.c.patient_id, t.c.prescription_id, dispensed(t).label("used"))
            .where(
                tuple_(t.c.patient_id, t.c.prescription_id).in_(sorted(set(keys))),
                visible,
                t.c.nullified.is_(False),
            )
            .group_by(t.c.patient_id, t.c.prescription_id)
        )
        rows = await self.ctx.data.fetch(statement)
        used = {(r["patient_id"], r["prescription_id"]): int(r["used"]) for r in rows}
        return [used.get(k, 0) for k in keys]
