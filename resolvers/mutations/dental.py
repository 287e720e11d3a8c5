"""recordDentalTreatment, recordToothFinding (DOMAIN.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app import models
from app.context import Context
from app.identifiers import (
    validate_fdi_tooth,
    validate_tlv_condition_code,
    validate_tlv_procedure_code,
    validate_tooth_surface,
)
from resolvers.mutations.checks import Checks, max_length
from resolvers.mutations.header import RecordInput
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.records import insert_record
from resolvers.mutations.runner import Writer, run_mutation

MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)


@dataclass(frozen=True, kw_only=True)
class RecordDentalTreatment(RecordInput):
    condition_code: str
    procedure_code: str
    procedure_text: str
    tooth: str | None = None
    surface: str | None = None
    price_sek: Decimal
    completed_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordToothFinding(RecordInput):
    tooth: str
    surface: str | None = None
    finding_code: str
    finding_text: str
    examined_at: datetime | None = None


def _tooth_and_surface(
    checks: Checks, tooth: str | None, surface: str | None, *, tooth_required: bool
) -> tuple[str | None, str | None]:
    fdi = checks.code("input.tooth", validate_fdi_tooth, tooth, required=tooth_required)
    surfaces = checks.code("input.surface", validate_tooth_surface, surface, required=False)
    if surface is not None and tooth is None:
        checks.add("input.surface", Code.INVALID_VALUE, "a surface needs input.tooth")
    return fdi, surfaces


async def record_dental_treatment(ctx: Context, cmd: RecordDentalTreatment) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        tooth, surface = _tooth_and_surface(checks, cmd.tooth, cmd.surface, tooth_required=False)
        content = {
            "condition_code": checks.code(
                "input.conditionCode", validate_tlv_condition_code, cmd.condition_code
            ),
            "procedure_code": checks.code(
                "input.procedureCode", validate_tlv_procedure_code, cmd.procedure_code
            ),
            "procedure_text": checks.text(
                "input.procedureText",
                cmd.procedure_text,
                limit=max_length(models.DentalTreatment, "procedure_text"),
            ),
            "tooth": tooth,
            "surface": surface,
            "price_sek": checks.number(
                "input.priceSek", cmd.price_sek, minimum=0, maximum=MAX_PRICE
            ),
        }
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.DentalTreatment,
            event_field="input.completedAt",
            event_time=cmd.completed_at,
            content=content,
        )
        return {"dentalTreatment": ref}

    return await run_mutation(
        ctx,
        "recordDentalTreatment",
        cmd,
        body,
        idempotency_key=cmd.idempotency_key,
        writes_last=True,
    )


async def record_tooth_finding(ctx: Context, cmd: RecordToothFinding) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        tooth, surface = _tooth_and_surface(checks, cmd.tooth, cmd.surface, tooth_required=True)
        content = {
            "tooth": tooth,
            "surface": surface,
            "finding_code": checks.text(
                "input.findingCode",
                cmd.finding_code,
                limit=max_length(models.ToothFinding, "finding_code"),
            ),
            "finding_text": checks.text(
                "input.findingText",
                cmd.finding_text,
                limit=max_length(models.ToothFinding, "finding_text"),
            ),
        }
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.ToothFinding,
            event_field="input.examinedAt",
            event_time=cmd.examined_at,
            content=content,
        )
        return {"toothFinding": ref}

    return await run_mutation(
        ctx, "recordToothFinding", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )
