"""addAlert, recordLabResult, recordVaccination."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers.mutations import observations
from schema.care import Alert, LabResult, Vaccination
from schema.enums import AlertType, LabInterpretation, Severity
from schema.mutations.common import Info, Payload, RecordFields, command, payload_fields

TIME_HELP = "With a UTC offset; default now."


@strawberry.input(
    description="Alert information (uppmärksamhetsinformation). A hypersensitivity names its "
    "agent and severity; a treatment alert its KVÅ code."
)
class AddAlertInput(RecordFields):
    alert_type: AlertType = strawberry.field(description="Kind of alert.")
    description: str = strawberry.field(description="The alert in words.")
    ascertained_at: datetime | None = strawberry.field(
        default=None, description=f"When it was ascertained. {TIME_HELP}"
    )
    valid_from: date | None = strawberry.field(default=None, description="First valid day.")
    valid_to: date | None = strawberry.field(
        default=None, description="Last valid day, not before validFrom."
    )
    agent_npl_id: str | None = strawberry.field(
        default=None, description="Hypersensitivity: the drug's NPL-id (14 digits)."
    )
    agent_atc_code: str | None = strawberry.field(
        default=None, description="Hypersensitivity: the drug's ATC code, e.g. J01CE02."
    )
    agent_text: str | None = strawberry.field(
        default=None, description="Hypersensitivity: the agent in words (e.g. jordnötter)."
    )
    severity: Severity | None = strawberry.field(
        default=None, description="Hypersensitivity: how severe the reaction is."
    )
    condition_code: str | None = strawberry.field(
        default=None, description="Serious or communicable disease: ICD-10-SE code."
    )
    treatment_code: str | None = strawberry.field(
        default=None, description="Treatment: KVÅ code (5 characters)."
    )


@strawberry.type(description="The result of addAlert.")
class AddAlertPayload(Payload):
    alert: Alert | None = strawberry.field(description="The alert added; null when refused.")


async def add_alert(
    info: Info, input: Annotated[AddAlertInput, strawberry.argument(description="The alert.")]
) -> AddAlertPayload | None:
    outcome = await observations.add_alert(info.context, command(input, observations.AddAlert))
    return AddAlertPayload(
        alert=Alert.from_optional(outcome.row("alert")), **payload_fields(outcome)
    )


@strawberry.input(description="One analysis of a laboratory order (NPU or LOINC coded).")
class RecordLabResultInput(RecordFields):
    order_id: str = strawberry.field(description="Id of the laboratory order.")
    code_system: str = strawberry.field(description="NPU or LOINC.")
    code: str = strawberry.field(description="Analysis code, e.g. NPU02319 or 2345-7.")
    name: str = strawberry.field(description="Analysis name, e.g. B-Hemoglobin.")
    value_numeric: Decimal | None = strawberry.field(
        default=None, description="Numeric value (give this or valueText)."
    )
    value_text: str | None = strawberry.field(default=None, description="Text value.")
    unit: str | None = strawberry.field(default=None, description="Unit, e.g. g/L.")
    interpretation: LabInterpretation | None = strawberry.field(
        default=None, description="How the value compares with the reference interval."
    )
    reference_low: Decimal | None = strawberry.field(
        default=None, description="Lower reference limit."
    )
    reference_high: Decimal | None = strawberry.field(
        default=None, description="Upper reference limit, not below the lower."
    )
    specimen: str | None = strawberry.field(default=None, description="Specimen, e.g. blod.")
    sampled_at: datetime | None = strawberry.field(
        default=None, description=f"Time of the sample. {TIME_HELP}"
    )


@strawberry.type(description="The result of recordLabResult.")
class RecordLabResultPayload(Payload):
    lab_result: LabResult | None = strawberry.field(
        description="The result recorded; null when refused."
    )


async def record_lab_result(
    info: Info,
    input: Annotated[RecordLabResultInput, strawberry.argument(description="The result.")],
) -> RecordLabResultPayload | None:
    outcome = await observations.record_lab_result(
        info.context, command(input, observations.RecordLabResult)
    )
    return RecordLabResultPayload(
        lab_result=LabResult.from_optional(outcome.row("labResult")), **payload_fields(outcome)
    )


@strawberry.input(description="An administered vaccine dose.")
class RecordVaccinationInput(RecordFields):
    vaccine_name: str = strawberry.field(description="Vaccine name, e.g. Gardasil 9.")
    vaccine_npl_id: str | None = strawberry.field(
        default=None, description="The vaccine's NPL-id (14 digits)."
    )
    atc_code: str | None = strawberry.field(default=None, description="ATC code, e.g. J07BM03.")
    target_disease: str = strawberry.field(description="The disease it protects against.")
    dose_number: int = strawberry.field(default=1, description="Dose number in the series.")
    batch: str | None = strawberry.field(default=None, description="Batch (lot) number.")
    performer_name: str | None = strawberry.field(
        default=None, description="Who gave it; default the signed-in person's name."
    )
    administered_at: datetime | None = strawberry.field(
        default=None, description=f"When it was given. {TIME_HELP}"
    )


@strawberry.type(description="The result of recordVaccination.")
class RecordVaccinationPayload(Payload):
    vaccination: Vaccination | None = strawberry.field(
        description="The vaccination recorded; null when refused."
    )


async def record_vaccination(
    info: Info,
    input: Annotated[RecordVaccinationInput, strawberry.argument(description="The dose.")],
) -> RecordVaccinationPayload | None:
    outcome = await observations.record_vaccination(
        info.context, command(input, observations.RecordVaccination)
    )
    row = outcome.row("vaccination")
    return RecordVaccinationPayload(
        vaccination=Vaccination.from_optional(row), **payload_fields(outcome)
    )
