"""How many dispensations of a prescription are used: what is left to dispense (pharmacy)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, tuple_
from strawberry.dataloader import DataLoader

from app.context import Context
from resolvers.tables import DISPENSATION

Key = tuple[uuid.UUID, uuid.UUID]


class DispensedCountByPrescriptionLoader(DataLoader[Key, int]):
    """Dispensations made on each (patient_id, prescription_id), less reversals, counted over
    the rows the caller may see (nullified ones never count); one statement per batch."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(load_fn=self.load_batch)
        self.ctx = ctx

    async def load_batch(self, keys: list[Key]) -> list[int]:
        t = DISPENSATION
        visible = await self.ctx.data.visibility(t, {pid for pid, _ in keys})
        made = func.count().filter(t.c.reverses_id.is_(None))
        reversed_ = func.count().filter(t.c.reverses_id.is_not(None))
        statement = (
            select(t.c.patient_id, t.c.prescription_id, (made - reversed_).label("used"))
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
