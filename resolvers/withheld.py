"""Patient.withheld: the policy's decision on a patient, said as "hidden, not absent"."""

from __future__ import annotations

import uuid

from app.access.withheld import Withheld, withheld
from app.context import Context


async def withheld_for(ctx: Context, patient_id: uuid.UUID) -> tuple[Withheld, ...]:
    """What the caller's decision withholds; telling it is a disclosure, so it is audited."""
    decision = (await ctx.data.access([patient_id]))[patient_id]
    if not decision.may_see_patient:
        ctx.data.deny(decision)
        return ()
    found = withheld(decision)
    ctx.audit.disclose_all(patient_id, [item.resource for item in found])
    return found
