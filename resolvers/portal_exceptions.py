"""Exceptions to A10's age rules in the patient app, granted and revoked by the head of a unit
(verksamhetschef) for their own unit's records: the child reads their own record from 13,
guardians keep reading from 13, or guardians stop reading a child under 13.

Only a clinician with the unit-head role, an active assignment at the unit and access to the
patient (A1) may; everybody else gets FORBIDDEN and a logged denial. Writes are audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app import models
from app.access.facts import ClinicianFacts
from app.access.rules import PORTAL_EXCEPTION_AGES, UNIT_HEAD_ROLE, age_on
from app.context import Context
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.outcome import Code, RowRef, reject
from resolvers.mutations.runner import Writer
from resolvers.privacy_mutations import (
    Actor,
    Outcome,
    actor_for,
    by_hsa,
    forbid,
    locked_row,
    patient_of,
    row_key,
    run,
    set_columns,
)
from resolvers.tables import CARE_UNIT, PATIENT


def unit_head(ctx: Context, actor: Actor, patient_id: uuid.UUID) -> ClinicianFacts:
    """The head of the unit acting (role and, by A1, an active assignment at the unit)."""
    if actor.clinician is None or ctx.principal.role != UNIT_HEAD_ROLE:
        raise forbid(
            ctx,
            patient_id,
            "only the head of the unit grants or revokes exceptions to A10's age rules",
        )
    return actor.clinician.clinician


@dataclass(frozen=True, kw_only=True)
class GrantPortalException:
    patient_id: str
    kind: str
    reason: str
    care_unit_hsa_id: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None


async def grant_portal_exception(ctx: Context, cmd: GrantPortalException) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        pid = patient_of(checks, "input.patientId", cmd.patient_id)
        reason = checks.text(
            "input.reason", cmd.reason, limit=max_length(models.PortalException, "reason")
        )
        start = checks.moment("input.validFrom", cmd.valid_from, required=False, past=False)
        start = start or now()
        end = checks.moment("input.validTo", cmd.valid_to, required=False, past=False)
        later = "validTo must be after validFrom and in the future"
        checks.order("input.validTo", max(start, now()), end, later, strict=True)
        checks.done()
        assert pid is not None and reason is not None
        head = unit_head(ctx, await actor_for(ctx, pid, "input.patientId"), pid)
        unit = await by_hsa(ctx, checks, "input.careUnitHsaId", cmd.care_unit_hsa_id, CARE_UNIT)
        checks.done()
        if unit is not None and unit["id"] != head.unit_id:
            raise forbid(ctx, pid, "a head of unit grants exceptions for their own unit only")
        born = await ctx.data.fetch(select(PATIENT.c.birth_date).where(PATIENT.c.id == pid))
        low, high = PORTAL_EXCEPTION_AGES[cmd.kind]
        if age_on(born[0]["birth_date"], start.date()) > high:
            raise reject(
                "input.kind",
                Code.INVALID_VALUE,
                f"this exception counts at ages {low}-{high}; the patient is older",
            )
        ref = await write.insert(
            models.PortalException,
            {
                "patient_id": pid,
                "kind": cmd.kind,
                "care_provider_id": head.provider_id,
                "care_unit_id": head.unit_id,
                "granted_by_hsa_id": head.hsa_id,
                "reason": reason,
                "valid_from": start,
                "valid_to": end,
            },
        )
        return {"portal_exception": ref}

    return await run(ctx, body)


@dataclass(frozen=True, kw_only=True)
class RevokePortalException:
    portal_exception_id: str


async def revoke_portal_exception(ctx: Context, cmd: RevokePortalException) -> Outcome:
    """Ends an exception at once; the row stays, with who revoked it and when."""

    async def body(write: Writer) -> dict[str, RowRef]:
        field = "input.portalExceptionId"
        key = row_key(field, cmd.portal_exception_id, "PortalException")
        head = unit_head(ctx, await actor_for(ctx, key[0], field), key[0])
        # Other units' exceptions are not visible to the head: NOT_FOUND.
        row = await locked_row(ctx, "PortalException", key, field)
        if row["revoked_at"] is not None:
            raise reject(field, Code.INVALID_STATE, "the exception is already revoked")
        ref = RowRef("PortalException", *key)
        await set_columns(write, ref, revoked_at=now(), revoked_by_hsa_id=head.hsa_id)
        return {"portal_exception": ref}

    return await run(ctx, body)
