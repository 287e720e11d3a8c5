"""recordVitalSigns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers.mutations import vital_signs
from schema.care import VitalSigns
from schema.enums import Consciousness
from schema.mutations.common import Info, Payload, RecordFields, command, payload_fields


@strawberry.input(
    description="One complete set of NEWS2 observations; the NEWS2 score is computed from it."
)
class RecordVitalSignsInput(RecordFields):
    respiration_rate: int = strawberry.field(description="Breaths per minute, 0-80.")
    spo2: int = strawberry.field(description="Oxygen saturation (SpO2), per cent, 0-100.")
    hypercapnic_scale: bool = strawberry.field(
        default=False,
        description="Score SpO2 on NEWS2 scale 2 (hypercapnic respiratory failure with a "
        "prescribed target of 88-92 %).",
    )
    supplemental_oxygen: bool = strawberry.field(
        description="The patient breathes supplemental oxygen (false: room air)."
    )
    systolic_bp: int = strawberry.field(description="Systolic blood pressure, mmHg, 0-300.")
    diastolic_bp: int | None = strawberry.field(
        default=None, description="Diastolic blood pressure, mmHg, below the systolic."
    )
    pulse: int = strawberry.field(description="Pulse, beats per minute, 0-300.")
    consciousness: Consciousness = strawberry.field(description="Consciousness (ACVPU).")
    temperature: Decimal = strawberry.field(
        description="Temperature, degrees Celsius, 25.0-45.0 with at most one decimal."
    )
    measured_at: datetime | None = strawberry.field(
        default=None, description="When the observations were made. With a UTC offset; default now."
    )


@strawberry.type(description="The result of recordVitalSigns.")
class RecordVitalSignsPayload(Payload):
    vital_signs: VitalSigns | None = strawberry.field(
        description="The observations recorded, with their NEWS2 score; null when refused."
    )


async def record_vital_signs(
    info: Info,
    input: Annotated[RecordVitalSignsInput, strawberry.argument(description="The observations.")],
) -> RecordVitalSignsPayload | None:
    outcome = await vital_signs.record_vital_signs(
        info.context, command(input, vital_signs.RecordVitalSigns)
    )
    return RecordVitalSignsPayload(
        vital_signs=VitalSigns.from_optional(outcome.row("vitalSigns")), **payload_fields(outcome)
    )
