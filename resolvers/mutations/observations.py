"""addAlert, recordLabResult, recordVaccination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app import models
from app.context import Context
from app.identifiers import (
    normalize_icd10_se,
    validate_atc,
    validate_kva,
    validate_lab_code,
    validate_npl_id,
)
from resolvers.mutations.checks import Checks, max_length
from resolvers.mutations.header import RecordInput
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.records import insert_record
from resolvers.mutations.runner import Writer, run_mutation

# At most 12 digits before the point (the column keeps the digits a value is written with).
LAB_VALUE_LIMIT = Decimal("999999999999")
MAX_DOSES = 20


@dataclass(frozen=True, kw_only=True)
class AddAlert(RecordInput):
    alert_type: str
    description: str
    ascertained_at: datetime | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    agent_npl_id: str | None = None
    agent_atc_code: str | None = None
    agent_text: str | None = None
    severity: str | None = None
    condition_code: str | None = None
    treatment_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordLabResult(RecordInput):
    order_id: str
    code_system: str
    code: str
    name: str
    value_numeric: Decimal | None = None
    value_text: str | None = None
    unit: str | None = None
    interpretation: str | None = None
    reference_low: Decimal | None = None
    reference_high: Decimal | None = None
    specimen: str | None = None
    sampled_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordVaccination(RecordInput):
    vaccine_name: str
    vaccine_npl_id: str | None = None
    atc_code: str | None = None
    target_disease: str
    dose_number: int = 1
    batch: str | None = None
    performer_name: str | None = None
    administered_at: datetime | None = None


def _alert_content(checks: Checks, cmd: AddAlert) -> dict[str, object]:
    limit = max_length(models.Alert, "agent_text")
    content: dict[str, object] = {
        "alert_type": cmd.alert_type,
        "description": checks.text(
            "input.description", cmd.description, limit=max_length(models.Alert, "description")
        ),
        "valid_from": cmd.valid_from,
        "valid_to": cmd.valid_to,
        "agent_npl_id": checks.identifier(
            "input.agentNplId", validate_npl_id, cmd.agent_npl_id, required=False
        ),
        "agent_atc_code": checks.code(
            "input.agentAtcCode", validate_atc, cmd.agent_atc_code, required=False
        ),
        "agent_text": checks.text("input.agentText", cmd.agent_text, limit=limit, required=False),
        "severity": cmd.severity,
        "condition_code": checks.code(
            "input.conditionCode", normalize_icd10_se, cmd.condition_code, required=False
        ),
        "treatment_code": checks.code(
            "input.treatmentCode", validate_kva, cmd.treatment_code, required=False
        ),
    }
    checks.order("input.validTo", cmd.valid_from, cmd.valid_to, "input.validTo is before validFrom")
    if cmd.alert_type == "hypersensitivity":
        if not (cmd.agent_npl_id or cmd.agent_atc_code or cmd.agent_text):
            checks.add(
                "input.agentText",
                Code.INVALID_VALUE,
                "a hypersensitivity names its agent (agentNplId, agentAtcCode or agentText)",
            )
        if cmd.severity is None:
            checks.add("input.severity", Code.INVALID_VALUE, "a hypersensitivity has a severity")
    elif cmd.severity is not None:
        checks.add("input.severity", Code.INVALID_VALUE, "only a hypersensitivity has a severity")
    if cmd.alert_type == "treatment" and cmd.treatment_code is None:
        checks.add("input.treatmentCode", Code.INVALID_VALUE, "a treatment alert has a KVÅ code")
    return content


async def add_alert(ctx: Context, cmd: AddAlert) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        content = _alert_content(checks, cmd)
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.Alert,
            event_field="input.ascertainedAt",
            event_time=cmd.ascertained_at,
            content=content,
        )
        return {"alert": ref}

    return await run_mutation(
        ctx, "addAlert", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )


def _lab_content(checks: Checks, cmd: RecordLabResult) -> dict[str, object]:
    system = cmd.code_system.strip().upper()
    code = checks.code(
        "input.code", lambda v, field: validate_lab_code(system, v, field=field), cmd.code
    )
    if cmd.value_numeric is None and not (cmd.value_text and cmd.value_text.strip()):
        checks.add("input.valueNumeric", Code.INVALID_VALUE, "give valueNumeric or valueText")

    def value(field: str, number: Decimal | None) -> Decimal | None:
        checked: Decimal | None = checks.number(
            field, number, minimum=-LAB_VALUE_LIMIT, maximum=LAB_VALUE_LIMIT, required=False
        )
        return checked

    low = value("input.referenceLow", cmd.reference_low)
    high = value("input.referenceHigh", cmd.reference_high)
    if low is not None and high is not None and low > high:
        checks.add("input.referenceHigh", Code.INVALID_VALUE, "referenceHigh is below referenceLow")

    def text(field: str, value: str | None, column: str, required: bool = False) -> str | None:
        limit = max_length(models.LabResult, column)
        return checks.text(field, value, limit=limit, required=required)

    return {
        "order_id": text("input.orderId", cmd.order_id, "order_id", True),
        "code_system": system,
        "code": code,
        "name": text("input.name", cmd.name, "name", True),
        "value_numeric": value("input.valueNumeric", cmd.value_numeric),
        "value_text": text("input.valueText", cmd.value_text, "value_text"),
        "unit": text("input.unit", cmd.unit, "unit"),
        "interpretation": cmd.interpretation,
        "reference_low": low,
        "reference_high": high,
        "specimen": text("input.specimen", cmd.specimen, "specimen"),
    }


async def record_lab_result(ctx: Context, cmd: RecordLabResult) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        content = _lab_content(checks, cmd)
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.LabResult,
            event_field="input.sampledAt",
            event_time=cmd.sampled_at,
            content=content,
        )
        return {"labResult": ref}

    return await run_mutation(
        ctx, "recordLabResult", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )


async def record_vaccination(ctx: Context, cmd: RecordVaccination) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()

        def text(field: str, value: str | None, column: str, required: bool = False) -> str | None:
            limit = max_length(models.Vaccination, column)
            return checks.text(field, value, limit=limit, required=required)

        content = {
            "vaccine_name": text("input.vaccineName", cmd.vaccine_name, "vaccine_name", True),
            "vaccine_npl_id": checks.identifier(
                "input.vaccineNplId", validate_npl_id, cmd.vaccine_npl_id, required=False
            ),
            "atc_code": checks.code("input.atcCode", validate_atc, cmd.atc_code, required=False),
            "target_disease": text(
                "input.targetDisease", cmd.target_disease, "target_disease", True
            ),
            "dose_number": checks.number(
                "input.doseNumber", cmd.dose_number, minimum=1, maximum=MAX_DOSES
            ),
            "batch": text("input.batch", cmd.batch, "batch"),
            "performer_name": text("input.performerName", cmd.performer_name, "performer_name")
            or (ctx.principal.name or "")[:200]
            or None,
        }
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.Vaccination,
            event_field="input.administeredAt",
            event_time=cmd.administered_at,
            content=content,
        )
        return {"vaccination": ref}

    return await run_mutation(
        ctx, "recordVaccination", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )
