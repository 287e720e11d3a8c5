"""registerPatient."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from resolvers.mutations import patients
from schema.enums import Sex
from schema.mutations.common import Info, KeyedInput, Payload, command, payload_fields
from schema.patients import Patient


@strawberry.input(
    description="A new patient. Give personnummer (or samordningsnummer), or a "
    "reservnummer with its issuer and birth date."
)
class RegisterPatientInput(KeyedInput):
    personnummer: str | None = strawberry.field(
        default=None,
        description="Personnummer or samordningsnummer, any common form (YYYYMMDDNNNC, "
        "YYMMDD-NNNC, ...); stored as 12 digits, birth date taken from it.",
    )
    reservnummer: str | None = strawberry.field(
        default=None, description="Reservnummer, when the person has no personnummer."
    )
    reserve_issuer: str | None = strawberry.field(
        default=None, description="Who issued the reservnummer (e.g. a region)."
    )
    given_name: str = strawberry.field(description="Given name(s).")
    family_name: str = strawberry.field(description="Family name.")
    birth_date: date | None = strawberry.field(
        default=None,
        description="Date of birth: required with a reservnummer, else checked against the "
        "personnummer.",
    )
    sex: Sex = strawberry.field(description="Sex.")
    protected_identity: bool = strawberry.field(
        default=False, description="Sekretessmarkering: the address is never disclosed."
    )
    street_address: str | None = strawberry.field(default=None, description="Street address.")
    postal_code: str | None = strawberry.field(default=None, description="Postnummer (123 45).")
    city: str | None = strawberry.field(default=None, description="Postort.")
    municipality_code: str | None = strawberry.field(
        default=None, description="Kommunkod of the home municipality (four digits)."
    )


@strawberry.type(description="The result of registerPatient.")
class RegisterPatientPayload(Payload):
    patient: Patient | None = strawberry.field(
        description="The registered patient; null when refused."
    )


async def register_patient(
    info: Info,
    input: Annotated[RegisterPatientInput, strawberry.argument(description="The new patient.")],
) -> RegisterPatientPayload | None:
    outcome = await patients.register_patient(
        info.context, command(input, patients.RegisterPatient)
    )
    return RegisterPatientPayload(
        patient=Patient.from_optional(outcome.row("patient")), **payload_fields(outcome)
    )
