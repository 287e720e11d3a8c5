"""nullify: makulera a clinical row. It is never deleted; normal reads hide it from then on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app import models
from app.context import Context
from app.errors import BadInput
from resolvers.mutations.checks import Checks, max_length, now
from resolvers.mutations.outcome import Code, Outcome, RowRef, reject
from resolvers.mutations.policy import ensure_may_write
from resolvers.mutations.runner import Writer, run_mutation, stale
from resolvers.mutations.tables import NULLIFIABLE, TABLES
from schema.ids import decode_id


@dataclass(frozen=True, kw_only=True)
class Nullify:
    id: str
    version: int
    reason: str
    idempotency_key: str | None = None


async def nullify(ctx: Context, cmd: Nullify) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        reason = checks.text(
            "input.reason", cmd.reason, limit=max_length(models.CareContact, "nullified_reason")
        )
        try:
            gid = decode_id(cmd.id.strip(), field="input.id")
        except BadInput:
            gid = None
            checks.add("input.id", Code.INVALID_IDENTIFIER, "input.id: not a valid global id")
        if gid is not None and (gid.type_name not in NULLIFIABLE or gid.patient_id is None):
            checks.add("input.id", Code.INVALID_REFERENCE, f"a {gid.type_name} cannot be nullified")
        checks.done()
        assert gid is not None and gid.patient_id is not None
        table = TABLES[gid.type_name]
        visible = await ctx.data.visible_keys(table, [(gid.patient_id, gid.id)])
        rows = await ctx.data.fetch(select(table).where(visible).with_for_update(of=table))
        if not rows:
            raise reject("input.id", Code.NOT_FOUND, f"input.id: no such {gid.type_name}")
        row = rows[0]
        await ensure_may_write(ctx, gid.patient_id, row["care_unit_id"], str(table.name))
        stale(row, cmd.version)
        if row["nullified"]:
            raise reject("input.id", Code.INVALID_STATE, "it is already nullified")
        values = {"nullified": True, "nullified_reason": reason, "nullified_at": now()}
        if gid.type_name == "Prescription":
            values["status"] = "makulerad"
        ref = RowRef(gid.type_name, gid.patient_id, gid.id)
        await write.update(ref, cmd.version, values, field="input.id")
        return {"record": ref}

    return await run_mutation(ctx, "nullify", cmd, body, idempotency_key=cmd.idempotency_key)
