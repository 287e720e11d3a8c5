"""Care relationships (vårdrelationer): which units may read a patient's record (A1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import strawberry

from resolvers.loaders.organizations import CareUnitByIdLoader, PractitionerByIdLoader
from schema.connections import Info
from schema.enums import RelationshipOrigin
from schema.fields import field
from schema.node import Node
from schema.refs import CareUnitRef, PractitionerRef


@strawberry.type(
    description="Vårdrelation: a unit treats the patient from `validFrom` until `validTo`; "
    "while it is current, the unit's staff may read the record (A1). Started by "
    "startCareRelationship or by recording a care contact at the unit."
)
class CareRelationship(Node):
    patient_id: strawberry.Private[uuid.UUID]
    care_unit_id: strawberry.Private[uuid.UUID]
    practitioner_id: strawberry.Private[uuid.UUID | None]
    valid_from: datetime = strawberry.field(description="When the relationship starts.")
    valid_to: datetime | None = strawberry.field(description="When it ends; open if null.")
    origin: RelationshipOrigin | None = strawberry.field(
        description="What the relationship is for when a referral or a discharge plan sent to "
        "the unit gave it (it ends with that purpose); null for care the unit started itself."
    )

    PATIENT_SCOPED = True

    @field(description="Whether the relationship is current: started and not ended.")
    def active(self) -> bool:
        now = datetime.now(UTC)
        return self.valid_from <= now and (self.valid_to is None or self.valid_to > now)

    @field(description="The unit that treats the patient.")
    async def care_unit(self, info: Info) -> CareUnitRef | None:
        from schema.organizations import CareUnit

        row = await info.context.loader(CareUnitByIdLoader).load(self.care_unit_id)
        return CareUnit.from_optional(row)

    @field(description="The responsible practitioner, if one is named.")
    async def practitioner(self, info: Info) -> PractitionerRef | None:
        from schema.organizations import Practitioner

        if self.practitioner_id is None:
            return None
        row = await info.context.loader(PractitionerByIdLoader).load(self.practitioner_id)
        return Practitioner.from_optional(row)
