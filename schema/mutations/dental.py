"""recordDentalTreatment, recordToothFinding."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers.mutations import dental
from schema.dental import DentalTreatment, ToothFinding
from schema.mutations.common import Info, Payload, RecordFields, command, payload_fields


@strawberry.input(description="A completed dental treatment, as reported to Försäkringskassan.")
class RecordDentalTreatmentInput(RecordFields):
    condition_code: str = strawberry.field(description="TLV tillståndskod (1-4 digits).")
    procedure_code: str = strawberry.field(description="TLV åtgärdskod (3 digits), e.g. 101.")
    procedure_text: str = strawberry.field(description="The procedure in words.")
    tooth: str | None = strawberry.field(
        default=None, description="FDI tooth number (11-48, 51-85)."
    )
    surface: str | None = strawberry.field(
        default=None, description="Surfaces of the tooth: letters of M O I D B F L P."
    )
    price_sek: Decimal = strawberry.field(description="Price in SEK (0 or more).")
    completed_at: datetime | None = strawberry.field(
        default=None, description="When it was completed, with a UTC offset; default now."
    )


@strawberry.type(description="The result of recordDentalTreatment.")
class RecordDentalTreatmentPayload(Payload):
    dental_treatment: DentalTreatment | None = strawberry.field(
        description="The treatment recorded; null when refused."
    )


async def record_dental_treatment(
    info: Info,
    input: Annotated[RecordDentalTreatmentInput, strawberry.argument(description="The treatment.")],
) -> RecordDentalTreatmentPayload | None:
    outcome = await dental.record_dental_treatment(
        info.context, command(input, dental.RecordDentalTreatment)
    )
    row = outcome.row("dentalTreatment")
    return RecordDentalTreatmentPayload(
        dental_treatment=DentalTreatment.from_optional(row), **payload_fields(outcome)
    )


@strawberry.input(description="A finding on one tooth (the latest per tooth is the chart).")
class RecordToothFindingInput(RecordFields):
    tooth: str = strawberry.field(description="FDI tooth number (11-48, 51-85).")
    surface: str | None = strawberry.field(
        default=None, description="Surfaces: letters of M O I D B F L P."
    )
    finding_code: str = strawberry.field(description="Finding code, e.g. karies.")
    finding_text: str = strawberry.field(description="The finding in words.")
    examined_at: datetime | None = strawberry.field(
        default=None, description="When it was found, with a UTC offset; default now."
    )


@strawberry.type(description="The result of recordToothFinding.")
class RecordToothFindingPayload(Payload):
    tooth_finding: ToothFinding | None = strawberry.field(
        description="The finding recorded; null when refused."
    )


async def record_tooth_finding(
    info: Info,
    input: Annotated[RecordToothFindingInput, strawberry.argument(description="The finding.")],
) -> RecordToothFindingPayload | None:
    outcome = await dental.record_tooth_finding(
        info.context, command(input, dental.RecordToothFinding)
    )
    row = outcome.row("toothFinding")
    return RecordToothFindingPayload(
        tooth_finding=ToothFinding.from_optional(row), **payload_fields(outcome)
    )
