"""startCareRelationship, and the care relationship a recorded care contact implies (A1).

A unit's care relationship is what lets its staff read the record (app/access/bases.py,
CARE_RELATIONSHIP). Care creates it: explicitly, with an end date, or by documenting a contact
at the unit. Both are writes under the write policy (an active assignment at the own unit) and
audited as written `CareRelationship` rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, DateTime, Uuid, bindparam, exists, or_, select

from app import models
from app.context import Context
from resolvers.mutations.checks import Checks, now
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.policy import WRITERS, ensure_may_write
from resolvers.mutations.references import (
    Unit,
    care_unit,
    global_id,
    patient_birth_date,
    practitioner,
)
from resolvers.mutations.runner import Also, Writer, run_mutation
from resolvers.tables import CARE_RELATIONSHIP

# A contact at a unit keeps the unit's care relationship current this long after the contact
# (the demo data's rule for relationships too: app/seed/relations.py).
IMPLIED_DAYS = timedelta(days=180)
# An explicit relationship may run at most this long; renew it after.
LONGEST = timedelta(days=3 * 366)


@dataclass(frozen=True, kw_only=True)
class StartCareRelationship:
    patient_id: str
    valid_to: datetime
    valid_from: datetime | None = None
    care_unit_hsa_id: str | None = None
    care_provider_hsa_id: str | None = None
    idempotency_key: str | None = None


async def start_care_relationship(ctx: Context, cmd: StartCareRelationship) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        patient = global_id(checks, "input.patientId", cmd.patient_id, "Patient")
        if ctx.principal.kind not in WRITERS:
            # Refused before any input is judged: patients and proxies learn nothing.
            await ensure_may_write(ctx, patient.id if patient else None, None)
        start = checks.moment("input.validFrom", cmd.valid_from, required=False, past=False)
        start = start or now()
        end = checks.moment("input.validTo", cmd.valid_to, past=False)
        checks.order("input.validTo", start, end, "validTo must be after validFrom", strict=True)
        if end is not None and end - start > LONGEST:
            checks.add(
                "input.validTo", Code.INVALID_VALUE, "a care relationship runs at most 3 years"
            )
        if end is not None and start < end <= now():
            checks.add("input.validTo", Code.INVALID_DATE_ORDER, "validTo must be in the future")
        unit = await care_unit(ctx, checks, cmd.care_unit_hsa_id, cmd.care_provider_hsa_id)
        checks.done()
        assert patient is not None and unit is not None and end is not None
        await ensure_may_write(ctx, patient.id, unit.id)
        await patient_birth_date(ctx, checks, "input.patientId", patient.id)
        checks.done()
        who = await practitioner(ctx, checks, None)
        ref = await write.insert(
            models.CareRelationship,
            {
                "patient_id": patient.id,
                "care_unit_id": unit.id,
                "care_provider_id": unit.care_provider_id,
                "practitioner_id": who.id if who else None,
                "valid_from": start,
                "valid_to": end,
            },
        )
        # The policy decided on this patient before the relationship existed.
        ctx.data.forget(patient.id)
        return {"careRelationship": ref}

    return await run_mutation(
        ctx, "startCareRelationship", cmd, body, idempotency_key=cmd.idempotency_key
    )


def current_relationship(patient_id: uuid.UUID, unit: Unit, moment: datetime) -> Also:
    """Whether the unit has a care relationship with the patient that is current at `moment`
    and runs at least half of IMPLIED_DAYS more (else a contact renews it)."""
    values = {
        "current_patient": patient_id,
        "current_unit": unit.id,
        "current_at": moment,
        "current_until": moment + IMPLIED_DAYS / 2,
    }
    return Also(_current_relationship, values)


def _current_relationship() -> ColumnElement[bool]:
    t = CARE_RELATIONSHIP
    at = bindparam("current_at", None, DateTime(timezone=True))
    return exists().where(
        t.c.patient_id == bindparam("current_patient", None, Uuid),
        t.c.care_unit_id == bindparam("current_unit", None, Uuid),
        t.c.valid_from <= at,
        or_(
            t.c.valid_to.is_(None),
            t.c.valid_to > bindparam("current_until", None, DateTime(timezone=True)),
        ),
    )


async def imply_care_relationship(
    ctx: Context,
    write: Writer,
    patient_id: uuid.UUID,
    unit: Unit,
    practitioner_id: uuid.UUID | None,
    start: datetime,
    end: datetime | None,
    *,
    current: bool | None = None,
    moment: datetime | None = None,
) -> None:
    """Documenting a contact at a unit starts (or keeps) the unit's care relationship: if none
    is current, one from the contact (or now) until IMPLIED_DAYS after it. `current`: what
    `current_relationship(patient_id, unit, moment)` already said (None: ask it here)."""
    moment = moment or now()
    if current is None:
        asked = current_relationship(patient_id, unit, moment).expression()
        current = bool(await ctx.conn.scalar(select(asked)))
    if current:
        return
    last = max(end or start, start, moment)
    await write.insert(
        models.CareRelationship,
        {
            "patient_id": patient_id,
            "care_unit_id": unit.id,
            "care_provider_id": unit.care_provider_id,
            "practitioner_id": practitioner_id,
            "valid_from": min(start, moment),
            "valid_to": last + IMPLIED_DAYS,
        },
    )
    ctx.data.forget(patient_id)
