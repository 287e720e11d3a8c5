"""What sending a record to another unit does besides writing it: the addressee's care
relationship for the purpose (A1: its staff may read the record to do what was asked), ended
when the purpose ends; and the locked lookup of a sent record by the side that acts on it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import RowMapping, Table, select, update

from app import models
from app.context import Context
from app.errors import BadInput
from app.identifiers import validate_hsa_id
from resolvers.mutations.checks import Checks, now
from resolvers.mutations.outcome import Code, RowRef, reject
from resolvers.mutations.references import Unit, one
from resolvers.mutations.runner import Writer
from resolvers.tables import CARE_RELATIONSHIP, CARE_UNIT
from schema.ids import decode_id


async def addressee(ctx: Context, checks: Checks, field: str, hsa_id: str | None) -> Unit | None:
    """The unit a record is sent to, by HSA-id (any unit of any provider)."""
    hsa = checks.identifier(field, validate_hsa_id, hsa_id)
    if hsa is None:
        return None
    row = await one(ctx, CARE_UNIT, hsa_id=hsa)
    if row is None:
        checks.add(field, Code.NOT_FOUND, f"{field}: no care unit has HSA-id {hsa}")
        return None
    return Unit(row["id"], row["hsa_id"], row["kind"], row["care_provider_id"])


async def grant_for_purpose(
    ctx: Context,
    write: Writer,
    patient_id: uuid.UUID,
    unit: Unit,
    origin: models.RelationshipOrigin,
    origin_id: uuid.UUID,
    until: datetime,
) -> None:
    """The addressee's care relationship for this purpose, from now until `until`."""
    await write.insert(
        models.CareRelationship,
        {
            "patient_id": patient_id,
            "care_unit_id": unit.id,
            "care_provider_id": unit.care_provider_id,
            "valid_from": now(),
            "valid_to": until,
            "origin": origin.value,
            "origin_id": origin_id,
        },
    )
    ctx.data.forget(patient_id)


async def end_purpose(
    ctx: Context, write: Writer, patient_id: uuid.UUID, origin_id: uuid.UUID
) -> None:
    """End the care relationships the record gave (rejected, cancelled): they end now."""
    t = CARE_RELATIONSHIP
    moment = now()
    ended = await ctx.conn.execute(
        update(t)
        .where(
            t.c.patient_id == patient_id,
            t.c.origin_id == origin_id,
            (t.c.valid_to.is_(None)) | (t.c.valid_to > moment),
        )
        .values(valid_to=moment, version=t.c.version + 1, updated_at=moment)
        .returning(t.c.id)
    )
    for row in ended:
        write.written.append(RowRef("CareRelationship", patient_id, row.id))
    ctx.data.forget(patient_id)


async def locked_sent_row(ctx: Context, table: Table, type_name: str, raw_id: str) -> RowMapping:
    """The sent record by its global id, locked, if the caller may see it; else NOT_FOUND
    (a record the caller may not see is not told apart from one that does not exist)."""
    try:
        gid = decode_id(raw_id.strip(), field="input.id")
    except BadInput:
        raise reject(
            "input.id", Code.INVALID_IDENTIFIER, "input.id: not a valid global id"
        ) from None
    if gid.type_name != type_name or gid.patient_id is None:
        raise reject("input.id", Code.INVALID_REFERENCE, f"input.id is not the id of a {type_name}")
    visible = await ctx.data.visible_keys(table, [(gid.patient_id, gid.id)])
    rows = await ctx.data.fetch(select(table).where(visible).with_for_update(of=table))
    if not rows or rows[0]["nullified"]:
        raise reject("input.id", Code.NOT_FOUND, f"input.id: no such {type_name}")
    return rows[0]
