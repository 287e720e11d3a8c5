"""recordMedicationAdministration: a signature on a home-care signing list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers.mutations import administration
from schema.enums import AdministrationOutcome
from schema.medication import MedicationAdministration
from schema.mutations.common import Info, Payload, RecordFields, command, payload_fields


@strawberry.input(
    description="A signature on a signing list (signeringslista) in municipal home care: the "
    "unit must be a municipal care unit and the prescription active and visible to you (NLL "
    "consent for your unit). The signer is the signed-in nurse."
)
class RecordMedicationAdministrationInput(RecordFields):
    prescription_id: strawberry.ID = strawberry.field(
        description="Global id of the prescription (of the same patient) the dose belongs to."
    )
    outcome: AdministrationOutcome = strawberry.field(
        description="Given, not given (say why in notGivenReason) or self-administered."
    )
    administered_at: datetime | None = strawberry.field(
        default=None,
        description="When the dose was given, with a UTC offset; default now (for NOT_GIVEN: "
        "plannedAt, else now).",
    )
    planned_at: datetime | None = strawberry.field(
        default=None, description="The time of the dose on the signing list, with a UTC offset."
    )
    dose_text: str | None = strawberry.field(
        default=None, description="The dose given, e.g. 2 tabletter (at most 200 characters)."
    )
    not_given_reason: str | None = strawberry.field(
        default=None,
        description="Why the dose was not given: required for NOT_GIVEN, refused otherwise "
        "(at most 300 characters).",
    )


@strawberry.type(description="The result of recordMedicationAdministration.")
class RecordMedicationAdministrationPayload(Payload):
    medication_administration: MedicationAdministration | None = strawberry.field(
        description="The signature recorded; null when refused."
    )


async def record_medication_administration(
    info: Info,
    input: Annotated[
        RecordMedicationAdministrationInput, strawberry.argument(description="The signature.")
    ],
) -> RecordMedicationAdministrationPayload | None:
    outcome = await administration.record_medication_administration(
        info.context, command(input, administration.RecordMedicationAdministration)
    )
    return RecordMedicationAdministrationPayload(
        medication_administration=MedicationAdministration.from_optional(
            outcome.row("medicationAdministration")
        ),
        **payload_fields(outcome),
    )
