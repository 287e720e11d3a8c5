"""Representatives: who may act for a patient (guardians, power of attorney)."""

from __future__ import annotations

import uuid
from datetime import date

import strawberry

from resolvers.loaders.patients import PatientByIdLoader
from schema.connections import Info
from schema.enums import RepresentativeKind
from schema.fields import field
from schema.node import Node
from schema.refs import PatientRef


@strawberry.type(
    description="Someone who acts for a patient: a guardian (vårdnadshavare) of a child or a "
    "holder of power of attorney (fullmakt)."
)
class Representative(Node):
    patient_id: strawberry.Private[uuid.UUID]
    representative_patient_id: strawberry.Private[uuid.UUID | None]
    kind: RepresentativeKind = strawberry.field(description="Guardian or power of attorney.")
    valid_from: date = strawberry.field(description="First day the representation applies.")
    valid_to: date | None = strawberry.field(description="Last day it applies; open if null.")

    PATIENT_SCOPED = True

    @field(description="The patient represented.")
    async def patient(self, info: Info) -> PatientRef | None:
        from schema.patients import Patient

        row = await info.context.loader(PatientByIdLoader).load(self.patient_id)
        return Patient.from_optional(row)

    @field(
        description="The person who represents the patient, as far as you may see them; null "
        "also while a power of attorney waits for its holder to be registered."
    )
    async def representative(self, info: Info) -> PatientRef | None:
        from schema.patients import Patient

        if self.representative_patient_id is None:
            return None
        row = await info.context.loader(PatientByIdLoader).load(self.representative_patient_id)
        return Patient.from_optional(row)
