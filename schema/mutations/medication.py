"""prescribe, dispense, discontinuePrescription."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from resolvers.mutations import medication
from resolvers.mutations.outcome import Outcome
from schema.enums import PrescriptionKind
from schema.medication import Dispensation, Prescription
from schema.mutations.common import (
    Info,
    KeyedInput,
    Payload,
    RecordFields,
    command,
    payload_fields,
)


@strawberry.input(
    description="A prescription to issue (or to replace an active one with). The prescriber "
    "is the signed-in clinician, or accountableHsaId for a system integration."
)
class PrescribeInput(RecordFields):
    acknowledge_warnings: list[str] | None = strawberry.field(
        default=None,
        description="Codes of clinical warnings to write anyway (e.g. HYPERSENSITIVITY_J01C, "
        "from an earlier answer's `warnings`).",
    )
    kind: PrescriptionKind = strawberry.field(
        default=PrescriptionKind.RECEPT, description="Kind of prescription."
    )
    drug_npl_id: str = strawberry.field(description="The drug's NPL-id (14 digits).")
    npl_pack_id: str | None = strawberry.field(
        default=None, description="NPL pack-id of the package (14 digits)."
    )
    atc_code: str = strawberry.field(description="ATC code (level 5), e.g. B01AF02.")
    drug_name: str = strawberry.field(description="Drug name, e.g. Eliquis.")
    strength: str | None = strawberry.field(default=None, description="Strength, e.g. 5 mg.")
    form: str | None = strawberry.field(default=None, description="Form, e.g. tablett.")
    dosage_text: str = strawberry.field(description="Dosage as the patient reads it.")
    dose_quantity: Decimal | None = strawberry.field(
        default=None, description="Structured dose: quantity per dose."
    )
    dose_unit: str | None = strawberry.field(default=None, description="Unit of a dose.")
    doses_per_day: Decimal | None = strawberry.field(default=None, description="Doses a day.")
    amount: Decimal = strawberry.field(description="Packages per dispensation (more than 0).")
    dispensations_allowed: int = strawberry.field(
        default=1, description="Number of dispensations (uttag), 1-99."
    )
    dispensation_interval_days: int | None = strawberry.field(
        default=None, description="Days that must pass between dispensations."
    )
    non_replaceable: bool = strawberry.field(
        default=False, description="The pharmacy may not substitute (ej utbyte)."
    )
    issued_at: datetime | None = strawberry.field(
        default=None, description="Issue time, with a UTC offset; default now."
    )
    valid_until: date | None = strawberry.field(
        default=None, description="Last valid day, after the issue date; default issue + 366 days."
    )
    reason: str | None = strawberry.field(default=None, description="Ordinationsorsak.")
    replaces_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Global id of an active prescription this one replaces (it becomes ERSATT, "
        "and the new one joins its chain).",
    )
    replaces_version: int | None = strawberry.field(
        default=None, description="The version of the replaced prescription you read."
    )


@strawberry.type(
    description="A clinical warning about a write (app/safety.py): acknowledge it by `code` in "
    "acknowledgeWarnings to keep the write."
)
class ClinicalWarning:
    code: str = strawberry.field(description="Stable code, e.g. HYPERSENSITIVITY_J01C.")
    atc_prefix: str = strawberry.field(description="The ATC class concerned, e.g. J01C.")
    message: str = strawberry.field(description="Explanation for people (English).")


def warnings_of(outcome: Outcome) -> list[ClinicalWarning]:
    return [ClinicalWarning(code=w.code, atc_prefix=w.atc_prefix, message=w.message)
            for w in outcome.warnings]  # fmt: skip


@strawberry.type(description="The result of prescribe.")
class PrescribePayload(Payload):
    warnings: list[ClinicalWarning] = strawberry.field(
        description="Clinical warnings: acknowledged ones when written; otherwise what must "
        "be acknowledged (userErrors has WARNING_NOT_ACKNOWLEDGED)."
    )
    prescription: Prescription | None = strawberry.field(
        description="The new prescription; null when refused."
    )
    replaced: Prescription | None = strawberry.field(
        description="The prescription it replaced, now ERSATT; null if none."
    )


async def prescribe(
    info: Info,
    input: Annotated[PrescribeInput, strawberry.argument(description="The prescription.")],
) -> PrescribePayload | None:
    outcome = await medication.prescribe(info.context, command(input, medication.Prescribe))
    return PrescribePayload(
        prescription=Prescription.from_optional(outcome.row("prescription")),
        replaced=Prescription.from_optional(outcome.row("replaced")),
        warnings=warnings_of(outcome),
        **payload_fields(outcome),
    )


@strawberry.input(
    description="A dispensation (uttag) at a pharmacy: the unit must be a pharmacy, the "
    "prescription active, in date, with dispensations left and its interval passed."
)
class DispenseInput(RecordFields):
    acknowledge_warnings: list[str] | None = strawberry.field(
        default=None,
        description="Codes of clinical warnings to dispense anyway (from an earlier answer's "
        "`warnings`).",
    )
    prescription_id: strawberry.ID = strawberry.field(
        description="Global id of the prescription (of the same patient)."
    )
    amount: Decimal = strawberry.field(
        description="Packages handed out, more than 0 and at most the prescribed amount."
    )
    article_npl_pack_id: str | None = strawberry.field(
        default=None, description="NPL pack-id of the article handed out."
    )
    article_name: str = strawberry.field(description="Name of the article handed out.")
    dispensed_at: datetime | None = strawberry.field(
        default=None, description="Time of the dispensation, with a UTC offset; default now."
    )


@strawberry.type(description="The result of dispense.")
class DispensePayload(Payload):
    warnings: list[ClinicalWarning] = strawberry.field(
        description="Clinical warnings: acknowledged ones when written; otherwise what must "
        "be acknowledged (userErrors has WARNING_NOT_ACKNOWLEDGED)."
    )
    dispensation: Dispensation | None = strawberry.field(
        description="The dispensation recorded; null when refused."
    )


async def dispense(
    info: Info,
    input: Annotated[DispenseInput, strawberry.argument(description="The dispensation.")],
) -> DispensePayload | None:
    outcome = await medication.dispense(info.context, command(input, medication.Dispense))
    return DispensePayload(
        dispensation=Dispensation.from_optional(outcome.row("dispensation")),
        warnings=warnings_of(outcome),
        **payload_fields(outcome),
    )


@strawberry.input(description="Discontinue (sätta ut) an active prescription.")
class DiscontinuePrescriptionInput(KeyedInput):
    id: strawberry.ID = strawberry.field(description="Global id of the prescription.")
    version: int = strawberry.field(
        description="The version you read; if it changed since, the result is a CONFLICT."
    )
    reason: str = strawberry.field(description="Why it is discontinued.")


@strawberry.type(description="The result of discontinuePrescription.")
class DiscontinuePrescriptionPayload(Payload):
    prescription: Prescription | None = strawberry.field(
        description="The prescription, now UTSATT; null when refused."
    )


async def discontinue_prescription(
    info: Info,
    input: Annotated[
        DiscontinuePrescriptionInput, strawberry.argument(description="What to discontinue.")
    ],
) -> DiscontinuePrescriptionPayload | None:
    outcome = await medication.discontinue_prescription(
        info.context, command(input, medication.DiscontinuePrescription)
    )
    return DiscontinuePrescriptionPayload(
        prescription=Prescription.from_optional(outcome.row("prescription")),
        **payload_fields(outcome),
    )
