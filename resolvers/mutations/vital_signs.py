"""recordVitalSigns: one complete set of NEWS2 observations, scored as it is written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app import models
from app.context import Context
from app.news2 import Consciousness, VitalSigns, news2
from resolvers.mutations.checks import Checks
from resolvers.mutations.header import RecordInput
from resolvers.mutations.outcome import Code, Outcome, RowRef
from resolvers.mutations.records import insert_record
from resolvers.mutations.runner import Writer, run_mutation

# Bounds that catch typing errors (a pulse of 720), wide enough for any living patient.
RESPIRATION = (0, 80)
SPO2 = (0, 100)
SYSTOLIC = (0, 300)
DIASTOLIC = (0, 250)
PULSE = (0, 300)
TEMPERATURE = (Decimal("25.0"), Decimal("45.0"))


@dataclass(frozen=True, kw_only=True)
class RecordVitalSigns(RecordInput):
    respiration_rate: int
    spo2: int
    hypercapnic_scale: bool = False
    supplemental_oxygen: bool
    systolic_bp: int
    diastolic_bp: int | None = None
    pulse: int
    consciousness: str
    temperature: Decimal
    measured_at: datetime | None = None


def _content(checks: Checks, cmd: RecordVitalSigns) -> dict[str, object]:
    def within(
        field: str, value: int | Decimal, bounds: tuple[int | Decimal, int | Decimal]
    ) -> Any:
        return checks.number(field, value, minimum=bounds[0], maximum=bounds[1])

    content: dict[str, object] = {
        "respiration_rate": within("input.respirationRate", cmd.respiration_rate, RESPIRATION),
        "spo2": within("input.spo2", cmd.spo2, SPO2),
        "hypercapnic_scale": cmd.hypercapnic_scale,
        "supplemental_oxygen": cmd.supplemental_oxygen,
        "systolic_bp": within("input.systolicBp", cmd.systolic_bp, SYSTOLIC),
        "diastolic_bp": checks.number(
            "input.diastolicBp",
            cmd.diastolic_bp,
            minimum=DIASTOLIC[0],
            maximum=DIASTOLIC[1],
            required=False,
        ),
        "pulse": within("input.pulse", cmd.pulse, PULSE),
        "consciousness": cmd.consciousness,
        "temperature": within("input.temperature", cmd.temperature, TEMPERATURE),
    }
    temperature = content["temperature"]
    if isinstance(temperature, Decimal) and temperature != temperature.quantize(Decimal("0.1")):
        checks.add("input.temperature", Code.INVALID_VALUE, "temperature has at most one decimal")
        content["temperature"] = None
    systolic, diastolic = content["systolic_bp"], content["diastolic_bp"]
    if isinstance(systolic, int) and isinstance(diastolic, int) and diastolic >= systolic:
        checks.add("input.diastolicBp", Code.INVALID_VALUE, "diastolicBp is not below systolicBp")
    if None not in (content[k] for k in ("respiration_rate", "spo2", "systolic_bp", "pulse")) and (
        isinstance(content["temperature"], Decimal)
    ):
        score = news2(
            VitalSigns(
                respiration_rate=cmd.respiration_rate,
                spo2=cmd.spo2,
                hypercapnic_scale=cmd.hypercapnic_scale,
                supplemental_oxygen=cmd.supplemental_oxygen,
                systolic_bp=cmd.systolic_bp,
                pulse=cmd.pulse,
                consciousness=Consciousness(cmd.consciousness),
                temperature=cmd.temperature,
            )
        )
        content["news2_score"] = score.score
        content["news2_risk"] = score.risk.value
    return content


async def record_vital_signs(ctx: Context, cmd: RecordVitalSigns) -> Outcome:
    async def body(write: Writer) -> dict[str, RowRef]:
        checks = Checks()
        content = _content(checks, cmd)
        ref = await insert_record(
            ctx,
            write,
            checks,
            cmd,
            models.VitalSigns,
            event_field="input.measuredAt",
            event_time=cmd.measured_at,
            content=content,
        )
        return {"vitalSigns": ref}

    return await run_mutation(
        ctx, "recordVitalSigns", cmd, body, idempotency_key=cmd.idempotency_key, writes_last=True
    )
