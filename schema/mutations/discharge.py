"""sendAdmissionNotice, declareReadyForDischarge, acknowledgeDischargePlan, recordDischarge,
cancelDischargePlan (lag 2017:612)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from resolvers.mutations import discharge
from resolvers.mutations.outcome import Outcome
from schema.mutations.common import (
    Info,
    KeyedInput,
    Payload,
    RecordFields,
    command,
    payload_fields,
)
from schema.referrals import DischargePlan

VERSION = "The version you read; if it changed since, the result is a CONFLICT."


@strawberry.input(
    description="Inskrivningsmeddelande: the hospital unit (the signed-in clinician's, the "
    "record's care unit) tells a municipal unit, and optionally primary care, that an "
    "admitted patient is expected to need their care after discharge. Both get a care "
    "relationship for the discharge (90 days)."
)
class SendAdmissionNoticeInput(RecordFields):
    municipal_unit_hsa_id: str = strawberry.field(
        description="HSA-id of the municipal unit that takes over (home care, special "
        "housing, municipal health care, LSS)."
    )
    primary_care_unit_hsa_id: str | None = strawberry.field(
        default=None, description="HSA-id of the patient's primary care unit, if told too."
    )
    expected_needs: str | None = strawberry.field(
        default=None,
        description="The support the patient is expected to need after discharge (at most "
        "2000 characters).",
    )
    admitted_at: datetime | None = strawberry.field(
        default=None, description="When the patient was admitted. With a UTC offset; default now."
    )


@strawberry.input(
    description="Utskrivningsklar: the hospital unit declares the patient ready for "
    "discharge, with the planned day; the day counter starts."
)
class DeclareReadyForDischargeInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the discharge plan.")
    version: int = strawberry.field(description=VERSION)
    planned_discharge_on: date = strawberry.field(description="The planned day of discharge.")
    at: datetime | None = strawberry.field(
        default=None, description="When declared. With a UTC offset; default now."
    )


@strawberry.input(
    description="One step of a discharge plan: the municipality's acknowledgement, the "
    "hospital's record of the discharge, or its cancellation."
)
class DischargeStepInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the discharge plan.")
    version: int = strawberry.field(description=VERSION)
    at: datetime | None = strawberry.field(
        default=None, description="When it happened. With a UTC offset; default now."
    )


@strawberry.type(description="The result of a discharge-plan mutation.")
class DischargePlanPayload(Payload):
    discharge_plan: DischargePlan | None = strawberry.field(
        description="The discharge plan as it is now; null when refused or no longer visible."
    )


def _payload(outcome: Outcome) -> DischargePlanPayload:
    return DischargePlanPayload(
        discharge_plan=DischargePlan.from_optional(outcome.row("dischargePlan")),
        **payload_fields(outcome),
    )


async def send_admission_notice(
    info: Info,
    input: Annotated[SendAdmissionNoticeInput, strawberry.argument(description="The notice.")],
) -> DischargePlanPayload | None:
    cmd = command(input, discharge.SendAdmissionNotice)
    return _payload(await discharge.send_admission_notice(info.context, cmd))


async def declare_ready_for_discharge(
    info: Info,
    input: Annotated[
        DeclareReadyForDischargeInput, strawberry.argument(description="The plan and day.")
    ],
) -> DischargePlanPayload | None:
    cmd = command(input, discharge.DischargeStep)
    return _payload(await discharge.discharge_step(info.context, "declareReadyForDischarge", cmd))


Step = Annotated[DischargeStepInput, strawberry.argument(description="The plan and step.")]


async def acknowledge_discharge_plan(info: Info, input: Step) -> DischargePlanPayload | None:
    cmd = command(input, discharge.DischargeStep, planned_discharge_on=None)
    return _payload(await discharge.discharge_step(info.context, "acknowledgeDischargePlan", cmd))


async def record_discharge(info: Info, input: Step) -> DischargePlanPayload | None:
    cmd = command(input, discharge.DischargeStep, planned_discharge_on=None)
    return _payload(await discharge.discharge_step(info.context, "recordDischarge", cmd))


async def cancel_discharge_plan(info: Info, input: Step) -> DischargePlanPayload | None:
    cmd = command(input, discharge.DischargeStep, planned_discharge_on=None)
    return _payload(await discharge.discharge_step(info.context, "cancelDischargePlan", cmd))


@strawberry.type(description="Coordinated discharge (docs/referrals-and-discharge.md).")
class DischargeMutation:
    send_admission_notice = strawberry.mutation(
        resolver=send_admission_notice,
        description="Send an inskrivningsmeddelande to a municipal unit (and primary care).",
    )
    declare_ready_for_discharge = strawberry.mutation(
        resolver=declare_ready_for_discharge,
        description="Declare the patient utskrivningsklar with the planned day of discharge.",
    )
    acknowledge_discharge_plan = strawberry.mutation(
        resolver=acknowledge_discharge_plan,
        description="Acknowledge (kvittera) a discharge plan sent to your municipal unit.",
    )
    record_discharge = strawberry.mutation(
        resolver=record_discharge, description="Record that the patient left the hospital."
    )
    cancel_discharge_plan = strawberry.mutation(
        resolver=cancel_discharge_plan,
        description="Cancel a discharge plan your unit sent; the care relationships it gave end.",
    )
